//! Question types: the XLSForm `type` column as a Rust enum, the names XLSForm and the
//! reference converter (pyxform) accept for each, and the metadata types a device fills
//! in by itself.

use std::fmt;
use std::str::FromStr;

/// The type of a question, written as in XLSForm (`"select_one yes_no"`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum QuestionType {
    /// Free text.
    #[default]
    Text,
    /// A whole number.
    Integer,
    /// A decimal number.
    Decimal,
    /// One choice from the named list.
    SelectOne(String),
    /// Any number of choices from the named list, stored space-separated.
    SelectMultiple(String),
    /// Every choice of the named list once, in the order given, stored space-separated
    /// (ODK's `odk:rank`).
    Rank(String),
    /// A date, stored `YYYY-MM-DD`.
    Date,
    /// A time of day, stored `HH:MM[:SS[.sss]][Z|±HH:MM]` (ODK writes
    /// `14:30:00.000-05:00`).
    Time,
    /// A date and time, ISO 8601: `YYYY-MM-DDTHH:MM[:SS[.sss]][Z|±HH:MM]`.
    DateTime,
    /// A number on a slider between the `start` and `end` of the question's
    /// `parameters`, in `step`s (see [`RangeParams`]); an integer unless a bound or
    /// the step is decimal.
    Range,
    /// A location, stored `"lat lon [altitude accuracy]"`.
    Geopoint,
    /// A line: two or more points `"lat lon alt acc;lat lon alt acc;..."`.
    Geotrace,
    /// A closed shape: four or more points as for [`QuestionType::Geotrace`], the last
    /// equal to the first.
    Geoshape,
    /// A scanned barcode, stored as text.
    Barcode,
    /// A box to tick; stored `OK` when ticked (XLSForm `trigger` is the same).
    Acknowledge,
    /// Text shown to the person; no answer.
    Note,
    /// A value computed from `calculation`; not shown.
    Calculate,
    /// A value not shown and not computed: its default, or what a device or an
    /// integration writes (pyxform binds it as a string with no control).
    Hidden,
    /// A photo, stored as the attachment's file name.
    Image,
    /// A sound recording, stored as the attachment's file name.
    Audio,
    /// A video, stored as the attachment's file name.
    Video,
    /// Any file, stored as the attachment's file name.
    File,
    /// A value the device fills in by itself, never shown or asked.
    Meta(MetaType),
}

/// The metadata question types: filled in by the device, no prompt, never required.
///
/// The core fills [`MetaType::Start`], [`MetaType::Today`], [`MetaType::DeviceId`] and
/// [`MetaType::Username`] when a response is started, [`MetaType::End`] when it is
/// finalized; the others are read from forms and kept empty (a phone number or SIM
/// serial is not something the apps may read, and an audit log is not recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetaType {
    /// When the response was started (date and time).
    Start,
    /// When the response was finalized (date and time).
    End,
    /// The day the response was started (`YYYY-MM-DD`).
    Today,
    /// The device's id (its sync actor here).
    DeviceId,
    /// The SIM card's serial (kept empty).
    SimSerial,
    /// The subscriber id (IMSI; kept empty).
    SubscriberId,
    /// The phone's number (kept empty).
    PhoneNumber,
    /// The signed-in user's name.
    Username,
    /// The user's e-mail address (kept empty).
    Email,
    /// ODK's audit log attachment (kept empty).
    Audit,
}

impl MetaType {
    /// Every metadata type, in the order XLSForm documents them.
    pub const ALL: [MetaType; 10] = [
        MetaType::Start,
        MetaType::End,
        MetaType::Today,
        MetaType::DeviceId,
        MetaType::SimSerial,
        MetaType::SubscriberId,
        MetaType::PhoneNumber,
        MetaType::Username,
        MetaType::Email,
        MetaType::Audit,
    ];

    /// The XLSForm type name (`start`, `deviceid`, ...).
    pub fn name(self) -> &'static str {
        match self {
            MetaType::Start => "start",
            MetaType::End => "end",
            MetaType::Today => "today",
            MetaType::DeviceId => "deviceid",
            MetaType::SimSerial => "simserial",
            MetaType::SubscriberId => "subscriberid",
            MetaType::PhoneNumber => "phonenumber",
            MetaType::Username => "username",
            MetaType::Email => "email",
            MetaType::Audit => "audit",
        }
    }

    /// Whether the core fills this type in (the others stay empty).
    pub fn filled_by_device(self) -> bool {
        matches!(
            self,
            MetaType::Start
                | MetaType::End
                | MetaType::Today
                | MetaType::DeviceId
                | MetaType::Username
        )
    }
}

