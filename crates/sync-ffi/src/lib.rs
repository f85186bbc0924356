//! The native library of the mobile apps (`libsync_ffi.so`, a staticlib on iOS): it
//! links `sync-core`, whose API for the apps (`sync_core::app`) is exported through
//! uniffi; the generated Kotlin bindings load this library by name.

pub use sync_core;
