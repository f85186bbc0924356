//! The export's layout, CSV lines and cells, and its workbook, without a server.

use super::*;

#[test]
fn fields_are_quoted_and_formulas_defused() {
    let l = line(&[
        "a,b".into(),
        "say \"hi\"".into(),
        "=HYPERLINK(\"x\")".into(),
        "-3.5".into(),
        "two\nlines".into(),
    ]);
    assert_eq!(
        l,
        "\"a,b\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\",-3.5,\"two\nlines\"\r\n"
    );
}

#[test]
fn the_household_survey_lays_out_like_an_odk_export() {
    let form = forms::instruments::seed_forms()
        .into_iter()
        .find(|f| f.id == "household_survey")
        .unwrap();
    let layout = Layout::of(&form);
    let header = layout.main_header();
    assert!(header
        .starts_with("_id,_form_version,_created_by,_created_at,_neighborhood,_status,consent,"));
    assert!(header.contains(",home_devices,home_devices/computer,home_devices/tablet,"));
    assert!(
        !header.contains("age_years"),
        "repeat questions go to their own file"
    );
    assert_eq!(layout.repeat_names().collect::<Vec<_>>(), ["child"]);
    let child = layout.repeat_header("child").unwrap();
    assert!(child.starts_with("_parent_id,_index,age_years,hispanic,race,race/aian,"));
}

#[test]
fn answers_the_device_fills_are_exported_and_notes_are_not() {
    use forms::{Item, Question};
    let mut form = forms::instruments::seed_forms().remove(0);
    let meta = |name: &str| {
        Item::Question(Question::new(
            name,
            QuestionType::from_xlsform_name(name, None).unwrap(),
        ))
    };
    form.items.insert(0, meta("start"));
    form.items.push(meta("end"));
    form.items
        .push(Item::Question(Question::new("kept", QuestionType::Hidden)));
    form.items
        .push(Item::Question(Question::new("hello", QuestionType::Note)));
    let header = Layout::of(&form).main_header();
    for column in [",start,", ",end,", ",kept"] {
        assert!(header.contains(column), "{column} in {header}");
    }
    assert!(!header.contains("hello"), "{header}");
}

#[test]
fn a_select_multiple_from_an_attached_file_splits_into_its_rows() {
    use forms::{DataFile, Item, Question};
    let mut form = forms::instruments::seed_forms().remove(0);
    form.items.push(Item::Question(Question::new(
        "fruits",
        QuestionType::SelectMultiple("fruits.csv".into()),
    )));
    form.data_files =
        vec![DataFile::from_csv("fruits.csv", b"name,label\napple,Apple\nkiwi,Kiwi\n").unwrap()];
    let header = Layout::of(&form).main_header();
    assert!(
        header.contains(",fruits,fruits/apple,fruits/kiwi"),
        "{header}"
    );
}

#[test]
fn a_select_multiple_from_earlier_answers_has_its_answer_column_only() {
    use forms::{Item, Question};
    let mut form = forms::instruments::seed_forms().remove(0);
    form.items.push(Item::Question(Question::new(
        "in_school",
        QuestionType::SelectMultiple("${child_name}".into()),
    )));
    let header = Layout::of(&form).main_header();
    assert!(header.trim_end().ends_with(",in_school"), "{header}");
}
/// What a spreadsheet would run as a formula, and what breaks a CSV line, are
/// written safely in both formats. CSV: a text starting with `=`, `+`, `-` or
/// `@` (and not a number) gets a leading `'`, and a field with a comma, quote or
/// line break is quoted with its quotes doubled. `.xlsx`: every text is a string
/// cell, written as it is (no mark needed: a string cell is never a formula).
#[test]
fn commas_quotes_line_breaks_and_formulas_are_written_safely_in_both_formats() {
    use calamine::{Data, Reader, Xlsx};
    let layout = Layout::of_kind(RecordKind::Household).unwrap();
    let mut answers = Answers::new();
    answers
        .set("name", "=HYPERLINK(\"http://x\",\"y\")")
        .set("address", "1, \"Elm\"\nSt")
        .set("phone", "@SUM(A1)");
    let meta = ResponseMeta {
        id: "+id".into(),
        form_version: None,
        created_by: "-u".into(),
        created_at: 0,
        neighborhood: Some("-1".into()),
    };
    let cells = layout.main_cells(&meta, &answers, &Wording::values());
    let csv = csv_line(&cells);
    assert_eq!(
        csv,
        "'+id,'-u,1970-01-01T00:00:00+00:00,-1,,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",\
         \"1, \"\"Elm\"\"\nSt\",\"{\"\"phone\"\":\"\"@SUM(A1)\"\"}\"\r\n"
    );

    let titles = layout.main_titles(&Wording::values());
    let mut book = xlsx::Book::new(&[("households".into(), titles)]).unwrap();
    book.row(0, &cells).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    book.finish(&mut out).unwrap();
    let mut read: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(out.into_inner())).unwrap();
    let formulas = read.worksheet_formula("households").unwrap();
    assert!(formulas.used_cells().next().is_none(), "no formula cells");
    let range = read.worksheet_range("households").unwrap();
    let row: Vec<Data> = range.rows().nth(1).unwrap().to_vec();
    assert_eq!(row[0], Data::String("+id".into()));
    assert_eq!(row[1], Data::String("-u".into()));
    assert_eq!(row[3], Data::String("-1".into()), "a neighborhood is text");
    assert_eq!(
        row[5],
        Data::String("=HYPERLINK(\"http://x\",\"y\")".into())
    );
    assert_eq!(row[6], Data::String("1, \"Elm\"\nSt".into()));
    assert_eq!(row[7], Data::String(r#"{"phone":"@SUM(A1)"}"#.into()));
}

#[test]
fn labels_name_questions_and_choices_in_the_language_asked() {
    let form = forms::instruments::seed_forms()
        .into_iter()
        .find(|f| f.id == "literacy_checkin")
        .unwrap();
    let layout = Layout::of(&form);
    let mut answers = Answers::new();
    answers
        .set("who_read", "me sibling")
        .set("enjoyed", "okay")
        .set("read_days", 2);
    let meta = ResponseMeta {
        id: "r".into(),
        form_version: Some(1),
        created_by: "u".into(),
        created_at: 0,
        neighborhood: None,
    };
    let titles = layout.main_titles(&Wording::labels("es"));
    let cells = layout.main_cells(&meta, &answers, &Wording::labels("es"));
    let at = |name: &str| {
        let i = layout
            .main_titles(&Wording::values())
            .iter()
            .position(|t| t == name)
            .unwrap();
        (titles[i].clone(), cells[i].clone())
    };
    assert_eq!(
        at("who_read").1,
        Cell::Text("Yo, Un hermano o una hermana".into())
    );
    assert_eq!(at("enjoyed").1, Cell::Text("😐 Un poco".into()));
    assert_eq!(at("read_days").1, Cell::Number("2".into()));
    assert!(
        at("who_read/me").0.ends_with("/Yo"),
        "{:?}",
        at("who_read/me")
    );
    assert_eq!(at("who_read/me").1, Cell::Number("1".into()));
    assert_eq!(at("who_read/other_adult").1, Cell::Number("0".into()));
    assert_eq!(titles[0], "_id", "metadata keeps its names");
}
