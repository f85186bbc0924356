//! The `type` column: every spelling the reference converter accepts, resolved to one
//! canonical name, and the ONE place ([`to_model`]) that says what each canonical name
//! becomes in the form model. When the model gains a question type, change only
//! [`to_model`].

use crate::model::QuestionType;

/// What a `type` cell says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Parsed {
    /// `begin group`, `begin repeat`, `begin loop over list`.
    Begin(Control, Option<String>),
    /// `end group`, `end repeat`, `end loop`.
    End(Control),
    /// A question: its canonical type name (`select_one`, `time`), its list (for the
    /// selects) and whether `or_other` follows.
    Question {
        name: &'static str,
        list: Option<String>,
        or_other: bool,
    },
}

/// Groups, repeats and loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Control {
    Group,
    Repeat,
    Loop,
}

/// What a canonical type becomes in the form model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Mapped {
    /// The model's own type.
    Type(QuestionType),
    /// A stand-in the model has, and a warning saying how it differs.
    Standin(QuestionType, String),
    /// Not kept: the question is left out, with this warning.
    Skip(String),
    /// Not readable as written: an error on the `type` cell.
    Error(String),
}

/// Each selecting spelling, longest first (so `select one from` wins over `select
/// one`), and its canonical name.
const SELECTS: &[(&str, &str)] = &[
    ("add select multiple prompt using", "select_multiple"),
    ("add select one prompt using", "select_one"),
    ("select all that apply from", "select_multiple"),
    ("select multiple from file", "select_multiple_from_file"),
    ("select_multiple_from_file", "select_multiple_from_file"),
    ("select one from file", "select_one_from_file"),
    ("select_one_from_file", "select_one_from_file"),
    ("select all that apply", "select_multiple"),
    ("select_one_external", "select_one_external"),
    ("select multiple", "select_multiple"),
    ("select_multiple", "select_multiple"),
    ("select one from", "select_one"),
    ("select one", "select_one"),
    ("select_one", "select_one"),
    ("select1", "select_one"),
    ("rank", "rank"),
    ("osm", "osm"),
];

/// Every other spelling (lower case, spaces single) and its canonical name, from the
/// reference's question type dictionary and aliases.
const PLAIN: &[(&str, &str)] = &[
    ("text", "text"),
    ("string", "text"),
    ("qstring", "text"),
    ("add text prompt", "text"),
    ("integer", "integer"),
    ("int", "integer"),
    ("qint", "integer"),
    ("add integer prompt", "integer"),
    ("decimal", "decimal"),
    ("qdecimal", "decimal"),
    ("add decimal prompt", "decimal"),
    ("date", "date"),
    ("qdate", "date"),
    ("add date prompt", "date"),
    ("time", "time"),
    ("datetime", "datetime"),
    ("qdatetime", "datetime"),
    ("add datetime prompt", "datetime"),
    ("geopoint", "geopoint"),
    ("gps", "geopoint"),
    ("location", "geopoint"),
    ("qgeopoint", "geopoint"),
    ("qlocation", "geopoint"),
    ("add location prompt", "geopoint"),
    ("geotrace", "geotrace"),
    ("qgeotrace", "geotrace"),
    ("geoshape", "geoshape"),
    ("qgeoshape", "geoshape"),
    ("note", "note"),
    ("qnote", "note"),
    ("add note prompt", "note"),
    ("calculate", "calculate"),
    ("qcalculate", "calculate"),
    ("add calculate prompt", "calculate"),
    ("image", "image"),
    ("photo", "image"),
    ("qimage", "image"),
    ("qpicture", "image"),
    ("add image prompt", "image"),
    ("add photo prompt", "image"),
    ("audio", "audio"),
    ("qaudio", "audio"),
    ("add audio prompt", "audio"),
    ("video", "video"),
    ("qvideo", "video"),
    ("add video prompt", "video"),
    ("file", "file"),
    ("add file prompt", "file"),
    ("barcode", "barcode"),
    ("qbarcode", "barcode"),
    ("add barcode prompt", "barcode"),
    ("acknowledge", "acknowledge"),
    ("qacknowledge", "acknowledge"),
    ("add acknowledge prompt", "acknowledge"),
    ("trigger", "trigger"),
    ("hidden", "hidden"),
    ("range", "range"),
    ("start", "start"),
    ("starttime", "start"),
    ("getstarttime", "start"),
    ("end", "end"),
    ("endtime", "end"),
    ("getendtime", "end"),
    ("today", "today"),
    ("gettoday", "today"),
    ("deviceid", "deviceid"),
    ("imei", "deviceid"),
    ("getdeviceid", "deviceid"),
    ("uri:deviceid", "deviceid"),
    ("simserial", "simserial"),
    ("simid", "simserial"),
    ("getsimid", "simserial"),
    ("uri:simserial", "simserial"),
    ("subscriberid", "subscriberid"),
    ("getsubscriberid", "subscriberid"),
    ("uri:subscriberid", "subscriberid"),
    ("phonenumber", "phonenumber"),
    ("phone number", "phonenumber"),
    ("getphonenumber", "phonenumber"),
    ("uri:phonenumber", "phonenumber"),
    ("username", "username"),
    ("uri:username", "username"),
    ("email", "email"),
    ("uri:email", "email"),
    ("audit", "audit"),
    ("start-geopoint", "start-geopoint"),
    ("background-audio", "background-audio"),
    ("background-geopoint", "background-geopoint"),
    ("xml-external", "xml-external"),
    ("csv-external", "csv-external"),
];

