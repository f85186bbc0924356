//! The sync protocol's messages, shared by the device client and the server.
//!
//! Every body is JSON, gzip-compressed (`Content-Encoding: gzip`), and carries the
//! protocol version in `v`. Change bytes travel base64-encoded. `docs/protocol.md`
//! specifies each message, field, limit and error.

mod attachments;
mod body;
mod forms;
mod messages;

pub use attachments::*;
pub use body::{decode_body, encode_body, ProtocolError};
pub use forms::*;
pub use messages::*;

/// The protocol version this code speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest request or response body on the wire (compressed), in bytes.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Largest body once decompressed, in bytes: a guard against compression bombs.
pub const MAX_DECODED_BYTES: usize = 32 * 1024 * 1024;

/// Most changes in one push.
pub const MAX_PUSH_CHANGES: usize = 2_000;

/// Most items in one pull page.
pub const MAX_PULL_LIMIT: u32 = 5_000;

/// The most change bytes a pull page holds, whatever `max_bytes` asks (a page always
/// holds at least one change): its answer stays well within [`MAX_BODY_BYTES`] and
/// [`MAX_DECODED_BYTES`], and the server's memory per pull is bounded.
pub const MAX_PULL_BYTES: u64 = 4 * 1024 * 1024;

/// The longest a pull waits for news (`wait_ms`): under the 30 s that proxies and
/// phone networks commonly allow an idle request.
pub const MAX_PULL_WAIT_MS: u32 = 25_000;

/// Most records in one repair request.
pub const MAX_REPAIR_RECORDS: usize = 5_000;
