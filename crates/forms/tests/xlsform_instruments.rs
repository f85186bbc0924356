//! The three instruments are kept as XLSForm workbooks (`instruments/*.xlsx`, English
//! and Spanish); the JSON definitions the apps and the server load must be exactly what
//! those workbooks say.

#![cfg(feature = "xlsx")]

use forms::xlsform::read_xlsx;
use forms::Form;

#[test]
fn each_instruments_json_is_its_xlsform() {
    for name in ["household_survey", "literacy_checkin", "case_note"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("instruments");
        let bytes = std::fs::read(dir.join(format!("{name}.xlsx"))).unwrap();
        let from_xlsx = read_xlsx(&bytes).unwrap_or_else(|e| {
            panic!(
                "{name}.xlsx: {}",
                e.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        });
        let json = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        let from_json = Form::from_json(&json).unwrap();
        assert_eq!(
            from_xlsx, from_json,
            "{name}: the JSON differs from the workbook"
        );
    }
}

#[test]
fn a_file_that_is_not_a_workbook_is_a_clear_error() {
    let errors = read_xlsx(b"PK\x03\x04 not really").unwrap_err();
    assert!(
        errors[0].message.contains("not an .xlsx workbook"),
        "{errors:?}"
    );
    assert!(read_xlsx(b"").is_err());
}