/// The canonical names offered in an unknown type's error.
pub(super) const SUPPORTED: &[&str] = &[
    "text",
    "integer",
    "decimal",
    "select_one",
    "select_multiple",
    "select_one_external",
    "select_one_from_file",
    "select_multiple_from_file",
    "rank",
    "date",
    "time",
    "datetime",
    "range",
    "geopoint",
    "geotrace",
    "geoshape",
    "note",
    "calculate",
    "hidden",
    "image",
    "audio",
    "video",
    "file",
    "barcode",
    "acknowledge",
    "trigger",
    "start",
    "end",
    "today",
    "deviceid",
    "simserial",
    "subscriberid",
    "phonenumber",
    "username",
    "email",
    "audit",
];

/// Read a `type` cell. The error names the nearest supported type.
pub(super) fn parse(cell: &str) -> Result<Parsed, String> {
    let words: Vec<&str> = cell.split_whitespace().collect();
    let lower = words.join(" ").to_lowercase();
    if lower.is_empty() {
        return Err("empty question type".into());
    }
    if let Some(control) = control(&lower) {
        return Ok(control);
    }
    for (spelling, name) in SELECTS {
        let Some(rest) = lower.strip_prefix(spelling) else {
            continue;
        };
        if !rest.is_empty() && !rest.starts_with(' ') {
            continue;
        }
        let n = spelling.split(' ').count();
        // The list name keeps its case: `select_one YesNo`.
        let Some(list) = words.get(n) else {
            // `osm` may name a list of tags, or none.
            if *name == "osm" {
                return Ok(Parsed::Question {
                    name,
                    list: None,
                    or_other: false,
                });
            }
            return Err(format!(
                "`{}` needs a choice list: `{name} list_name`",
                words.join(" ")
            ));
        };
        let tail = words[n + 1..].join(" ").to_lowercase();
        let or_other = match tail.as_str() {
            "" => false,
            "or_other" | "or other" | "or specify other" => true,
            _ => {
                return Err(format!(
                    "unexpected words in question type `{cell}`: after the list only \
                     `or_other` may follow"
                ))
            }
        };
        return Ok(Parsed::Question {
            name,
            list: Some((*list).to_string()),
            or_other,
        });
    }
    if let Some((_, name)) = PLAIN.iter().find(|(s, _)| *s == lower) {
        return Ok(Parsed::Question {
            name,
            list: None,
            or_other: false,
        });
    }
    let first = words[0].to_lowercase();
    if PLAIN.iter().any(|(s, _)| *s == first) {
        return Err(format!("question type `{first}` takes no choice list"));
    }
    Err(unknown(cell))
}

