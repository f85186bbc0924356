//! Published forms: the definitions responses are validated against and devices fetch
//! when they sync.
//!
//! A published `(id, version)` never changes and is never removed: a response keeps
//! the version it was started on for life, so version 1 must still validate it after
//! version 2 is out. Compiled forms are kept in memory; a version this process has not
//! seen (published by another server node on the same database) is read and compiled on
//! first use.
//!
//! Beside each version published from a workbook, `form_files` keeps the workbook as
//! it was uploaded and the CSV files attached to it (the ones its reading used),
//! written in the publication's transaction, so staff can download them again.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use forms::{CompiledForm, Form};
use sync_core::protocol::{FormVersion, PublishedForm};

use super::dialect::take_turns;
use super::sql::{args, Row, Sql};
use super::{now, Storage, StorageError};

/// Most definitions in one answer to a device (it asks again while `more`).
pub const FORMS_PER_ANSWER: usize = 20;

/// The compiled forms this process knows, by (id, version).
#[derive(Default)]
pub(super) struct FormCache(RwLock<HashMap<(String, u32), Arc<CompiledForm>>>);

impl FormCache {
    fn get(&self, id: &str, version: u32) -> Option<Arc<CompiledForm>> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(id.to_string(), version))
            .cloned()
    }

    fn insert(&self, form: Arc<CompiledForm>) {
        let key = (form.form().id.clone(), form.form().version);
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, form);
    }

    /// Compile every stored definition (at open, on either database); one that no
    /// longer compiles is logged and left out, so responses to it are refused rather
    /// than misread.
    pub(super) fn load(conn: &dyn Sql) -> Result<FormCache, StorageError> {
        Ok(Self::from_rows(
            stored_forms(conn)?
                .into_iter()
                .map(|(id, version, json, _)| (id, version, json))
                .collect(),
        ))
    }

    /// Compile these stored definitions (id, version, JSON).
    pub(super) fn from_rows(rows: Vec<(String, u32, String)>) -> FormCache {
        let cache = FormCache::default();
        for (id, version, json) in rows {
            match compile(&json) {
                Ok(form) => cache.insert(Arc::new(form)),
                Err(errors) => tracing::warn!(
                    form = %id, version, ?errors,
                    "stored form does not compile; responses to it are refused"
                ),
            }
        }
        cache
    }
}

fn compile(json: &str) -> Result<CompiledForm, Vec<String>> {
    Form::from_json(json)
        .map_err(|e| vec![e.to_string()])?
        .compile()
        .map_err(|errs| errs.iter().map(ToString::to_string).collect())
}

/// Why a form could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The definition has errors (each names its item and column).
    #[error("the form has {} error(s)", .0.len())]
    Invalid(Vec<String>),
    /// That version is out already with another definition.
    #[error("version {version} of `{id}` is already published with a different definition; give this one a higher version")]
    VersionTaken {
        /// The form id.
        id: String,
        /// The version asked for.
        version: u32,
    },
    /// A newer version is out already.
    #[error(
        "`{id}` is at version {latest} already; give this one a higher version than {version}"
    )]
    Older {
        /// The form id.
        id: String,
        /// The version asked for.
        version: u32,
        /// The newest published version.
        latest: u32,
    },
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What publishing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// The version is new.
    New,
    /// The same definition was published before; nothing changed.
    Unchanged,
}

/// What a file kept beside a form version is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormFileKind {
    /// The XLSForm workbook the version was read from.
    Workbook,
    /// A CSV file attached to the workbook (`select_one_from_file`, `pulldata()`).
    Data,
}

impl FormFileKind {
    /// Its name in the database and in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            FormFileKind::Workbook => "workbook",
            FormFileKind::Data => "data",
        }
    }

    fn parse(text: &str) -> Result<FormFileKind, StorageError> {
        match text {
            "workbook" => Ok(FormFileKind::Workbook),
            "data" => Ok(FormFileKind::Data),
            other => Err(StorageError::Corrupt(format!(
                "a form file of unknown kind `{other}`"
            ))),
        }
    }
}

/// A file kept beside a form version: the uploaded workbook or an attached CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormFile {
    /// Its name as uploaded (unique within the version).
    pub name: String,
    /// Workbook or data.
    pub kind: FormFileKind,
    /// Its bytes, as uploaded.
    pub bytes: Vec<u8>,
}

/// A kept file without its bytes, for listings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FormFileInfo {
    /// Its name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Workbook or data.
    pub kind: FormFileKind,
}

/// One published form version, for the forms page.
#[derive(Debug, Clone)]
pub struct FormListing {
    /// The form id.
    pub id: String,
    /// Its version.
    pub version: u32,
    /// When it was published (unix seconds).
    pub published_at: i64,
    /// Its title in the form's default language.
    pub title: String,
    /// The files kept beside it (workbook first, then CSVs by name); none for a
    /// version published from JSON or before files were kept.
    pub files: Vec<FormFileInfo>,
}

