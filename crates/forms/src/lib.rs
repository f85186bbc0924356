//! Forms: the form model (XLSForm concepts), the XLSForm expression language and
//! validation of a response against its form.
//!
//! The same code runs on the device (through `sync-core`) and on the server, so a rule
//! written in a form is checked once, the same way, everywhere.

pub mod answers;
pub mod expr;
pub mod instruments;
pub mod model;
pub mod validate;
pub mod value;
pub mod xlsform;

pub use answers::{Answer, Answers};
pub use model::{
    is_data_file_name, is_form_id, or_other, parse_parameters, Choice, CompiledForm, DataFile,
    DeviceFacts, Form, FormError, FormErrorKind, Group, Item, Labels, Language, MetaMoment,
    MetaType, NodeKind, Question, QuestionType, RangeParams, Repeat, MAX_DATA_FILE_BYTES,
    MAX_DATA_FILE_ROWS,
};
pub use validate::{Issue, IssueKind, QuestionState, Validation};
pub use value::Value;
