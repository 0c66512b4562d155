"""A form and workbooks the forms API and CLI tests share."""

import io

import openpyxl

from forms.model import Choice, Field, FormDefinition, Text

ID_NUMBER = "11010519491231002X"  # GB 11643's own example
PHONE = "13812345678"


def bp_form(**changes) -> FormDefinition:
    """A small monthly follow-up form with personal fields, skip logic, a constraint, a
    calculation and a repeat."""
    fields = [
        Field("visit_date", "date", label=Text("随访日期", "Visit date"), required=True),
        Field("name", "text", label=Text("姓名", "Name"), required=True, pii=True),
        Field("id_number", "resident_id", label=Text("身份证号", "ID number"), pii=True),
        Field("phone", "phone", label=Text("电话", "Phone"), pii=True),
        Field("sbp", "integer", label=Text("收缩压", "Systolic"), min=60, max=300, required=True),
        Field(
            "dbp",
            "integer",
            label=Text("舒张压", "Diastolic"),
            min=30,
            max=200,
            required=True,
            constraint=". < ${sbp}",
            constraint_message=Text("舒张压应低于收缩压", "Must be below the systolic"),
        ),
        Field(
            "smoker", "select_one", label=Text("吸烟", "Smokes"), choices="yes_no", required=True
        ),
        Field(
            "cigarettes",
            "integer",
            label=Text("日吸烟量", "Cigarettes a day"),
            relevant="${smoker} = '1'",
            min=0,
            max=100,
        ),
        Field("pulse_pressure", "calculate", calculation="${sbp} - ${dbp}"),
        Field(
            "meds",
            "repeat",
            label=Text("用药", "Medicines"),
            children=[
                Field("drug", "text", label=Text("药名", "Drug"), required=True),
                Field("dose", "decimal", label=Text("剂量", "Dose"), min=0, max=1000),
            ],
        ),
    ]
    values = {
        "name": "bp_check",
        "title": Text("血压随访", "Blood pressure follow-up"),
        "category": "医疗",
        "levels": ("station", "centre"),
        "period_type": "month",
        "fields": fields,
        "choice_lists": {"yes_no": [Choice("1", Text("是", "Yes")), Choice("2", Text("否", "No"))]},
        **changes,
    }
    return FormDefinition(**values)


def good_data(**changes) -> dict:
    return {
        "visit_date": "2026-10-08",
        "name": "王小明",
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "sbp": 150,
        "dbp": 95,
        "smoker": "2",
        "meds": [{"drug": "氨氯地平", "dose": 5}],
        **changes,
    }


def bad_workbook() -> bytes:
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label::中文 (zh)"])
    survey.append(["integer", "age", "年龄"])
    survey.append(["temperature", "temp", "体温"])  # row 3: no such type
    survey.append(["text", None, "备注"])  # row 4: no name
    settings = book.create_sheet("settings")
    settings.append(["form_id", "category"])
    settings.append(["bad_form", "医疗"])
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()
