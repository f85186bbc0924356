//! Containing Automerge's panics on outside data.
//!
//! Automerge 0.12 panics on some malformed changes instead of returning an error: a
//! change whose operation names an actor index its own actor table does not list makes
//! `Change::decode` unwrap a `None` (found by `tests/tests/fuzz.rs`). Bytes from the
//! network or a file must never take a request or the app down, so every call into
//! Automerge with such data runs through [`contain`]: a panic becomes `None`, and the
//! panic hook stays quiet for it (a contained panic is an answer, not a crash to log).

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Whether this thread is inside [`contain`].
    static CONTAINING: Cell<bool> = const { Cell::new(false) };
}

static QUIET_HOOK: Once = Once::new();

/// Run `f`; `None` if it panicked. Other panics in the process still reach the hook
/// that was installed before (the default one prints them).
pub(crate) fn contain<T>(f: impl FnOnce() -> T) -> Option<T> {
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CONTAINING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let outer = CONTAINING.with(|c| c.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    CONTAINING.with(|c| c.set(outer));
    result.ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_becomes_none_and_a_value_passes_through() {
        assert_eq!(super::contain(|| 7), Some(7));
        let none: Option<()> = super::contain(|| panic!("contained"));
        assert_eq!(none, None);
        // Nested: the inner containment does not end the outer one.
        assert_eq!(
            super::contain(|| super::contain(|| -> u8 { panic!("inner") }).is_none()),
            Some(true)
        );
    }
}
