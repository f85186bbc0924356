//! Encoding and decoding of message bodies: JSON inside gzip, with size limits.

use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{MAX_BODY_BYTES, MAX_DECODED_BYTES, PROTOCOL_VERSION};

/// Why a body could not be read. Each maps to a 4xx with a JSON error on the server.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// The body is larger than the limit.
    #[error("body too large: more than {limit} bytes")]
    TooLarge {
        /// The limit that was passed.
        limit: usize,
    },
    /// The body claims gzip but is not valid gzip (or is truncated).
    #[error("body is not valid gzip: {0}")]
    BadCompression(String),
    /// The body is not the JSON message expected.
    #[error("body is not a valid message: {0}")]
    BadMessage(String),
    /// The message is for a protocol version this side does not speak.
    #[error("protocol version {got} is not supported (this side speaks {supported})")]
    WrongVersion {
        /// The version in the message.
        got: u32,
        /// The version spoken here.
        supported: u32,
    },
    /// The content encoding is not one this side reads.
    #[error("content encoding `{0}` is not supported; use gzip or none")]
    UnsupportedEncoding(String),
}

impl ProtocolError {
    /// A short machine-readable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::TooLarge { .. } => "too_large",
            ProtocolError::BadCompression(_) => "bad_compression",
            ProtocolError::BadMessage(_) => "bad_message",
            ProtocolError::WrongVersion { .. } => "wrong_version",
            ProtocolError::UnsupportedEncoding(_) => "unsupported_encoding",
        }
    }
}

/// Serialize a message as gzip-compressed JSON.
pub fn encode_body<T: Serialize>(message: &T) -> Vec<u8> {
    // Serializing our own message types cannot fail (no maps with non-string keys).
    let json = serde_json::to_vec(message).unwrap_or_default();
    let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 3 + 64), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(&json);
    encoder.finish().unwrap_or_default()
}

#[derive(Deserialize)]
struct Version {
    v: Option<u32>,
}

/// Decode a body: check its size, decompress it (`encoding` is the Content-Encoding,
/// `None` or `"identity"` for plain JSON), check the version, parse the message.
pub fn decode_body<T: DeserializeOwned>(
    bytes: &[u8],
    encoding: Option<&str>,
) -> Result<T, ProtocolError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ProtocolError::TooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    let json = match encoding.map(str::trim) {
        None | Some("") | Some("identity") => bytes.to_vec(),
        Some(e) if e.eq_ignore_ascii_case("gzip") => {
            let mut out = Vec::new();
            GzDecoder::new(bytes)
                .take(MAX_DECODED_BYTES as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| ProtocolError::BadCompression(e.to_string()))?;
            if out.len() > MAX_DECODED_BYTES {
                return Err(ProtocolError::TooLarge {
                    limit: MAX_DECODED_BYTES,
                });
            }
            out
        }
        Some(other) => return Err(ProtocolError::UnsupportedEncoding(other.to_string())),
    };
    let version: Version =
        serde_json::from_slice(&json).map_err(|e| ProtocolError::BadMessage(e.to_string()))?;
    match version.v {
        Some(PROTOCOL_VERSION) => {}
        Some(got) => {
            return Err(ProtocolError::WrongVersion {
                got,
                supported: PROTOCOL_VERSION,
            })
        }
        None => {
            return Err(ProtocolError::BadMessage(
                "missing field `v` (the protocol version)".into(),
            ))
        }
    }
    serde_json::from_slice(&json).map_err(|e| ProtocolError::BadMessage(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{PullRequest, PROTOCOL_VERSION};

    fn pull() -> PullRequest {
        PullRequest {
            v: PROTOCOL_VERSION,
            cursor: Some("e1:5".into()),
            limit: 10,
            max_bytes: 1000,
            actor: None,
            wait_ms: None,
        }
    }

    #[test]
    fn round_trips_compressed_and_plain() {
        let body = encode_body(&pull());
        assert_eq!(
            decode_body::<PullRequest>(&body, Some("gzip")).unwrap(),
            pull()
        );
        let plain = serde_json::to_vec(&pull()).unwrap();
        assert_eq!(decode_body::<PullRequest>(&plain, None).unwrap(), pull());
    }

    #[test]
    fn bad_bodies_are_typed_errors() {
        let body = encode_body(&pull());
        let cut = &body[..body.len() / 2];
        assert!(matches!(
            decode_body::<PullRequest>(cut, Some("gzip")),
            Err(ProtocolError::BadCompression(_))
        ));
        assert!(matches!(
            decode_body::<PullRequest>(b"{\"v\":1,", None),
            Err(ProtocolError::BadMessage(_))
        ));
        assert!(matches!(
            decode_body::<PullRequest>(b"{}", None),
            Err(ProtocolError::BadMessage(_))
        ));
        assert_eq!(
            decode_body::<PullRequest>(b"{\"v\":9}", None),
            Err(ProtocolError::WrongVersion {
                got: 9,
                supported: PROTOCOL_VERSION
            })
        );
        assert!(matches!(
            decode_body::<PullRequest>(b"{}", Some("br")),
            Err(ProtocolError::UnsupportedEncoding(_))
        ));
    }

    #[test]
    fn a_compression_bomb_stops_at_the_limit() {
        let zeros = vec![b' '; MAX_DECODED_BYTES + 10];
        let mut enc = GzEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&zeros).unwrap();
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < MAX_BODY_BYTES);
        assert_eq!(
            decode_body::<PullRequest>(&bomb, Some("gzip")),
            Err(ProtocolError::TooLarge {
                limit: MAX_DECODED_BYTES
            })
        );
    }
}
