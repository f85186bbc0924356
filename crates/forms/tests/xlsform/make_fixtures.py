"""Writes the XLSForm fixture workbooks beside this file, each as .xlsx (openpyxl) and
.xls (xlwt): one per alias, type, setting and column the reference converter (pyxform)
accepts and real workbooks use (issue 19). crates/forms/tests/xlsform_fixtures.rs reads
each and compares its outcome (the form's outline and warnings, or its errors) with
`<case>.expected`, the same for both formats.

Run: pip install openpyxl xlwt && python3 crates/forms/tests/xlsform/make_fixtures.py
[case ...] (only the named cases, when given).

Attached files: the CSV files of case `name` are written to `name.files/` beside it;
the test passes every `*.csv` there to the reader, as the Forms page passes the files
uploaded beside a workbook.
"""
import datetime
import os
import sys

import openpyxl
import xlwt

HERE = os.path.dirname(os.path.abspath(__file__))
SETTINGS = [["form_id", "version"], ["fixture", 3]]
YN = [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]]


def xlsx(name, sheets):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, datetime.datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm:ss"
                elif isinstance(cell.value, datetime.date):
                    cell.number_format = "yyyy-mm-dd"
    wb.save(os.path.join(HERE, f"{name}.xlsx"))


def xls(name, sheets):
    wb = xlwt.Workbook()
    date = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    stamp = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss")
    for title, rows in sheets:
        ws = wb.add_sheet(title)
        for i, r in enumerate(rows):
            for j, v in enumerate(r):
                if v is None or v == "":
                    continue
                if isinstance(v, datetime.datetime):
                    ws.write(i, j, v, stamp)
                elif isinstance(v, datetime.date):
                    ws.write(i, j, v, date)
                else:
                    ws.write(i, j, v)
    wb.save(os.path.join(HERE, f"{name}.xls"))


ONLY = set(sys.argv[1:])


def book(name, sheets, files=None):
    if ONLY and name not in ONLY:
        return
    xlsx(name, sheets)
    xls(name, sheets)
    if files:
        folder = os.path.join(HERE, f"{name}.files")
        os.makedirs(folder, exist_ok=True)
        for file_name, text in files.items():
            with open(os.path.join(folder, file_name), "w", encoding="utf-8", newline="") as f:
                f.write(text)


