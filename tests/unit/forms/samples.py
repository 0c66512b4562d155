"""Form definitions the forms tests share: one that uses every field type and attribute."""

from forms.model import Choice, Field, FormDefinition, Text


def every_feature_form() -> FormDefinition:
    """A hypertension follow-up shaped form using every field type and every attribute."""
    return FormDefinition(
        name="htn_followup",
        title=Text("高血压患者随访服务记录表", "Hypertension follow-up"),
        category="医疗",
        levels=("station", "centre"),
        period_type="month",
        version=3,
        default_language="zh",
        fields=[
            Field(
                "visit_date",
                "date",
                label=Text("随访日期", "Visit date"),
                required=True,
                default="2026-01-01",
            ),
            Field("visited_at", "datetime", label=Text("随访时间", "Visit time")),
            Field(
                "name",
                "text",
                label=Text("姓名", "Name"),
                required=True,
                pii=True,
                hint=Text("与身份证一致", "As on the ID card"),
                required_message=Text("请填写姓名", "Enter the name"),
            ),
            Field("sex", "select_one", label=Text("性别", "Sex"), choices="gb_sex"),
            Field("dob", "date", label=Text("出生日期", "Birth date")),
            Field(
                "id_number",
                "resident_id",
                label=Text("身份证号", "ID number"),
                pii=True,
                sex_field="sex",
                birth_date_field="dob",
                required_if="${sex} != '9'",
            ),
            Field("phone", "phone", label=Text("本人电话", "Phone"), pii=True),
            Field(
                "mode", "select_one", label=Text("随访方式", "Mode"), choices="mode", default="1"
            ),
            Field(
                "symptoms",
                "select_multiple",
                label=Text("症状", "Symptoms"),
                choices="symptoms",
                default=["0"],
            ),
            Field(
                "vitals",
                "group",
                label=Text("体征", "Vital signs"),
                children=[
                    Field(
                        "sbp",
                        "integer",
                        label=Text("收缩压", "Systolic"),
                        unit="mmHg",
                        min=60,
                        max=300,
                        required=True,
                    ),
                    Field(
                        "dbp",
                        "integer",
                        label=Text("舒张压", "Diastolic"),
                        unit="mmHg",
                        min=30,
                        max=200,
                        required=True,
                        constraint=". < ${sbp}",
                        constraint_message=Text("舒张压应低于收缩压", "Below the systolic"),
                    ),
                    Field(
                        "weight",
                        "decimal",
                        label=Text("体重", "Weight"),
                        unit="kg",
                        min=20,
                        max=250.5,
                        decimals=1,
                    ),
                    Field(
                        "height",
                        "decimal",
                        label=Text("身高", "Height"),
                        unit="cm",
                        decimals=1,
                        default=170,
                    ),
                    Field(
                        "bmi",
                        "decimal",
                        label=Text("体质指数", "BMI"),
                        unit="kg/m²",
                        decimals=1,
                        read_only=True,
                        calculation="round(${weight} div (${height} * ${height} div 10000), 1)",
                    ),
                ],
            ),
            Field("smokes", "boolean", label=Text("吸烟", "Smokes"), default=False),
            Field(
                "smoking",
                "group",
                relevant="${smokes}",
                children=[
                    Field(
                        "cigarettes",
                        "integer",
                        label=Text("日吸烟量", "Cigarettes a day"),
                        unit="支",
                        min=0,
                    ),
                ],
            ),
            Field("note_diet", "note", label=Text("请指导低盐饮食", "Advise a low-salt diet")),
            Field(
                "meds",
                "repeat",
                label=Text("用药情况", "Medication"),
                min_count=0,
                max_count=5,
                children=[
                    Field("drug", "text", label=Text("药物名称", "Drug"), required=True),
                    Field("dose", "decimal", label=Text("每次剂量", "Dose"), unit="mg", min=0),
                ],
            ),
            Field("risk", "calculate", calculation="if(${sbp} >= 140, 'high', 'normal')"),
            Field(
                "photo",
                "image",
                label=Text("照片", "Photo"),
                max_size=2 * 1024 * 1024,
                accept=("image/jpeg", "image/png"),
            ),
            Field("report", "file", label=Text("报告", "Report"), accept=("application/pdf",)),
        ],
        choice_lists={
            "gb_sex": [
                Choice("0", Text("未知的性别", "Unknown")),
                Choice("1", Text("男", "Male")),
                Choice("2", Text("女", "Female")),
                Choice("9", Text("未说明的性别", "Not stated")),
            ],
            "mode": [
                Choice("1", Text("门诊", "Clinic")),
                Choice("2", Text("家庭", "Home")),
                Choice("3", Text("电话", "Phone")),
            ],
            "symptoms": [
                Choice("0", Text("无症状", "None"), exclusive=True),
                Choice("1", Text("头痛头晕", "Headache")),
                Choice("2", Text("恶心呕吐", "Nausea")),
            ],
            "unused": [Choice("a", Text(en="Only English"))],
        },
    )


def valid_data() -> dict:
    """Data the form above accepts."""
    return {
        "visit_date": "2026-03-01",
        "visited_at": "2026-03-01T09:30",
        "name": "王秀英",
        "sex": "2",
        "dob": "1949-12-31",
        "id_number": "11010519491231002X",
        "phone": "13812345678",
        "mode": "1",
        "symptoms": ["1", "2"],
        "sbp": 150,
        "dbp": 95,
        "weight": 60.5,
        "height": 160,
        "smokes": True,
        "cigarettes": 10,
        "meds": [{"drug": "氨氯地平", "dose": 5}, {"drug": "氢氯噻嗪", "dose": 12.5}],
        "photo": "attachment-1",
    }
