//! Attached data files and lookups at compile: which lists are files, the tables
//! `pulldata()` and `instance()` read, and the checks of their columns.

use super::*;

/// The data file a list name that looks like one (`fruits.csv`, `places.xml`) would
/// be, with the message when it is not a supported kind.
pub(super) fn file_list_kind(list: &str) -> Option<Result<(), String>> {
    let lower = list.to_ascii_lowercase();
    if lower.ends_with(".csv") {
        Some(Ok(()))
    } else if lower.ends_with(".xml") || lower.ends_with(".geojson") {
        Some(Err(format!(
            "choices from `{list}`: only CSV files are supported here; save the list as a \
             CSV file (columns `name`, `label`) and use that"
        )))
    } else {
        None
    }
}

/// The question a select's list names when it is written `${name}` (XLSForm's choices
/// from earlier repeat answers, `select_one ${child_name}`): `child_name`.
pub fn dynamic_list_name(list: &str) -> Option<&str> {
    let name = list.strip_prefix("${")?.strip_suffix('}')?.trim();
    (!name.is_empty()).then_some(name)
}

/// The message for an attached file the form names but does not have.
pub(crate) fn missing_file(name: &str) -> String {
    format!("needs the file `{name}`: upload it beside the workbook")
}

/// The `parameters` of the first select (in document order) whose list is `list`.
pub(crate) fn first_select_parameters(items: &[Item], list: &str) -> Option<String> {
    Item::questions(items)
        .find(|q| q.qtype.list() == Some(list))
        .map(|q| q.parameters.clone().unwrap_or_default())
}

/// A choice list as a table: `name`, `label` (in `lang`) and its further columns.
pub(super) fn list_table(list: &str, choices: &[Choice], lang: &str) -> DataFile {
    let mut columns = vec!["name".to_string(), "label".to_string()];
    for c in choices {
        for k in c.columns.keys() {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    let rows = choices
        .iter()
        .map(|c| {
            let mut row = vec![
                c.name.clone(),
                c.label.get(lang, lang).unwrap_or_default().to_string(),
            ];
            row.extend(
                columns[2..]
                    .iter()
                    .map(|k| c.columns.get(k).cloned().unwrap_or_default()),
            );
            row
        })
        .collect();
    DataFile {
        name: list.to_string(),
        columns,
        rows,
    }
}

/// A table `pulldata()` or `instance()` reads: an attached file, by its place in the
/// form's `data_files` (not copied: a file may be 2 MiB), or a table built at compile
/// (a choice list's, a missing file's empty stand-in).
#[derive(Debug)]
pub(crate) enum Table {
    /// `Form::data_files[i]`.
    File(usize),
    /// Built at compile.
    Built(DataFile),
}

impl Table {
    /// The table's data, in `form`.
    pub(crate) fn data<'a>(&'a self, form: &'a Form) -> &'a DataFile {
        match self {
            Table::File(i) => &form.data_files[*i],
            Table::Built(data) => data,
        }
    }
}

impl Form {
    /// The attached file named `name`, with its place in `data_files`.
    fn data_file_at(&self, name: &str) -> Option<(usize, &DataFile)> {
        self.data_files
            .iter()
            .enumerate()
            .find(|(_, f)| f.name == name)
    }

    /// Check one table an expression reads, adding it to `tables` and the file to
    /// `used`.
    pub(super) fn check_table(
        &self,
        table_use: &TableUse,
        tables: &mut BTreeMap<String, Table>,
        used: &mut BTreeSet<String>,
    ) -> Result<(), String> {
        let (name, wanted, what): (String, Vec<&str>, &str) = match table_use {
            TableUse::Pulldata {
                file,
                column,
                key_column,
                ..
            } => {
                let Some(file) = file else {
                    return Err("pulldata(): write the file's name in quotes as the first \
                                argument, like pulldata('fruits', 'color', 'name', ${fruit})"
                        .into());
                };
                let stem = file.strip_suffix(".csv").unwrap_or(file);
                let full = format!("{stem}.csv");
                let Some((at, data)) = self.data_file_at(&full) else {
                    if self.missing_files.contains(&full) {
                        tables
                            .entry(stem.to_string())
                            .or_insert_with(|| Table::Built(DataFile::placeholder(&full)));
                        return Ok(());
                    }
                    return Err(missing_file(&full));
                };
                used.insert(data.name.clone());
                tables.entry(stem.to_string()).or_insert(Table::File(at));
                let cols = [column, key_column]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                (stem.to_string(), cols, "pulldata()")
            }
            TableUse::Lookup {
                table,
                columns,
                field,
                ..
            } => {
                let full = format!("{table}.csv");
                let file = self.data_file_at(&full);
                let list = self.choices.get(table.as_str());
                match (list, file) {
                    (Some(_), Some(_)) => {
                        return Err(format!(
                            "instance('{table}') is both the choice list `{table}` and the \
                             file `{full}`: rename one"
                        ))
                    }
                    (Some(cs), None) => {
                        tables.entry(table.clone()).or_insert_with(|| {
                            Table::Built(list_table(table, cs, &self.default_language))
                        });
                    }
                    (None, Some((at, f))) => {
                        used.insert(f.name.clone());
                        tables.entry(table.clone()).or_insert(Table::File(at));
                    }
                    (None, None) if self.missing_files.contains(&full) => {
                        tables
                            .entry(table.clone())
                            .or_insert_with(|| Table::Built(DataFile::placeholder(&full)));
                        return Ok(());
                    }
                    (None, None) => {
                        return Err(format!(
                            "instance('{table}'): there is no choice list `{table}`; for a \
                             file, {}",
                            missing_file(&full)
                        ))
                    }
                }
                let mut cols: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
                cols.push(field);
                (table.clone(), cols, "the lookup")
            }
        };
        let data = tables[&name].data(self);
        for c in wanted {
            if data.column(c).is_none() {
                return Err(format!(
                    "{what}: `{}` has no column `{c}` (its columns: {})",
                    if data.name.ends_with(".csv") {
                        &data.name
                    } else {
                        &name
                    },
                    data.columns.join(", ")
                ));
            }
        }
        Ok(())
    }
}