book("list_name_with_a_space", [
    ("survey", [["TYPE", "Name", "Label"], ["select_one yn", "ok", "OK?"]]),
    ("choices", [["list name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]]),
    ("settings", SETTINGS)])
book("label_one_colon", [
    ("survey", [["type", "name", "label:English", "label:Español", "hint:English"],
                ["text", "who", "Who?", "¿Quién?", "Full name"]]),
    ("settings", [["form_id", "default_language"], ["fixture", "English"]])])
book("bind_and_body_columns", [
    ("survey", [["type", "name", "label::English (en)", "bind::relevant", "bind::constraint",
                 "bind::jr:constraintMsg::English (en)", "body::appearance", "media::image::English (en)",
                 "bind::required", "bind::calculate"],
                ["integer", "n", "How many?", "", ". >= 0", "Not negative", "numbers", "n.png", "yes", ""],
                ["text", "why", "Why?", "${n} > 2", "", "", "multiline", "", "", ""],
                ["calculate", "twice", "", "", "", "", "", "", "", "${n} * 2"]]),
    ("settings", SETTINGS)])
book("jr_constraint_msg_single_colon", [
    ("survey", [["type", "name", "label", "constraint", "jr:constraintMsg", "bind:relevant"],
                ["integer", "age", "Age", ". < 120", "Too old", ""],
                ["text", "school", "School", "", "", "${age} > 4"]]),
    ("settings", SETTINGS)])
book("relevant_twice", [
    ("survey", [["type", "name", "label", "relevant", "bind::relevant"], ["text", "a", "A", "", ""]]),
    ("settings", SETTINGS)])
book("duplicate_label", [
    ("survey", [["type", "name", "label", "label"], ["text", "a", "A", "B"]]),
    ("settings", SETTINGS)])
book("old_select_syntax", [
    ("survey", [["type", "name", "label"],
                ["select one from yn", "one", "One?"],
                ["select all that apply from yn", "many", "Many?"],
                ["select one yn", "again", "Again?"],
                ["select_multiple yn", "more", "More?"]]),
    ("choices", YN), ("settings", SETTINGS)])
book("or_other", [
    ("survey", [["type", "name", "label"], ["select_one yn or_other", "pick", "Pick"]]),
    ("choices", YN), ("settings", SETTINGS)])
book("no_form_id", [
    ("survey", [["type", "name", "label"], ["text", "a", "A"]]),
    ("settings", [["version", "instance_name"], [2, "concat('a', ${a})"]])])
book("id_string_and_title", [
    ("survey", [["type", "name", "label"], ["text", "a", "A"]]),
    ("settings", [["id_string", "title", "version"], ["from_id_string", "A Title", "7"]])])
book("date_cells", [
    ("survey", [["type", "name", "label", "default"],
                ["date", "when", "When?", datetime.date(2022, 4, 11)],
                ["integer", "n", "N", 1],
                ["select_one nums", "pick", "Pick", ""]]),
    ("choices", [["list_name", "name", "label"], ["nums", 1, "One"], ["nums", 2, "Two"]]),
    ("settings", [["form_id", "version"], ["fixture", datetime.datetime(2022, 4, 11, 16, 26, 47)]])])
book("single_sheet_not_named_survey", [
    ("Sheet1", [["type", "name", "label"], ["text", "a", "A"]])])
book("type_aliases", [
    ("survey", [["type", "name", "label", "calculation"],
                ["gps", "where", "Where?", ""],
                ["hidden", "secret", "", "1 + 1"],
                ["note", "", "Just a note", ""],
                ["select_one_external town", "town", "Town", ""],
                ["begin loop over yn", "each", "Each %(label)s", ""],
                ["integer", "count", "How many %(label)s?", ""],
                ["end loop", "", "", ""],
                ["string", "s", "S", ""],
                ["int", "i", "I", ""]]),
    ("choices", YN),
    ("external_choices", [["list_name", "name", "label"], ["town", "a", "Ashford"]]),
    ("settings", SETTINGS)])
book("types_not_yet_on_devices", [
    ("survey", [["type", "name", "label", "parameters"],
                ["time", "t", "T", ""], ["datetime", "dt", "DT", ""],
                ["range", "r", "R", "start=1 end=5 step=1"], ["rank yn", "rk", "RK", ""],
                ["audio", "au", "AU", ""], ["video", "vi", "VI", ""], ["file", "fi", "FI", ""],
                ["barcode", "bc", "BC", ""], ["acknowledge", "ack", "ACK", ""],
                ["trigger", "tr", "TR", ""], ["geotrace", "gt", "GT", ""],
                ["geoshape", "gs", "GS", ""], ["start", "start", "", ""], ["end", "end", "", ""],
                ["today", "today", "", ""], ["deviceid", "deviceid", "", ""],
                ["simserial", "simserial", "", ""], ["subscriberid", "subscriberid", "", ""],
                ["phonenumber", "phonenumber", "", ""], ["phone number", "phone2", "", ""],
                ["username", "username", "", ""], ["email", "email", "", ""],
                ["audit", "audit", "", ""]]),
    ("choices", YN), ("settings", SETTINGS)])
book("allow_choice_duplicates", [
    ("survey", [["type", "name", "label"], ["select_one yn", "a", "A"]]),
    ("choices", YN + [["yn", "yes", "Yes again"]]),
    ("settings", [["form_id", "allow_choice_duplicates"], ["fixture", "yes"]])])
book("required_expression", [
    ("survey", [["type", "name", "label", "required", "read_only"],
                ["integer", "n", "N", "", ""],
                ["text", "a", "A", "${n} > 1", "${n} > 5"]]),
    ("settings", SETTINGS)])
book("unknown_type_suggests", [
    ("survey", [["type", "name", "label"], ["integr", "a", "A"], ["selct_one yn", "b", "B"]]),
    ("choices", YN), ("settings", SETTINGS)])
book("everything_reaches_the_definition", [
    ("survey", [["type", "name", "label::English (en)", "label::Español (es)", "hint::English (en)",
                 "relevant", "constraint", "constraint_message::English (en)", "calculation",
                 "appearance", "choice_filter", "required", "default"],
                ["select_one yn", "consent", "Consent?", "¿Consiente?", "Ask first", "", "", "",
                 "", "minimal", "", "yes", ""],
                ["integer", "age", "Age", "Edad", "In years", "${consent} = 'yes'", ". < 120",
                 "Under 120", "", "", "", "", 30],
                ["calculate", "age_months", "", "", "", "", "", "", "${age} * 12", "", "", "", ""],
                ["select_one yn", "again", "Again?", "¿Otra vez?", "", "", "", "", "", "", "name != 'no'",
                 "", ""]]),
    ("choices", [["list_name", "name", "label::English (en)", "label::Español (es)"],
                 ["yn", "yes", "Yes", "Sí"], ["yn", "no", "No", "No"]]),
    ("settings", [["form_id", "version", "form_title", "default_language"],
                  ["fixture", 3, "Everything", "English (en)"]])])
FRUITS = ("\ufeffname,label::English (en),label::Español (es),color,price\r\n"
          "apple,Apple,Manzana,red,3\r\nkiwi,Kiwi,Kiwi,green,5\r\n"
          "lime,Lime,Lima,green,2\r\n")
book("select_from_file", [
    ("survey", [["type", "name", "label::English (en)", "label::Español (es)", "choice_filter",
                 "parameters"],
                ["select_one_from_file fruits.csv", "fruit", "Fruit?", "¿Fruta?", "", ""],
                ["select_multiple_from_file fruits.csv", "greens", "Green ones?", "¿Verdes?",
                 "color = 'green'", ""],
                ["select_one_from_file towns.csv", "town", "Town?", "¿Pueblo?", "", "value=code label=town"]]),
    ("settings", [["form_id", "version", "default_language"], ["fixture", 3, "English (en)"]])],
    files={"fruits.csv": FRUITS,
           "towns.csv": "code,town,county\n1,Springfield,north\n2,Shelbyville,south\n",
           "unused.csv": "name,label\na,A\n"})
book("pulldata", [
    ("survey", [["type", "name", "label", "calculation", "constraint", "relevant", "choice_filter"],
                ["select_one_from_file fruits.csv", "fruit", "Fruit?", "", "", "", ""],
                ["calculate", "price", "", "pulldata('fruits', 'price', 'name', ${fruit})", "", "", ""],
                ["calculate", "color", "", "instance('fruits')/root/item[name = ${fruit}]/color", "", "", ""],
                ["integer", "paid", "Paid?", "", ". >= number(${price})", "pulldata('fruits.csv', 'color', 'name', ${fruit}) != ''", ""],
                ["select_one yn", "sure", "Sure?", "", "", "", "name != instance('yn')/root/item[label = 'No']/name"]]),
    ("choices", YN),
    ("settings", SETTINGS)],
    files={"fruits.csv": FRUITS})
book("missing_file", [
    ("survey", [["type", "name", "label", "calculation"],
                ["select_one_from_file fruits.csv", "fruit", "Fruit?", ""],
                ["select_multiple_from_file places.xml", "place", "Place?", ""],
                ["calculate", "price", "", "pulldata('prices', 'price', 'name', ${fruit})"],
                ["select_one_from_file fruits.csv or_other", "fruit2", "Fruit?", ""]]),
    ("settings", SETTINGS)])
book("missing_pulldata_file", [
    ("survey", [["type", "name", "label", "calculation"],
                ["text", "fruit", "Fruit?", ""],
                ["calculate", "price", "", "pulldata('prices', 'price', 'name', ${fruit})"]]),
    ("settings", SETTINGS)])
book("duplicate_choice_not_allowed", [
    ("survey", [["type", "name", "label"], ["select_one yn", "a", "A"]]),
    ("choices", YN + [["yn", "yes", "Yes again"]]),
    ("settings", SETTINGS)])
print("wrote the fixtures")
