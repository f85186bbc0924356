//! Data files attached to a form (XLSForm's "media" CSV files): the choices of
//! `select_one_from_file fruits.csv`, the table `pulldata('fruits', ...)` reads and
//! `instance('fruits')/root/item[...]` looks up.
//!
//! A form carries the files it uses in its definition ([`super::Form::data_files`]), so
//! devices get them with the form and the server validates the same way.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Choice, Labels};

/// The largest data file accepted, in bytes (2 MiB).
pub const MAX_DATA_FILE_BYTES: usize = 2 * 1024 * 1024;

/// The most rows (after the header) a data file may have.
pub const MAX_DATA_FILE_ROWS: usize = 20_000;

/// A CSV file attached to a form: its name (`fruits.csv`), its header and its rows.
///
/// In a form definition's JSON, under `data_files`:
///
/// ```json
/// { "name": "fruits.csv", "columns": ["name", "label", "color"],
///   "rows": [["apple", "Apple", "red"], ["kiwi", "Kiwi", "green"]] }
/// ```
///
/// Every row has exactly as many cells as there are columns (short rows are padded
/// with empty cells when read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    /// The file's name, as the form refers to it: a plain file name ending `.csv`.
    pub name: String,
    /// The header row: column names.
    pub columns: Vec<String>,
    /// The rows after the header, each as long as `columns`.
    pub rows: Vec<Vec<String>>,
}

/// Whether `name` is a plain file name ending `.csv` (no folder, no control characters).
pub fn is_data_file_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.len() > 4
        && lower.ends_with(".csv")
        && name.len() <= 255
        && !name.starts_with('.')
        && !name
            .chars()
            .any(|c| matches!(c, '/' | '\\' | ':') || c.is_control())
}

impl DataFile {
    /// Read a CSV file: UTF-8 with or without a byte-order mark, comma-separated, the
    /// first row the header. At most [`MAX_DATA_FILE_BYTES`] and
    /// [`MAX_DATA_FILE_ROWS`] rows; `name` must be a plain file name ending `.csv`.
    /// Headings and cells are trimmed; blank rows are skipped; rows longer than the
    /// header are an error, shorter ones are padded.
    pub fn from_csv(name: &str, bytes: &[u8]) -> Result<DataFile, String> {
        if !is_data_file_name(name) {
            return Err(format!(
                "`{}` is not a CSV file name: a plain file name ending `.csv`, with no folder",
                name.chars().take(80).collect::<String>().escape_debug()
            ));
        }
        if bytes.len() > MAX_DATA_FILE_BYTES {
            return Err(format!(
                "`{name}` is {} bytes: a data file may have at most {} bytes (2 MiB)",
                bytes.len(),
                MAX_DATA_FILE_BYTES
            ));
        }
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = std::str::from_utf8(bytes).map_err(|e| {
            format!(
                "`{name}` is not UTF-8 text (at byte {}): save it as \"CSV UTF-8\"",
                e.valid_up_to()
            )
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut columns: Option<Vec<String>> = None;
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| format!("`{name}`, line {}: {e}", i + 1))?;
            let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
            if cells.iter().all(String::is_empty) {
                continue;
            }
            let Some(header) = &columns else {
                let mut seen = std::collections::BTreeSet::new();
                for c in &cells {
                    if c.is_empty() {
                        return Err(format!("`{name}`: a column of the header row has no name"));
                    }
                    if !seen.insert(c.as_str()) {
                        return Err(format!("`{name}`: the column `{c}` appears twice"));
                    }
                }
                columns = Some(cells);
                continue;
            };
            if cells.len() > header.len() && cells[header.len()..].iter().any(|c| !c.is_empty()) {
                let line = record.position().map(|p| p.line()).unwrap_or(i as u64 + 1);
                return Err(format!(
                    "`{name}`, line {line}: {} cells, but the header has {} columns",
                    cells.len(),
                    header.len()
                ));
            }
            if rows.len() == MAX_DATA_FILE_ROWS {
                return Err(format!(
                    "`{name}` has more than {MAX_DATA_FILE_ROWS} rows: a data file may have at most {MAX_DATA_FILE_ROWS}"
                ));
            }
            let mut cells = cells;
            cells.resize(header.len(), String::new());
            rows.push(cells);
        }
        let Some(columns) = columns else {
            return Err(format!("`{name}` is empty: it needs a header row"));
        };
        Ok(DataFile {
            name: name.to_string(),
            columns,
            rows,
        })
    }