impl QuestionType {
    /// The choice list a select or rank question draws from.
    pub fn list(&self) -> Option<&str> {
        match self {
            QuestionType::SelectOne(l)
            | QuestionType::SelectMultiple(l)
            | QuestionType::Rank(l) => Some(l),
            _ => None,
        }
    }

    /// The type's name without its list (`select_one`, `integer`, `start`, ...).
    pub fn name(&self) -> &'static str {
        use QuestionType as T;
        match self {
            T::Text => "text",
            T::Integer => "integer",
            T::Decimal => "decimal",
            T::SelectOne(_) => "select_one",
            T::SelectMultiple(_) => "select_multiple",
            T::Rank(_) => "rank",
            T::Date => "date",
            T::Time => "time",
            T::DateTime => "datetime",
            T::Range => "range",
            T::Geopoint => "geopoint",
            T::Geotrace => "geotrace",
            T::Geoshape => "geoshape",
            T::Barcode => "barcode",
            T::Acknowledge => "acknowledge",
            T::Note => "note",
            T::Calculate => "calculate",
            T::Hidden => "hidden",
            T::Image => "image",
            T::Audio => "audio",
            T::Video => "video",
            T::File => "file",
            T::Meta(m) => m.name(),
        }
    }

    /// Whether questions of this type hold an answer entered by a person.
    pub fn takes_input(&self) -> bool {
        !matches!(
            self,
            QuestionType::Note
                | QuestionType::Calculate
                | QuestionType::Hidden
                | QuestionType::Meta(_)
        )
    }

    /// Whether the question is shown to the person at all (notes are, with no answer;
    /// calculations, hidden values and metadata are not).
    pub fn is_shown(&self) -> bool {
        !matches!(
            self,
            QuestionType::Calculate | QuestionType::Hidden | QuestionType::Meta(_)
        )
    }

    /// The metadata type, for a question filled in by the device.
    pub fn meta(&self) -> Option<MetaType> {
        match self {
            QuestionType::Meta(m) => Some(*m),
            _ => None,
        }
    }

    /// Whether the answer is an attachment's file name (image, audio, video, file),
    /// uploaded through the attachment path.
    pub fn is_attachment(&self) -> bool {
        matches!(
            self,
            QuestionType::Image | QuestionType::Audio | QuestionType::Video | QuestionType::File
        )
    }

    /// The question type for an XLSForm type name as the reference converter accepts it,
    /// already lower-cased where XLSForm is case-insensitive and with the choice list
    /// split off (`select_one yes_no` is `("select_one", Some("yes_no"))`).
    ///
    /// Accepts the canonical names and pyxform's aliases of them (`gps`, `int`,
    /// `dateTime`, `trigger`, `imei`, `select all that apply`...). The error says what is
    /// wrong in English, for the reader to place at its row and column.
    pub fn from_xlsform_name(name: &str, list: Option<&str>) -> Result<QuestionType, String> {
        use QuestionType as T;
        let name = name.trim();
        let plain = |t: QuestionType| match list {
            None => Ok(t),
            Some(_) => Err(format!("question type `{name}` takes no choice list")),
        };
        let select = |f: fn(String) -> QuestionType| match list {
            Some(l) if !l.trim().is_empty() => Ok(f(l.trim().to_string())),
            _ => Err(format!("`{name}` needs a choice list: `{name} list_name`")),
        };
        let meta = |m: MetaType| plain(T::Meta(m));
        match name {
            "text" | "string" => plain(T::Text),
            "integer" | "int" => plain(T::Integer),
            "decimal" => plain(T::Decimal),
            "date" => plain(T::Date),
            "time" => plain(T::Time),
            "datetime" | "dateTime" | "date time" => plain(T::DateTime),
            "range" => plain(T::Range),
            "geopoint" | "gps" | "location" => plain(T::Geopoint),
            "geotrace" => plain(T::Geotrace),
            "geoshape" => plain(T::Geoshape),
            "barcode" => plain(T::Barcode),
            "acknowledge" | "trigger" => plain(T::Acknowledge),
            "note" => plain(T::Note),
            "calculate" => plain(T::Calculate),
            "hidden" => plain(T::Hidden),
            "image" | "photo" => plain(T::Image),
            "audio" => plain(T::Audio),
            "video" => plain(T::Video),
            "file" => plain(T::File),
            "start" | "start time" => meta(MetaType::Start),
            "end" | "end time" => meta(MetaType::End),
            "today" => meta(MetaType::Today),
            "deviceid" | "device id" | "imei" | "uri:deviceid" => meta(MetaType::DeviceId),
            "simserial" | "sim id" | "uri:simserial" => meta(MetaType::SimSerial),
            "subscriberid" | "subscriber id" | "uri:subscriberid" => meta(MetaType::SubscriberId),
            "phonenumber" | "uri:phonenumber" => meta(MetaType::PhoneNumber),
            "username" | "uri:username" => meta(MetaType::Username),
            "email" | "uri:email" => meta(MetaType::Email),
            "audit" => meta(MetaType::Audit),
            "select_one" | "select one" | "select1" => select(T::SelectOne),
            "select_multiple" | "select all that apply" | "select multiple" => {
                select(T::SelectMultiple)
            }
            "rank" => select(T::Rank),
            "" => Err("empty question type".to_string()),
            other => Err(format!("unknown question type `{other}`")),
        }
    }

    /// The canonical type names, for an "unknown type" error to list.
    pub fn xlsform_names() -> Vec<&'static str> {
        let mut names = vec![
            "text",
            "integer",
            "decimal",
            "select_one",
            "select_multiple",
            "rank",
            "date",
            "time",
            "datetime",
            "range",
            "geopoint",
            "geotrace",
            "geoshape",
            "barcode",
            "acknowledge",
            "note",
            "calculate",
            "hidden",
            "image",
            "audio",
            "video",
            "file",
        ];
        names.extend(MetaType::ALL.iter().map(|m| m.name()));
        names
    }
}

