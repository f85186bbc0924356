//! Small persistent settings: the device actor and the sync cursor.

use automerge::ActorId;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;

const ACTOR: &str = "device_actor";
/// The key of the sync cursor.
pub(crate) const CURSOR: &str = "sync_cursor";

/// The device's actor, created and persisted on first use.
pub(crate) fn device_actor(conn: &Connection) -> Result<ActorId> {
    let stored: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [ACTOR], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(bytes) = stored {
        return Ok(ActorId::from(bytes));
    }
    let actor = ActorId::random();
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)",
        params![ACTOR, actor.to_bytes()],
    )?;
    Ok(actor)
}

pub(crate) fn get_text(conn: &Connection, key: &str) -> Result<Option<String>> {
    let value: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
}

pub(crate) fn set_text(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value.as_bytes()],
    )?;
    Ok(())
}