    /// The name forms use in `pulldata('fruits', ...)` and `instance('fruits')`: the
    /// file name without `.csv`.
    pub fn instance_name(&self) -> &str {
        let n = self.name.len();
        if n > 4 && self.name.is_char_boundary(n - 4) {
            &self.name[..n - 4]
        } else {
            &self.name
        }
    }

    /// The stand-in for a file the form names but was published without
    /// ([`Form::missing_files`](crate::Form::missing_files)): no columns, no rows;
    /// `pulldata()` and lookups on it give nothing.
    pub(crate) fn placeholder(name: &str) -> DataFile {
        DataFile {
            name: name.to_string(),
            columns: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Whether this is the stand-in for a missing file (a real file has a header).
    pub(crate) fn is_placeholder(&self) -> bool {
        self.columns.is_empty()
    }

    /// The index of the column named `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The file's rows as choices: the `value` column (default `name`) is each choice's
    /// name; the `label` column when given, else `label` and every `label::Language
    /// (code)` / `label:Language` column, its label; every other column a column for
    /// choice filters. Rows with an empty value are skipped. An error names a column
    /// the file lacks.
    pub fn choices(&self, value: Option<&str>, label: Option<&str>) -> Result<Vec<Choice>, String> {
        let value_col = value.unwrap_or("name");
        let v = self.column(value_col).ok_or_else(|| {
            format!(
                "`{}` has no column `{value_col}` (for the choices' values)",
                self.name
            )
        })?;
        // Label columns, with their language code ("" for none).
        let mut labels: Vec<(usize, String)> = Vec::new();
        match label {
            Some(l) => {
                let i = self.column(l).ok_or_else(|| {
                    format!(
                        "`{}` has no column `{l}` (for the choices' labels)",
                        self.name
                    )
                })?;
                labels.push((i, String::new()));
            }
            None => {
                for (i, c) in self.columns.iter().enumerate() {
                    if let Some(code) = label_language(c) {
                        labels.push((i, code));
                    }
                }
            }
        }
        let mut out = Vec::new();
        for row in &self.rows {
            let name = row.get(v).map(String::as_str).unwrap_or("");
            if name.is_empty() {
                continue;
            }
            let mut label = Labels::new();
            for (i, code) in &labels {
                if let Some(text) = row.get(*i).filter(|t| !t.is_empty()) {
                    label.0.insert(code.clone(), text.clone());
                }
            }
            let columns: BTreeMap<String, String> = self
                .columns
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != v && !labels.iter().any(|(l, _)| l == i))
                .filter_map(|(i, c)| {
                    let text = row.get(i)?;
                    (!text.is_empty()).then(|| (c.clone(), text.clone()))
                })
                .collect();
            out.push(Choice {
                name: name.to_string(),
                label,
                columns,
            });
        }
        Ok(out)
    }

    /// `pulldata`: the `column` cell of the first row whose `key_column` cell is `key`
    /// (empty when no row matches). `None` when a column is missing.
    pub fn pull(&self, column: &str, key_column: &str, key: &str) -> Option<&str> {
        if self.is_placeholder() {
            return Some("");
        }
        let c = self.column(column)?;
        let k = self.column(key_column)?;
        Some(
            self.rows
                .iter()
                .find(|r| r.get(k).map(String::as_str) == Some(key))
                .and_then(|r| r.get(c))
                .map(String::as_str)
                .unwrap_or(""),
        )
    }
}

/// The language code of a label heading: `label` → `""`, `label::English (en)` →
/// `en`, `label:es` → `es`; `None` for other headings.
fn label_language(heading: &str) -> Option<String> {
    let lower = heading.to_ascii_lowercase();
    if lower == "label" {
        return Some(String::new());
    }
    let rest = lower
        .strip_prefix("label::")
        .or_else(|| lower.strip_prefix("label:"))?;
    let original = &heading[heading.len() - rest.len()..];
    let text = original.trim();
    let code = match (text.rfind('('), text.ends_with(')')) {
        (Some(open), true) => text[open + 1..text.len() - 1].trim(),
        _ => text,
    };
    (!code.is_empty()).then(|| code.to_string())
}

/// Parse a from-file select's `parameters`: `value=col label=col` (other parameters,
/// like `randomize=true`, are passed on). Returns (value column, label column).
pub(crate) fn value_label_params(
    parameters: Option<&str>,
) -> Result<(Option<String>, Option<String>), String> {
    let mut value = None;
    let mut label = None;
    for part in parameters
        .unwrap_or("")
        .split([' ', ',', ';'])
        .filter(|p| !p.is_empty())
    {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!(
                "`{part}` is not a parameter: write `value=column label=column`"
            ));
        };
        match k.trim().to_ascii_lowercase().as_str() {
            "value" => value = Some(v.trim().to_string()),
            "label" => label = Some(v.trim().to_string()),
            _ => {}
        }
    }
    Ok((value, label))
}