impl fmt::Display for QuestionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.list() {
            Some(l) => write!(f, "{} {l}", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

impl FromStr for QuestionType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut words = s.split_whitespace();
        let kind = words.next().unwrap_or("");
        let list = words.next();
        if words.next().is_some() {
            return Err(format!("unexpected words in question type `{s}`"));
        }
        QuestionType::from_xlsform_name(kind, list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_type_round_trips() {
        let mut names: Vec<String> = QuestionType::xlsform_names()
            .into_iter()
            .filter(|n| !matches!(*n, "select_one" | "select_multiple" | "rank"))
            .map(String::from)
            .collect();
        names
            .extend(["select_one yes_no", "select_multiple device", "rank prio"].map(String::from));
        for t in names {
            let parsed: QuestionType = t.parse().unwrap();
            assert_eq!(parsed.to_string(), t);
        }
        assert!("select_one".parse::<QuestionType>().is_err());
        assert!("rank".parse::<QuestionType>().is_err());
        assert!("integer yes_no".parse::<QuestionType>().is_err());
        assert!("barcodes".parse::<QuestionType>().is_err());
        assert!("select_one a b".parse::<QuestionType>().is_err());
    }

    #[test]
    fn aliases_map_to_one_type() {
        let t = |n: &str| QuestionType::from_xlsform_name(n, None).unwrap();
        assert_eq!(t("gps"), QuestionType::Geopoint);
        assert_eq!(t("trigger"), QuestionType::Acknowledge);
        assert_eq!(t("dateTime"), QuestionType::DateTime);
        assert_eq!(t("imei"), QuestionType::Meta(MetaType::DeviceId));
        assert_eq!(
            QuestionType::from_xlsform_name("select all that apply", Some("x")).unwrap(),
            QuestionType::SelectMultiple("x".into())
        );
        assert!(QuestionType::from_xlsform_name("start", Some("x")).is_err());
    }

    #[test]
    fn metadata_is_neither_input_nor_shown() {
        for m in MetaType::ALL {
            let t = QuestionType::Meta(m);
            assert!(!t.takes_input() && !t.is_shown(), "{m:?}");
        }
        assert!(QuestionType::Note.is_shown() && !QuestionType::Note.takes_input());
        assert!(QuestionType::File.is_attachment() && QuestionType::File.takes_input());
    }
}