impl Storage {
    /// The compiled form with this id and version, if it is published. A database
    /// failure is an error, never "no such form": a device must not be told its
    /// record answers an unknown form because the database did not answer.
    pub fn form(&self, id: &str, version: u32) -> Result<Option<Arc<CompiledForm>>, StorageError> {
        if let Some(form) = self.inner.forms.get(id, version) {
            return Ok(Some(form));
        }
        // Published by another node since this one started, or never.
        let json = self.stored_form(id, version)?;
        Ok(self.remember_form(json))
    }

    /// The compiled form if this node has it in memory already (no database read).
    pub(crate) fn cached_form(&self, id: &str, version: u32) -> Option<Arc<CompiledForm>> {
        self.inner.forms.get(id, version)
    }

    /// [`Storage::form`] read inside a push's transaction (no second connection).
    pub(crate) fn form_in(
        &self,
        tx: &dyn super::log_tx::LogTx,
        id: &str,
        version: u32,
    ) -> Result<Option<Arc<CompiledForm>>, StorageError> {
        if let Some(form) = self.inner.forms.get(id, version) {
            return Ok(Some(form));
        }
        let json = tx.form_definition(id, version)?;
        Ok(self.remember_form(json))
    }

    fn remember_form(&self, json: Option<String>) -> Option<Arc<CompiledForm>> {
        // A stored definition that no longer compiles is not a form anyone can fill.
        let form = Arc::new(compile(&json?).ok()?);
        self.inner.forms.insert(form.clone());
        Some(form)
    }

    /// Publish a form version: it must compile and be newer than every published
    /// version of its id. Devices get it on their next sync.
    pub fn publish_form(&self, form: Form) -> Result<Published, PublishError> {
        self.publish_form_with_files(form, Vec::new())
    }