#[cfg(test)]
mod form_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_csv_with_bom_languages_and_quotes() {
        let csv = "\u{feff}name,label::English (en),label::Español (es),color\n\
                   apple,Apple,Manzana,red\n\
                   \"kiwi\",\"Kiwi, green\",Kiwi\n\
                   \n";
        let f = DataFile::from_csv("fruits.csv", csv.as_bytes()).unwrap();
        assert_eq!(
            f.columns,
            [
                "name",
                "label::English (en)",
                "label::Español (es)",
                "color"
            ]
        );
        assert_eq!(f.rows.len(), 2);
        assert_eq!(f.rows[1], ["kiwi", "Kiwi, green", "Kiwi", ""]);
        assert_eq!(f.instance_name(), "fruits");
        let choices = f.choices(None, None).unwrap();
        assert_eq!(choices[0].name, "apple");
        assert_eq!(choices[0].label.get("es", "en"), Some("Manzana"));
        assert_eq!(
            choices[0].columns.get("color").map(String::as_str),
            Some("red")
        );
        assert!(choices[1].columns.is_empty());
        let by_color = f.choices(Some("color"), Some("name")).unwrap();
        assert_eq!(by_color.len(), 1);
        assert_eq!(by_color[0].name, "red");
        assert_eq!(by_color[0].label.get("en", "en"), Some("apple"));
        let err = f.choices(Some("id"), None).unwrap_err();
        assert!(err.contains("no column `id`"), "{err}");
        assert_eq!(f.pull("color", "name", "apple"), Some("red"));
        assert_eq!(f.pull("color", "name", "pear"), Some(""));
        assert_eq!(f.pull("size", "name", "apple"), None);
    }

    #[test]
    fn refuses_bad_names_sizes_and_shapes() {
        for bad in [
            "",
            "fruits",
            "a/fruits.csv",
            "..\\x.csv",
            ".csv",
            "fruits.xml",
        ] {
            assert!(DataFile::from_csv(bad, b"name\n").is_err(), "{bad}");
        }
        let big = vec![b'a'; MAX_DATA_FILE_BYTES + 1];
        let err = DataFile::from_csv("big.csv", &big).unwrap_err();
        assert!(err.contains("2 MiB"), "{err}");
        let mut many = String::from("name\n");
        for i in 0..=MAX_DATA_FILE_ROWS {
            many.push_str(&format!("r{i}\n"));
        }
        let err = DataFile::from_csv("many.csv", many.as_bytes()).unwrap_err();
        assert!(err.contains("20000 rows"), "{err}");
        let err = DataFile::from_csv("x.csv", b"name\na,b\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(DataFile::from_csv("x.csv", b"")
            .unwrap_err()
            .contains("empty"));
        assert!(DataFile::from_csv("x.csv", b"a,a\n")
            .unwrap_err()
            .contains("twice"));
        assert!(DataFile::from_csv("x.csv", b"\xff\xfe")
            .unwrap_err()
            .contains("UTF-8"));
    }

    #[test]
    fn parameters_name_value_and_label_columns() {
        assert_eq!(
            value_label_params(Some("value=id label=name randomize=true")),
            Ok((Some("id".into()), Some("name".into())))
        );
        assert_eq!(value_label_params(None), Ok((None, None)));
        assert!(value_label_params(Some("value")).is_err());
    }

    proptest! {
        #[test]
        fn from_csv_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = DataFile::from_csv("x.csv", &bytes);
        }

        #[test]
        fn instance_paths_never_panic(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "instance(", "'fruits'", ")", "/", "root", "item", "[", "]", "name",
                    "=", "${a}", "label", "and", "(", ",", "'x'", ".", " ",
                ]),
                0..24,
            )
        ) {
            let src: String = parts.concat();
            let _ = crate::expr::parse(&src);
            let _ = crate::expr::compile_filter(&src, &|_| true, &|_| true);
        }

        #[test]
        fn from_csv_of_text_rows_are_rectangular(
            text in "[a-c,\"\\n\r ]{0,200}"
        ) {
            if let Ok(f) = DataFile::from_csv("x.csv", text.as_bytes()) {
                prop_assert!(f.rows.iter().all(|r| r.len() == f.columns.len()));
            }
        }
    }
}
