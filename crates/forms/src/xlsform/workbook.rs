//! The workbook file: `.xlsx` and `.xlsm` (a zip, checked for its unpacked size before
//! anything is inflated) and old Excel `.xls` (checked for its size), read with
//! calamine into [`Sheet`]s of the text each cell shows its author, as the reference
//! converter turns cells into text.

use calamine::{Data, Reader};

use super::{read_sheets, Reading, Sheet, XlsFormError};
use crate::model::{DataFile, Form};

/// The most a workbook may unpack to: an XLSForm of a long survey unpacks to a few MB;
/// more is a zip bomb, refused before anything is inflated.
pub const MAX_UNPACKED_BYTES: u64 = 64 * 1024 * 1024;

/// The largest `.xls` file read. An `.xls` is not compressed, so its size bounds what
/// reading it holds; a long survey's is well under 1 MB.
pub const MAX_XLS_BYTES: usize = 16 * 1024 * 1024;

/// The first bytes of an OLE2 compound file, which `.xls` workbooks are.
const OLE2: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

fn file_error(message: String) -> Vec<XlsFormError> {
    vec![XlsFormError {
        sheet: String::new(),
        row: 0,
        column: None,
        message,
    }]
}

/// Read an XLSForm `.xlsx` file (bytes) into a form, without a file name and dropping
/// the warnings (see [`read_workbook`]).
pub fn read_xlsx(bytes: &[u8]) -> Result<Form, Vec<XlsFormError>> {
    read_workbook(bytes, "", &[]).map(|r| r.form)
}

/// Read an XLSForm workbook (`.xlsx`, `.xlsm` or `.xls`, told apart by their first
/// bytes) into a form and its warnings. `file_name` is the uploaded file's name: the
/// form id when its settings give none. `files` are the CSV files uploaded beside it
/// (see [`read_sheets`](super::read_sheets)).
pub fn read_workbook(
    bytes: &[u8],
    file_name: &str,
    files: &[DataFile],
) -> Result<Reading, Vec<XlsFormError>> {
    let xls = bytes.starts_with(&OLE2);
    if xls {
        if bytes.len() > MAX_XLS_BYTES {
            return Err(file_error(format!(
                "the .xls workbook is {} bytes; at most {MAX_XLS_BYTES}",
                bytes.len()
            )));
        }
    } else {
        check_unpacked_size(bytes).map_err(file_error)?;
    }
    // The reader is third-party code on outside bytes: a panic in it is a refused file.
    std::panic::catch_unwind(|| sheets(bytes, xls))
        .unwrap_or_else(|_| {
            Err(file_error(if xls {
                "the .xls workbook is damaged and cannot be read; open it in Excel or \
                 LibreOffice and save it as .xlsx"
                    .into()
            } else {
                "the workbook is damaged and cannot be read".into()
            }))
        })
        .and_then(|sheets| read_sheets(&sheets, file_name, files))
}

/// Refuse a workbook whose parts, as its zip directory declares them, unpack to more
/// than [`MAX_UNPACKED_BYTES`].
fn check_unpacked_size(bytes: &[u8]) -> Result<(), String> {
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not an .xlsx workbook: {e}"))?;
    // Unknown when the parts use data descriptors (Excel's and openpyxl's do not).
    let declared = archive.decompressed_size().unwrap_or(0);
    if declared > u128::from(MAX_UNPACKED_BYTES) {
        return Err(format!(
            "the workbook unpacks to {declared} bytes; at most {MAX_UNPACKED_BYTES}"
        ));
    }
    Ok(())
}

fn sheets(bytes: &[u8], xls: bool) -> Result<Vec<Sheet>, Vec<XlsFormError>> {
    let cursor = std::io::Cursor::new(bytes);
    if xls {
        let mut book: calamine::Xls<_> = calamine::open_workbook_from_rs(cursor).map_err(|e| {
            file_error(format!(
                "the .xls workbook cannot be read ({e}); open it in Excel or LibreOffice \
                 and save it as .xlsx"
            ))
        })?;
        all_sheets(&mut book)
    } else {
        let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(cursor)
            .map_err(|e| file_error(format!("not an .xlsx workbook: {e}")))?;
        all_sheets(&mut book)
    }
}

fn all_sheets<R, W>(book: &mut W) -> Result<Vec<Sheet>, Vec<XlsFormError>>
where
    R: std::io::Read + std::io::Seek,
    W: Reader<R>,
    W::Error: std::fmt::Display,
{
    let mut sheets = Vec::new();
    for name in book.sheet_names() {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| file_error(format!("sheet `{name}` cannot be read: {e}")))?;
        let first_row = range.start().map_or(1, |(row, _)| row as usize + 1);
        // Columns left of the used range are empty: keep positions as the sheet has them.
        let skip = range.start().map_or(0, |(_, col)| col as usize);
        let rows = range
            .rows()
            .map(|cells| {
                std::iter::repeat_n(String::new(), skip)
                    .chain(cells.iter().map(cell_text))
                    .collect()
            })
            .collect();
        sheets.push(Sheet {
            name,
            first_row,
            rows,
        });
    }
    Ok(sheets)
}

/// A cell as the text its author sees, as the reference converter writes it: whole
/// numbers without `.0`, booleans `TRUE`/`FALSE`, a date `YYYY-MM-DD`, a date and time
/// `YYYY-MM-DD HH:MM:SS`, a time `HH:MM:SS`; non-breaking spaces as spaces.
pub(super) fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.replace('\u{a0}', " "),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) if dt.is_duration() => {
            let secs = (dt.as_f64() * 86_400.0).round() as i64;
            format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
        }
        Data::DateTime(dt) => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            let time = (h, mi, s) != (0, 0, 0);
            if dt.as_f64() < 1.0 {
                // A time alone (Excel's day 0).
                format!("{h:02}:{mi:02}:{s:02}")
            } else if time {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02}")
            }
        }
        Data::DateTimeIso(s) => s.replacen('T', " ", 1),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => e.to_string(),
    }
}

fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{ExcelDateTime, ExcelDateTimeType};

    #[test]
    fn cells_read_as_their_author_sees_them() {
        let date = |v| Data::DateTime(ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false));
        assert_eq!(cell_text(&Data::Float(1.0)), "1");
        assert_eq!(cell_text(&Data::Float(2026112201.0)), "2026112201");
        assert_eq!(cell_text(&Data::Float(0.5)), "0.5");
        assert_eq!(cell_text(&Data::Bool(true)), "TRUE");
        assert_eq!(cell_text(&date(44662.0)), "2022-04-11");
        assert_eq!(cell_text(&date(44662.685)), "2022-04-11 16:26:24");
        assert_eq!(cell_text(&date(0.75)), "18:00:00");
        assert_eq!(cell_text(&Data::String("a\u{a0}b".into())), "a b");
    }
}