/// `begin group`, `begin_repeat`, `begin loop over list`, `end group`...
fn control(lower: &str) -> Option<Parsed> {
    let (verb, rest) = lower
        .split_once([' ', '_'])
        .filter(|(v, _)| *v == "begin" || *v == "end")?;
    let kinds: [(&str, Control); 5] = [
        ("looped group", Control::Repeat),
        ("lgroup", Control::Repeat),
        ("group", Control::Group),
        ("repeat", Control::Repeat),
        ("loop", Control::Loop),
    ];
    let (word, kind) = kinds.iter().find(|(w, _)| rest.starts_with(w))?;
    let after = rest[word.len()..].trim();
    if verb == "end" {
        return after.is_empty().then_some(Parsed::End(*kind));
    }
    let list = after.strip_prefix("over ").unwrap_or(after).trim();
    Some(Parsed::Begin(
        *kind,
        (!list.is_empty()).then(|| list.to_string()),
    ))
}

/// The error for a type nobody knows: the nearest known spelling, and the list.
fn unknown(cell: &str) -> String {
    // The first word is the type; a list name may follow (`selct_one yn`).
    let words: Vec<&str> = cell.split_whitespace().collect();
    let first = words.first().copied().unwrap_or_default().to_lowercase();
    let rest = words.get(1..).unwrap_or_default().join(" ");
    let nearest = SUPPORTED
        .iter()
        .copied()
        .map(|s| (distance(&first, s), s))
        .min();
    let hint = match nearest {
        Some((d, s)) if d <= 2.max(first.len() / 3) => {
            format!("; did you mean `{}`?", format!("{s} {rest}").trim())
        }
        _ => String::new(),
    };
    format!(
        "unknown question type `{}`{hint} The types read are: {}",
        cell.trim(),
        SUPPORTED.join(", ")
    )
}

/// Edit distance (Levenshtein), for suggestions.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// THE mapping from a canonical type name to the form model. `calculation` says
/// whether the row has one (a `hidden` question with one is a calculation).
pub(super) fn to_model(name: &str, list: Option<&str>, calculation: bool) -> Mapped {
    let list = list.unwrap_or_default().to_string();
    let later = |what: &str| {
        Mapped::Skip(format!(
            "`{what}` is read, not yet supported on devices: this question is left out"
        ))
    };
    let as_text = |what: &str| {
        Mapped::Standin(
            QuestionType::Text,
            format!("`{what}` is read, not yet supported on devices: asked as text for now"),
        )
    };
    if let Some(multiple) = match name {
        "select_one_from_file" => Some(false),
        "select_multiple_from_file" => Some(true),
        _ => None,
    } {
        return from_file(name, list, multiple);
    }
    // Whatever the model itself parses (its list of types grows) is its own type.
    let written = format!("{name} {list}");
    if let Ok(t) = written.trim().parse::<QuestionType>() {
        if name != "hidden" || !calculation {
            return Mapped::Type(t);
        }
    }
    match name {
        "text" => Mapped::Type(QuestionType::Text),
        "integer" => Mapped::Type(QuestionType::Integer),
        "decimal" => Mapped::Type(QuestionType::Decimal),
        "date" => Mapped::Type(QuestionType::Date),
        "geopoint" => Mapped::Type(QuestionType::Geopoint),
        "note" => Mapped::Type(QuestionType::Note),
        "calculate" => Mapped::Type(QuestionType::Calculate),
        "image" => Mapped::Type(QuestionType::Image),
        "select_one" => Mapped::Type(QuestionType::SelectOne(list)),
        "select_multiple" => Mapped::Type(QuestionType::SelectMultiple(list)),
        "select_one_external" => Mapped::Standin(
            QuestionType::SelectOne(list),
            "`select_one_external`: its choices come from the `external_choices` sheet \
             (a CSV beside the form on ODK); devices offer them as an ordinary list"
                .into(),
        ),
        "rank" => Mapped::Standin(
            QuestionType::SelectMultiple(list),
            "`rank` is read, not yet supported on devices: asked as select_multiple for \
             now (the order is not kept)"
                .into(),
        ),
        "time" | "datetime" | "barcode" => as_text(name),
        "range" => Mapped::Standin(
            QuestionType::Decimal,
            "`range` is read, not yet supported on devices: asked as a number for now \
             (its start, end and step are not enforced)"
                .into(),
        ),
        "hidden" if calculation => Mapped::Standin(
            QuestionType::Calculate,
            "`hidden` with a calculation is kept as a calculate".into(),
        ),
        other => later(other),
    }
}

