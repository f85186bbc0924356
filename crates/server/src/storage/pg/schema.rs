//! The PostgreSQL schema: the same tables as SQLite's (`super::super::schema`), in
//! PostgreSQL's types, with migrations counted in `schema_migrations`.
//!
//! One difference of substance: the change log's sequence is not a `SERIAL` but the
//! counter row `feed_sequence`, drawn from inside each writing transaction (see
//! [`super::feed`]), so that sequence order is commit order across every node.

use tokio_postgres::Client;

use super::super::schema::pending;
use super::PgError;

/// Migrations in order; migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: everything SQLite's schema version 5 holds.
    "
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL,
        scope         TEXT,
        created_at    BIGINT NOT NULL
    );
    CREATE TABLE devices (
        id         TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users(id),
        name       TEXT NOT NULL,
        token_hash BYTEA NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
    );
    CREATE TABLE forms (
        id         TEXT NOT NULL,
        version    INTEGER NOT NULL,
        definition TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (id, version)
    );
    -- The feed's high-water mark: the last sequence number handed out. Its row lock,
    -- held from the draw to the commit, puts every writer's commit in sequence order.
    CREATE TABLE feed_sequence (
        one      BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
        last_seq BIGINT NOT NULL
    );
    INSERT INTO feed_sequence (one, last_seq) VALUES (TRUE, 0);
    CREATE TABLE changes (
        seq         BIGINT PRIMARY KEY,
        hash        BYTEA NOT NULL UNIQUE,
        record_id   TEXT NOT NULL,
        bytes       BYTEA NOT NULL,
        user_id     TEXT NOT NULL,
        device_id   TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        actor       BYTEA
    );
    CREATE INDEX changes_by_record ON changes (record_id, seq);
    CREATE TABLE records (
        id            TEXT PRIMARY KEY,
        kind          TEXT NOT NULL,
        partnership   TEXT NOT NULL,
        organization  TEXT,
        neighborhood  TEXT,
        family        TEXT,
        program       TEXT,
        form_id       TEXT,
        form_version  INTEGER,
        created_by    TEXT NOT NULL,
        created_at    BIGINT NOT NULL,
        updated_at    BIGINT NOT NULL,
        heads         TEXT NOT NULL,
        fields        TEXT NOT NULL,
        has_conflicts BOOLEAN NOT NULL,
        issues        TEXT NOT NULL,
        snapshot      BYTEA,
        snapshot_seq  BIGINT NOT NULL DEFAULT 0,
        pending       INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX records_by_scope ON records (partnership, organization, neighborhood, family);
    CREATE INDEX records_by_update ON records (updated_at, id);
    CREATE INDEX records_by_kind ON records (kind, updated_at, id);
    CREATE INDEX records_with_conflicts ON records (updated_at, id) WHERE has_conflicts;
    CREATE TABLE indicator_targets (
        indicator      TEXT PRIMARY KEY,
        baseline_year  INTEGER,
        baseline_value DOUBLE PRECISION,
        targets        TEXT NOT NULL,
        updated_by     TEXT NOT NULL,
        updated_at     BIGINT NOT NULL
    );
    CREATE TABLE aggregate_rows (
        indicator   TEXT NOT NULL,
        year        INTEGER NOT NULL,
        grouping    TEXT NOT NULL,
        category    TEXT NOT NULL,
        numerator   BIGINT NOT NULL,
        denominator BIGINT NOT NULL,
        uploaded_by TEXT NOT NULL,
        uploaded_at BIGINT NOT NULL,
        PRIMARY KEY (indicator, year, grouping, category)
    );
    CREATE TABLE enrollment_codes (
        code_hash  BYTEA PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users(id),
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at    BIGINT,
        device_id  TEXT
    );
    CREATE TABLE tombstones (
        seq          BIGINT PRIMARY KEY,
        record_id    TEXT NOT NULL,
        partnership  TEXT NOT NULL,
        organization TEXT,
        neighborhood TEXT,
        family       TEXT,
        program      TEXT,
        reason       TEXT NOT NULL,
        created_at   BIGINT NOT NULL
    );
    CREATE TABLE purges (
        id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        subject_id TEXT NOT NULL,
        record_id  TEXT NOT NULL,
        kind       TEXT NOT NULL,
        purged_by  TEXT NOT NULL,
        purged_at  BIGINT NOT NULL,
        reason     TEXT NOT NULL
    );
    CREATE TABLE attachments (
        sha256       TEXT PRIMARY KEY,
        size         BIGINT NOT NULL,
        received     BIGINT NOT NULL DEFAULT 0,
        complete     BOOLEAN NOT NULL DEFAULT FALSE,
        record_id    TEXT NOT NULL,
        name         TEXT NOT NULL,
        uploaded_by  TEXT NOT NULL,
        created_at   BIGINT NOT NULL,
        completed_at BIGINT
    );
    CREATE TABLE attachment_chunks (
        sha256 TEXT NOT NULL,
        \"offset\" BIGINT NOT NULL,
        bytes  BYTEA NOT NULL,
        PRIMARY KEY (sha256, \"offset\")
    );
    ",
    // 2: SQLite's schema version 6, attachments bound to who uploaded them: a row per
    // upload (`id`), chunks by upload, grants (which record a device proved it holds
    // the bytes for), `touched_at` and `referenced` for the quota and the sweep.
    "
    ALTER TABLE attachments DROP CONSTRAINT attachments_pkey;
    ALTER TABLE attachments ADD COLUMN id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
    ALTER TABLE attachments ADD COLUMN touched_at BIGINT;
    UPDATE attachments SET touched_at = COALESCE(completed_at, created_at);
    ALTER TABLE attachments ALTER COLUMN touched_at SET NOT NULL;
    ALTER TABLE attachment_chunks ADD COLUMN upload_id BIGINT;
    UPDATE attachment_chunks c SET upload_id = a.id FROM attachments a WHERE a.sha256 = c.sha256;
    ALTER TABLE attachment_chunks ALTER COLUMN upload_id SET NOT NULL;
    ALTER TABLE attachment_chunks DROP CONSTRAINT attachment_chunks_pkey;
    ALTER TABLE attachment_chunks ADD PRIMARY KEY (upload_id, \"offset\");
    CREATE UNIQUE INDEX attachments_open ON attachments (sha256, uploaded_by) WHERE NOT complete;
    CREATE UNIQUE INDEX attachments_stored ON attachments (sha256) WHERE complete;
    CREATE INDEX attachments_idle ON attachments (touched_at) WHERE NOT complete;
    CREATE INDEX attachments_by_device ON attachments (uploaded_by) WHERE NOT complete;
    CREATE INDEX attachments_by_record ON attachments (record_id);
    CREATE TABLE attachment_grants (
        sha256     TEXT NOT NULL,
        record_id  TEXT NOT NULL,
        device_id  TEXT NOT NULL,
        name       TEXT NOT NULL,
        size       BIGINT NOT NULL,
        referenced BOOLEAN NOT NULL DEFAULT FALSE,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (sha256, record_id, device_id)
    );
    CREATE INDEX attachment_grants_by_record ON attachment_grants (record_id);
    CREATE INDEX attachment_grants_unnamed ON attachment_grants (device_id) WHERE NOT referenced;
    CREATE INDEX attachment_grants_unnamed_since ON attachment_grants (created_at)
        WHERE NOT referenced;
    INSERT INTO attachment_grants (sha256, record_id, device_id, name, size, referenced,
        created_at)
    SELECT a.sha256, a.record_id, a.uploaded_by, a.name, a.size,
        EXISTS (SELECT 1 FROM records r WHERE r.id = a.record_id
                AND r.fields LIKE '%' || a.sha256 || '%'),
        COALESCE(a.completed_at, a.created_at)
    FROM attachments a WHERE a.complete;
    ",
    // 3: SQLite's schema version 7, the files of a form version: the workbook it was
    // published from and its attached CSV files.
    "
    CREATE TABLE form_files (
        form_id    TEXT NOT NULL,
        version    INTEGER NOT NULL,
        name       TEXT NOT NULL,
        kind       TEXT NOT NULL,
        size       BIGINT NOT NULL,
        bytes      BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (form_id, version, name)
    );
    ",
    // 4: SQLite's schema version 8, running the partnership from the browser: users'
    // language and deactivation, managed lists, the audit log, password resets, and
    // each record's follow-up marks.
    "
    ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
    ALTER TABLE users ADD COLUMN deactivated_at BIGINT;
    ALTER TABLE records ADD COLUMN followups TEXT NOT NULL DEFAULT '{}';
    CREATE TABLE managed_lists (
        kind         TEXT NOT NULL,
        code         TEXT NOT NULL,
        label        TEXT NOT NULL,
        confidential BOOLEAN NOT NULL DEFAULT FALSE,
        active       BOOLEAN NOT NULL DEFAULT TRUE,
        created_by   TEXT NOT NULL,
        created_at   BIGINT NOT NULL,
        PRIMARY KEY (kind, code)
    );
    CREATE TABLE audit_log (
        id      BIGSERIAL PRIMARY KEY,
        at      BIGINT NOT NULL,
        actor   TEXT NOT NULL,
        action  TEXT NOT NULL,
        subject TEXT NOT NULL,
        detail  TEXT NOT NULL,
        address TEXT NOT NULL
    );
    CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
    CREATE INDEX records_by_form ON records (form_id, created_at, id, partnership, organization,
        neighborhood, family, program, created_by) WHERE form_id IS NOT NULL;
    CREATE TABLE password_resets (
        code_hash  BYTEA PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users(id),
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at    BIGINT
    );
    ",
    // 5: SQLite's schema version 9, Results-Based Accountability: the public
    // scorecard's indicators and the programs' declared performance measures.
    "
    CREATE TABLE public_indicators (
        indicator  TEXT PRIMARY KEY,
        enabled_by TEXT NOT NULL,
        enabled_at BIGINT NOT NULL
    );
    CREATE TABLE program_measures (
        program     TEXT PRIMARY KEY,
        declaration TEXT NOT NULL,
        updated_by  TEXT NOT NULL,
        updated_at  BIGINT NOT NULL
    );
    ",
];

/// The newest schema version this code knows.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Bring the schema up to [`SCHEMA_VERSION`], every pending migration ([`pending`],
/// the rule SQLite's migrations follow too) in one transaction; nodes starting at
/// once wait for each other (an advisory lock), so each migration runs once. Returns
/// the version found before.
pub async fn migrate(client: &mut Client) -> Result<i32, PgError> {
    let tx = client.transaction().await?;
    // Held to the end of the transaction: a second node waits here, then finds the
    // migrations done.
    tx.execute("SELECT pg_advisory_xact_lock(7001)", &[])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL)")
        .await?;
    let found: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .get(0);
    let todo = pending(i64::from(found), MIGRATIONS).map_err(|_| PgError::SchemaTooNew {
        found,
        supported: SCHEMA_VERSION,
    })?;
    for (version, sql) in todo {
        tx.batch_execute(sql).await?;
        let version = version as i32;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tracing::info!(version, "PostgreSQL schema migrated");
    }
    tx.commit().await?;
    Ok(found)
}
