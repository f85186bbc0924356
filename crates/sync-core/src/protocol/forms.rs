//! Form definitions on the wire: after pulling, a device names the form versions it
//! holds and gets the published ones it lacks (`POST /v1/sync/forms`).

use serde::{Deserialize, Serialize};

/// A form version, by id and version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FormVersion {
    /// The form id (`household_survey`).
    pub id: String,
    /// The version.
    pub version: u32,
}

/// The device asks for the published form versions it lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormsRequest {
    /// Protocol version.
    pub v: u32,
    /// The form versions the device holds (its built-in ones included).
    pub have: Vec<FormVersion>,
}

/// Published definitions the device lacks, oldest version first within a form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormsResponse {
    /// Protocol version.
    pub v: u32,
    /// At most a few definitions per answer.
    pub forms: Vec<PublishedForm>,
    /// Whether more remain: ask again with these added to `have`.
    pub more: bool,
}

/// One published form version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedForm {
    /// The form id.
    pub id: String,
    /// The version.
    pub version: u32,
    /// The definition as JSON (`forms::Form`'s layout).
    pub definition: String,
}