    /// [`Storage::publish_form`], keeping `files` (the uploaded workbook, the CSVs it
    /// used) beside the version in the same transaction. Publishing the same
    /// definition again ([`Published::Unchanged`]) writes nothing, files included.
    pub fn publish_form_with_files(
        &self,
        form: Form,
        files: Vec<FormFile>,
    ) -> Result<Published, PublishError> {
        let json = form.to_json();
        let compiled = form.compile().map_err(|errs| {
            PublishError::Invalid(errs.iter().map(ToString::to_string).collect())
        })?;
        let (id, version) = (compiled.form().id.clone(), compiled.form().version);
        let published = self.transact(|sql| -> Result<Published, PublishError> {
            // Two nodes publishing the same id take turns, so neither checks "newer
            // than every published version" against a list the other is changing.
            take_turns(sql, "form", &id)?;
            let same = sql.row(
                "SELECT definition FROM forms WHERE id = ?1 AND version = ?2",
                &args![&id, version],
            )?;
            if let Some(existing) = same {
                let existing: String = existing.get(0)?;
                let unchanged = Form::from_json(&existing).ok() == Form::from_json(&json).ok();
                return if unchanged {
                    Ok(Published::Unchanged)
                } else {
                    Err(PublishError::VersionTaken {
                        id: id.clone(),
                        version,
                    })
                };
            }
            let latest = sql
                .row("SELECT MAX(version) FROM forms WHERE id = ?1", &args![&id])?
                .map(|r| r.get::<Option<i64>>(0))
                .transpose()?
                .flatten();
            if let Some(latest) = latest.filter(|l| *l > i64::from(version)) {
                return Err(PublishError::Older {
                    id: id.clone(),
                    version,
                    latest: to_version(latest)?,
                });
            }
            let at = now();
            insert_form(sql, &id, version, &json, at)?;
            for file in files {
                sql.execute(
                    "INSERT INTO form_files (form_id, version, name, kind, size, bytes, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    &args![
                        &id,
                        version,
                        file.name,
                        file.kind.as_str(),
                        file.bytes.len() as i64,
                        file.bytes,
                        at
                    ],
                )?;
            }
            Ok(Published::New)
        })?;
        if published == Published::New {
            tracing::info!(form = %id, version, "form published");
        }
        self.inner.forms.insert(Arc::new(compiled));
        Ok(published)
    }

    /// One published version's definition (JSON) and when it was published.
    pub fn form_definition(
        &self,
        id: &str,
        version: u32,
    ) -> Result<Option<(String, i64)>, StorageError> {
        self.with_sql(|c| {
            c.row(
                "SELECT definition, created_at FROM forms WHERE id = ?1 AND version = ?2",
                &args![id, version],
            )?
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .transpose()
        })
    }

    /// The files kept beside one version: the workbook first, then CSVs by name.
    pub fn form_files(&self, id: &str, version: u32) -> Result<Vec<FormFileInfo>, StorageError> {
        self.with_sql(|c| {
            c.rows(
                "SELECT name, size, kind FROM form_files WHERE form_id = ?1 AND version = ?2
                 ORDER BY kind DESC, name",
                &args![id, version],
            )?
            .iter()
            .map(file_info)
            .collect()
        })
    }

    /// One kept file, bytes and all.
    pub fn form_file(
        &self,
        id: &str,
        version: u32,
        name: &str,
    ) -> Result<Option<FormFile>, StorageError> {
        self.with_sql(|c| {
            c.row(
                "SELECT kind, bytes FROM form_files
                 WHERE form_id = ?1 AND version = ?2 AND name = ?3",
                &args![id, version, name],
            )?
            .map(|mut r| {
                Ok(FormFile {
                    name: name.to_string(),
                    kind: FormFileKind::parse(&r.take_text(0)?)?,
                    bytes: r.take_blob(1)?,
                })
            })
            .transpose()
        })
    }

    /// Every kept file (no bytes), by form id and version.
    fn all_form_files(&self) -> Result<HashMap<(String, u32), Vec<FormFileInfo>>, StorageError> {
        let rows = self.with_sql(|c| {
            c.rows(
                "SELECT form_id, version, name, size, kind FROM form_files
                 ORDER BY form_id, version, kind DESC, name",
                &[],
            )
        })?;
        let mut out: HashMap<(String, u32), Vec<FormFileInfo>> = HashMap::new();
        for row in rows {
            let key = (row.get::<String>(0)?, row.get::<i64>(1)? as u32);
            let info = FormFileInfo {
                name: row.get(2)?,
                size: row.get::<i64>(3)? as u64,
                kind: FormFileKind::parse(&row.get::<String>(4)?)?,
            };
            out.entry(key).or_default().push(info);
        }
        Ok(out)
    }

    /// One stored definition's JSON.
    fn stored_form(&self, id: &str, version: u32) -> Result<Option<String>, StorageError> {
        self.with_sql(|sql| {
            sql.row(
                "SELECT definition FROM forms WHERE id = ?1 AND version = ?2",
                &args![id, version],
            )?
            .map(|r| r.get(0))
            .transpose()
        })
    }

    /// Every stored definition: (id, version, JSON, published at), by id then version.
    pub(super) fn stored_forms(&self) -> Result<Vec<(String, u32, String, i64)>, StorageError> {
        self.with_sql(stored_forms)
    }

    /// Every published version with its publication time, by id, newest version first.
    pub fn form_listing(&self) -> Result<Vec<FormListing>, StorageError> {
        let mut rows = self.stored_forms()?;
        let mut files = self.all_form_files()?;
        rows.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        Ok(rows
            .into_iter()
            .map(|(id, version, _, published_at)| (id, version, published_at))
            .map(|(id, version, published_at)| {
                let title = self
                    .form(&id, version)
                    .ok()
                    .flatten()
                    .and_then(|f| {
                        let form = f.form();
                        form.title
                            .get(&form.default_language, &form.default_language)
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| id.clone());
                let files = files.remove(&(id.clone(), version)).unwrap_or_default();
                FormListing {
                    id,
                    version,
                    published_at,
                    title,
                    files,
                }
            })
            .collect())
    }

    /// The definitions a device lacks, given those it `has`: at most
    /// [`FORMS_PER_ANSWER`], and whether more remain.
    pub fn forms_missing(
        &self,
        has: &[FormVersion],
    ) -> Result<(Vec<PublishedForm>, bool), StorageError> {
        let has: std::collections::HashSet<(&str, u32)> =
            has.iter().map(|f| (f.id.as_str(), f.version)).collect();
        let all = self.stored_forms()?;
        let mut missing = all
            .into_iter()
            .filter(|(id, version, _, _)| !has.contains(&(id.as_str(), *version)));
        let forms: Vec<PublishedForm> = missing
            .by_ref()
            .take(FORMS_PER_ANSWER)
            .map(|(id, version, definition, _)| PublishedForm {
                id,
                version,
                definition,
            })
            .collect();
        Ok((forms, missing.next().is_some()))
    }
}

fn file_info(row: &Row) -> Result<FormFileInfo, StorageError> {
    Ok(FormFileInfo {
        name: row.get(0)?,
        size: row.get::<i64>(1)? as u64,
        kind: FormFileKind::parse(&row.get::<String>(2)?)?,
    })
}

/// Store a form definition unless that (id, version) is there already; whether it
/// was stored now. Opening a database stores the seed forms through this too (a
/// published version is never replaced, so a seed edited since is not re-stored).
pub(super) fn insert_form(
    sql: &dyn Sql,
    id: &str,
    version: u32,
    definition: &str,
    now: i64,
) -> Result<bool, StorageError> {
    Ok(sql.execute(
        "INSERT INTO forms (id, version, definition, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id, version) DO NOTHING",
        &args![id, version, definition, now],
    )? == 1)
}

/// Every stored definition: (id, version, JSON, published at), by id then version.
fn stored_forms(sql: &dyn Sql) -> Result<Vec<(String, u32, String, i64)>, StorageError> {
    sql.rows(
        "SELECT id, version, definition, created_at FROM forms ORDER BY id, version",
        &[],
    )?
    .into_iter()
    .map(|mut r| {
        Ok((
            r.take_text(0)?,
            to_version(r.get(1)?)?,
            r.take_text(2)?,
            r.get(3)?,
        ))
    })
    .collect()
}

/// A stored version number as the forms know it.
fn to_version(stored: i64) -> Result<u32, StorageError> {
    u32::try_from(stored).map_err(|_| StorageError::Corrupt(format!("a form version of {stored}")))
}