/// `select_one_from_file fruits.csv`: a select whose list is the attached file, by its
/// name (the form model reads a list named like an attached file from the file).
fn from_file(name: &str, file: String, multiple: bool) -> Mapped {
    // `.xml` and `.geojson` lists are kept by name: the reader warns that devices
    // offer no choices until a CSV is attached (see `missing_files`).
    let lower = file.to_ascii_lowercase();
    let other_kind = lower.ends_with(".xml") || lower.ends_with(".geojson");
    if !other_kind && !crate::model::is_data_file_name(&file) {
        return Mapped::Error(format!(
            "`{name} {file}`: the file must be a CSV file named like `fruits.csv` (no folder)"
        ));
    }
    Mapped::Type(if multiple {
        QuestionType::SelectMultiple(file)
    } else {
        QuestionType::SelectOne(file)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(name: &'static str, list: Option<&str>, or_other: bool) -> Parsed {
        Parsed::Question {
            name,
            list: list.map(str::to_string),
            or_other,
        }
    }

    #[test]
    fn every_spelling_reads() {
        assert_eq!(
            parse("select one from YN"),
            Ok(q("select_one", Some("YN"), false))
        );
        assert_eq!(
            parse("select all that apply from fruit"),
            Ok(q("select_multiple", Some("fruit"), false))
        );
        assert_eq!(
            parse("select_one yn or_other"),
            Ok(q("select_one", Some("yn"), true))
        );
        assert_eq!(
            parse("select one yn"),
            Ok(q("select_one", Some("yn"), false))
        );
        assert_eq!(parse("GPS"), Ok(q("geopoint", None, false)));
        assert_eq!(parse("phone number"), Ok(q("phonenumber", None, false)));
        assert_eq!(parse("dateTime"), Ok(q("datetime", None, false)));
        assert_eq!(
            parse("begin loop over fruit"),
            Ok(Parsed::Begin(Control::Loop, Some("fruit".into())))
        );
        assert_eq!(parse("end_repeat"), Ok(Parsed::End(Control::Repeat)));
        assert_eq!(
            parse("begin group"),
            Ok(Parsed::Begin(Control::Group, None))
        );
        assert_eq!(
            to_model("select_one_from_file", Some("fruits.csv"), false),
            Mapped::Type(QuestionType::SelectOne("fruits.csv".into()))
        );
        assert_eq!(
            to_model("select_multiple_from_file", Some("fruits.csv"), false),
            Mapped::Type(QuestionType::SelectMultiple("fruits.csv".into()))
        );
        // Other kinds of list file are kept by name (the reader warns they are not read).
        assert_eq!(
            to_model("select_one_from_file", Some("places.xml"), false),
            Mapped::Type(QuestionType::SelectOne("places.xml".into()))
        );
        for bad in ["fruits", "a/fruits.csv"] {
            assert!(
                matches!(
                    to_model("select_one_from_file", Some(bad), false),
                    Mapped::Error(_)
                ),
                "{bad}"
            );
        }
        let err = parse("integr").unwrap_err();
        assert!(err.contains("did you mean `integer`"), "{err}");
        assert!(err.contains("select_one, select_multiple"), "{err}");
        assert!(parse("select_one")
            .unwrap_err()
            .contains("needs a choice list"));
        assert!(parse("integer yn")
            .unwrap_err()
            .contains("takes no choice list"));
    }
}
