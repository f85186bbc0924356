//! An export as one `.xlsx` workbook: a sheet of records and a sheet per repeat
//! group, written with `rust_xlsxwriter` in its constant-memory mode: each sheet's
//! rows go to a temporary file as they are written (a row is flushed when the next
//! starts), so a workbook of a million rows holds one row per sheet in memory, not
//! the whole sheet. Rows are written in order, as that mode requires.

use std::io::{Seek, Write};

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::Cell;

/// The most rows one sheet holds (the header row included), as Excel allows.
pub const MAX_ROWS: u32 = 1_048_576;

/// Why a workbook could not be written.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    /// A sheet would need more rows than a spreadsheet holds.
    #[error(
        "the sheet `{0}` would have more than {MAX_ROWS} rows: narrow the filters or export CSV"
    )]
    TooManyRows(String),
    /// The writer failed (a temporary file, say).
    #[error("writing the workbook: {0}")]
    Xlsx(#[from] XlsxError),
}

/// A workbook being written: its sheets, each with the next row to write.
pub struct Book {
    workbook: Workbook,
    sheets: Vec<(String, u32)>,
}

impl Book {
    /// A workbook with these sheets, each a name and its column titles (written as
    /// the first row, in bold). Names are made valid for a sheet (at most 31
    /// characters, none of `[]:*?/\`) and unique.
    pub fn new(sheets: &[(String, Vec<String>)]) -> Result<Book, BookError> {
        let mut workbook = Workbook::new();
        let bold = Format::new().set_bold();
        let mut names: Vec<(String, u32)> = Vec::new();
        for (name, titles) in sheets {
            let name = sheet_name(name, names.iter().map(|(n, _)| n.as_str()));
            let sheet = workbook.add_worksheet_with_constant_memory();
            sheet.set_name(&name)?;
            for (col, title) in titles.iter().enumerate() {
                sheet.write_string_with_format(0, column(col)?, title, &bold)?;
            }
            names.push((name, 1));
        }
        Ok(Book {
            workbook,
            sheets: names,
        })
    }

    /// Write a row of cells to the sheet numbered `sheet` (in the order given to
    /// [`Book::new`]), after the rows already there. Text is always a string cell
    /// (never a formula, whatever it starts with), a number a number cell.
    pub fn row(&mut self, sheet: usize, cells: &[Cell]) -> Result<(), BookError> {
        let (name, next) = &mut self.sheets[sheet];
        if *next >= MAX_ROWS {
            return Err(BookError::TooManyRows(name.clone()));
        }
        let row = *next;
        *next += 1;
        let ws = self.workbook.worksheet_from_index(sheet)?;
        for (col, cell) in cells.iter().enumerate() {
            let col = column(col)?;
            match cell {
                Cell::Text(t) if t.is_empty() => {}
                Cell::Number(n) => match n.parse::<f64>() {
                    Ok(x) if x.is_finite() => {
                        ws.write_number(row, col, x)?;
                    }
                    _ => {
                        ws.write_string(row, col, n)?;
                    }
                },
                Cell::Text(t) => {
                    ws.write_string(row, col, t)?;
                }
            }
        }
        Ok(())
    }

    /// Write the whole workbook to `out` (a temporary file, then streamed).
    pub fn finish<W: Write + Seek + Send>(mut self, out: W) -> Result<(), BookError> {
        self.workbook.save_to_writer(out)?;
        Ok(())
    }
}

fn column(index: usize) -> Result<u16, XlsxError> {
    u16::try_from(index).map_err(|_| XlsxError::RowColumnLimitError)
}

/// `name` as a valid sheet name not among `taken`.
fn sheet_name<'a>(name: &str, taken: impl Iterator<Item = &'a str> + Clone) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect();
    let clean = clean.trim_matches('\'');
    let base: String = if clean.is_empty() { "Sheet" } else { clean }
        .chars()
        .take(31)
        .collect();
    let free = |n: &str| !taken.clone().any(|t| t.eq_ignore_ascii_case(n));
    if free(&base) {
        return base;
    }
    (2..)
        .map(|i| {
            let suffix = format!("_{i}");
            let head: String = base.chars().take(31 - suffix.len()).collect();
            head + &suffix
        })
        .find(|n| free(n))
        .unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let taken = ["child".to_string()];
        let it = taken.iter().map(String::as_str);
        assert_eq!(sheet_name("child", it.clone()), "child_2");
        assert_eq!(sheet_name("a/b:c", it.clone()), "a_b_c");
        assert_eq!(sheet_name(&"x".repeat(40), it).chars().count(), 31);
    }
}
