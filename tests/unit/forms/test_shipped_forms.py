"""The shipped XLSForms (portal/data/forms): each imports cleanly, survives export and import,
and its skip logic, calculations and bounds behave as the domain primer says."""

import datetime
import functools
from pathlib import Path

import pytest

from forms.model import CATEGORIES, FormDefinition
from forms.validation import FormValidator, publish_problems
from forms.xlsform import export_xlsform, import_xlsform

FORMS_DIR = Path(__file__).resolve().parents[3] / "portal" / "data" / "forms"
FILES = sorted(FORMS_DIR.glob("*.xlsx"))
TODAY = datetime.date(2026, 3, 1)

SHIPPED = {
    "personal_info": "个人基本信息表",
    "health_check": "健康体检表",
    "hypertension_followup": "高血压患者随访服务记录表",
    "diabetes_followup": "2型糖尿病患者随访服务记录表",
    "prenatal_first": "第1次产前检查服务记录表",
    "newborn_visit": "新生儿家庭访视记录表",
    "elderly_selfcare": "老年人生活自理能力评估表",
    "immunization_card": "预防接种卡",
    "infectious_disease_report": "传染病报告卡",
    "health_education_activity": "健康教育活动记录表",
    "referral_slip": "双向转诊单",
    "rehabilitation_record": "康复服务记录表",
    "family_planning_service": "计划生育技术服务记录表",
    "baseline_institution": "基线调查·机构问卷",
    "baseline_household": "基线调查·住户问卷",
}


@pytest.fixture(autouse=True)
def _expressions():
    # The forms' skip logic and calculations need the expression language.
    pytest.importorskip("forms.expressions")


@functools.cache
def definition(name: str) -> FormDefinition:
    result = import_xlsform(FORMS_DIR / f"{name}.xlsx")
    assert result.errors == [], [e.render("en") for e in result.errors]
    return result.definition


def validate(name: str, data: dict) -> tuple[dict, dict[str, str]]:
    """The clean data and the errors' message ids, validated as of TODAY."""
    clean, errors = FormValidator(definition(name)).validate(data, TODAY)
    return clean, {key: message.id for key, message in errors.items()}


# -- every file ---------------------------------------------------------------------------------
def test_the_shipped_forms_are_all_there():
    assert {path.stem for path in FILES} == set(SHIPPED)
    assert {name: definition(name).title.zh for name in SHIPPED} == SHIPPED


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_each_file_imports_without_errors_or_warnings_and_can_be_published(path):
    result = import_xlsform(path)
    assert [e.render("en") for e in result.errors] == []
    assert [w.render("en") for w in result.warnings] == []
    assert publish_problems(result.definition) == []
    # The file is named after its form_id, so `portal init` and admins find it.
    assert result.definition.name == path.stem


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_each_file_round_trips_through_export_and_import(path):
    original = import_xlsform(path).definition
    again = import_xlsform(export_xlsform(original))
    assert again.errors == [] and again.warnings == []
    assert again.definition == original


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_everything_people_see_is_in_chinese_and_english(path):
    form = definition(path.stem)
    assert form.title.zh and form.title.en
    for field in form.iter_fields():
        if field.type != "calculate":
            assert field.label.zh and field.label.en, field.name
        for text in (field.hint, field.constraint_message):
            assert bool(text.zh) == bool(text.en), field.name
    for list_name, choices in form.choice_lists.items():
        for choice in choices:
            assert choice.label.zh and choice.label.en, (list_name, choice.code)


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_names_addresses_phones_and_id_numbers_are_marked_personal(path):
    # An institution's phone (report_org_phone, referring_phone) is not personal.
    for field in definition(path.stem).iter_fields():
        if field.type == "resident_id" or field.name in ("name", "address", "phone"):
            assert field.pii, field.name


def test_every_category_has_a_form_and_periods_fit_the_kind_of_form():
    forms = [definition(name) for name in SHIPPED]
    assert {form.category for form in forms} == set(CATEGORIES)
    assert all(form.levels for form in forms)
    periods = {form.name: form.period_type for form in forms}
    assert periods["baseline_institution"] == periods["baseline_household"] == "year"
    assert periods["health_education_activity"] == "month"
    assert {periods[name] for name in SHIPPED if not name.startswith("baseline")} <= {
        "none",
        "month",
    }


# -- behaviour ----------------------------------------------------------------------------------
PERSON = {"name": "张秀英", "record_no": "11010500100200001"}
HEALTH_CHECK = {
    **PERSON,
    "sex": "2",
    "check_date": "2026-02-01",
    "birth_date": "1956-05-20",
    # 69: the older people's items are required
    "self_rated_health": "2",
    "self_care": "1",
    "cognition": "1",
    "emotion": "1",
    "symptoms": ["1"],
    "sbp_left": 132,
    "dbp_left": 84,
    "height": 175,
    "weight": 70,
}
FOLLOWUP = {
    **PERSON,
    "birth_date": "1966-04-02",
    "visit_date": "2026-02-01",
    "mgmt_start_date": "2020-06-01",
    "mgmt_status": "1",
    "visit_mode": "1",
    "sbp": 138,
    "dbp": 86,
}


@pytest.mark.parametrize(
    ("name", "data"),
    [("health_check", HEALTH_CHECK), ("hypertension_followup", {**FOLLOWUP, "height": 175})],
)
def test_bmi_is_computed_from_weight_and_height_to_one_decimal(name, data):
    clean, errors = validate(name, {**data, "weight": 70, "bmi": 99})
    assert errors == {}
    assert clean["bmi"] == 22.9  # 70 / 1.75², never the client's value


def test_bmi_waits_for_both_weight_and_height():
    clean, errors = validate("hypertension_followup", {**FOLLOWUP, "weight": 70})
    assert errors == {} and "bmi" not in clean


def test_the_hypertension_form_computes_the_target_bmi_too():
    data = {**FOLLOWUP, "height": 160, "weight": 70, "weight_target": 64}
    clean, errors = validate("hypertension_followup", data)
    assert errors == {}
    assert (clean["bmi"], clean["bmi_target"]) == (27.3, 25.0)


SMOKING = {"cigarettes_per_day": 20, "smoking_start_age": 20, "smoking_quit_age": 50}


@pytest.mark.parametrize(
    ("status", "kept"),
    [
        ("1", set()),
        ("2", {"cigarettes_per_day", "smoking_start_age", "smoking_quit_age"}),
        ("3", {"cigarettes_per_day", "smoking_start_age"}),
    ],
    ids=["never smoked", "stopped", "smokes"],
)
def test_smoking_questions_follow_the_smoking_status(status, kept):
    clean, errors = validate("health_check", {**HEALTH_CHECK, "smoking_status": status, **SMOKING})
    assert errors == {}
    assert set(SMOKING) & set(clean) == kept


def test_a_former_smoker_cannot_stop_before_starting():
    data = {**HEALTH_CHECK, "smoking_status": "2", **SMOKING, "smoking_quit_age": 18}
    assert validate("health_check", data)[1] == {"smoking_quit_age": "validation.constraint"}


@pytest.mark.parametrize(
    ("answers", "dropped"),
    [
        ({"exercise_freq": "4", "exercise_minutes": 30, "exercise_type": "散步"}, True),
        ({"exercise_freq": "1", "exercise_minutes": 30, "exercise_type": "散步"}, False),
        ({"drinking_freq": "1", "alcohol_per_day": 2, "drunk_past_year": "2"}, True),
        ({"drinking_freq": "4", "alcohol_per_day": 2, "drunk_past_year": "2"}, False),
    ],
    ids=["no exercise", "daily exercise", "never drinks", "drinks daily"],
)
def test_exercise_and_drinking_blocks_are_hidden_by_never(answers, dropped):
    clean, errors = validate("health_check", {**HEALTH_CHECK, **answers})
    assert errors == {}
    details = set(answers) - {"exercise_freq", "drinking_freq"}
    assert (details & set(clean) == set()) is dropped


@pytest.mark.parametrize(("birth_date", "shown"), [("1961-02-01", True), ("1961-02-02", False)])
def test_the_older_peoples_items_start_on_the_65th_birthday(birth_date, shown):
    data = {**HEALTH_CHECK, "birth_date": birth_date}
    clean, errors = validate("health_check", data)
    assert errors == {}
    assert clean["age"] == (65 if shown else 64)
    assert ("self_rated_health" in clean) is shown


@pytest.mark.parametrize(
    ("values", "field", "error"),
    [
        ({"sbp": 301}, "sbp", "validation.too_large"),
        ({"sbp": 59, "dbp": 40}, "sbp", "validation.too_small"),
        ({"dbp": 201}, "dbp", "validation.too_large"),
        ({"dbp": 29}, "dbp", "validation.too_small"),
    ],
)
def test_blood_pressure_out_of_range_is_refused_at_the_field(values, field, error):
    assert validate("hypertension_followup", {**FOLLOWUP, **values})[1] == {field: error}


@pytest.mark.parametrize("dbp", [138, 150])
def test_diastolic_pressure_must_be_below_systolic(dbp):
    _, errors = validate("hypertension_followup", {**FOLLOWUP, "sbp": 138, "dbp": dbp})
    assert errors == {"dbp": "validation.constraint"}


def test_blood_pressure_is_required_at_a_hypertension_follow_up():
    data = {k: v for k, v in FOLLOWUP.items() if k not in ("sbp", "dbp")}
    _, errors = validate("hypertension_followup", data)
    assert errors == {"sbp": "validation.required", "dbp": "validation.required"}


def test_no_symptoms_is_chosen_alone_and_other_needs_a_description():
    _, errors = validate("hypertension_followup", {**FOLLOWUP, "symptoms": ["1", "2"]})
    assert errors == {"symptoms": "validation.exclusive_choice"}
    _, errors = validate("hypertension_followup", {**FOLLOWUP, "symptoms": ["2", "10"]})
    assert errors == {"symptoms_other": "validation.required"}


def test_an_adverse_reaction_needs_a_description_and_medication_rows_are_kept():
    data = {
        **FOLLOWUP,
        "medication_adherence": "1",
        "adverse_reaction": "2",
        "medications": [{"drug_name": "氨氯地平", "drug_times_per_day": 1, "drug_dose": "5mg"}],
    }
    clean, errors = validate("hypertension_followup", data)
    assert errors == {"adverse_reaction_detail": "validation.required"}
    assert clean["medications"] == data["medications"]
    clean, _ = validate("hypertension_followup", {**data, "medication_adherence": "3"})
    assert "medications" not in clean


def test_the_diabetes_follow_up_requires_fasting_glucose_within_bounds():
    assert validate("diabetes_followup", FOLLOWUP)[1] == {"fbg": "validation.required"}
    assert validate("diabetes_followup", {**FOLLOWUP, "fbg": 36})[1] == {
        "fbg": "validation.too_large"
    }
    assert validate("diabetes_followup", {**FOLLOWUP, "fbg": 6.8})[1] == {}


PRENATAL = {
    **PERSON,
    "visit_date": "2026-02-01",
    "lmp_known": "2",
    "gest_weeks": 10,
    "mother_age": 28,
    "gravidity": 2,
    "vaginal_births": 1,
    "caesarean_births": 0,
    "height": 160,
    "weight": 55,
    "sbp": 110,
    "dbp": 70,
}


@pytest.mark.parametrize(
    ("visit_date", "lmp", "edd"),
    [
        ("2026-02-01", "2025-11-20", "2026-08-27"),
        ("2025-08-01", "2025-06-01", "2026-03-08"),
        ("2024-04-20", "2024-02-29", "2024-12-05"),
    ],
)
def test_the_expected_delivery_date_is_280_days_after_the_last_period(visit_date, lmp, edd):
    weeks = (datetime.date.fromisoformat(visit_date) - datetime.date.fromisoformat(lmp)).days // 7
    data = {
        **PRENATAL,
        "visit_date": visit_date,
        "lmp_known": "1",
        "lmp": lmp,
        "gest_weeks": weeks,
        "edd": "2030-01-01",
    }
    clean, errors = validate("prenatal_first", data)
    assert errors == {}
    assert clean["edd"] == edd
    assert clean["bmi"] == 21.5


def test_without_a_last_period_there_is_no_expected_date():
    clean, errors = validate("prenatal_first", PRENATAL)
    assert errors == {} and "edd" not in clean


def test_previous_births_must_be_fewer_than_pregnancies():
    _, errors = validate("prenatal_first", {**PRENATAL, "caesarean_births": 1})
    assert errors == {"caesarean_births": "validation.constraint"}


SELF_CARE = {**PERSON, "assess_date": "2026-02-01"}


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        (("1", "1", "1", "1", "1"), 0, "1"),
        (("3", "1", "1", "1", "1"), 3, "1"),
        (("3", "2", "1", "1", "1"), 4, "2"),
        (("3", "2", "3", "2", "1"), 8, "2"),
        (("3", "3", "3", "1", "1"), 9, "3"),
        (("4", "3", "1", "4", "1"), 18, "3"),
        (("3", "2", "1", "4", "3"), 19, "4"),
        (("4", "4", "4", "4", "4"), 37, "4"),
    ],
)
def test_self_care_items_are_scored_totalled_and_banded(answers, total, band):
    items = dict(
        zip(("meal", "grooming", "dressing", "toileting", "activity"), answers, strict=True)
    )
    clean, errors = validate("elderly_selfcare", {**SELF_CARE, **items})
    assert errors == {}
    assert (clean["total_score"], clean["band"]) == (total, band)


def test_an_unfinished_self_care_assessment_has_no_total_or_band():
    clean, errors = validate("elderly_selfcare", {**SELF_CARE, "meal": "3"})
    assert "total_score" not in clean and "band" not in clean
    assert set(errors) == {"grooming", "dressing", "toileting", "activity"}


NEWBORN = {
    **PERSON,
    "sex": "1",
    "birth_date": "2026-02-10",
    "mother_name": "李梅",
    "discharge_date": "2026-02-13",
    "visit_date": "2026-02-17",
}


@pytest.mark.parametrize(("feeding", "required"), [("1", False), ("2", False), ("3", True)])
def test_feed_volume_is_required_only_for_formula_feeding(feeding, required):
    _, errors = validate("newborn_visit", {**NEWBORN, "feeding": feeding})
    assert errors == ({"milk_volume": "validation.required"} if required else {})
    assert validate("newborn_visit", {**NEWBORN, "feeding": feeding, "milk_volume": 90})[1] == {}


def test_apgar_scores_are_asked_after_asphyxia():
    data = {**NEWBORN, "feeding": "1", "apgar_1": 7}
    clean, errors = validate("newborn_visit", {**data, "asphyxia": "1"})
    assert errors == {} and "apgar_1" not in clean
    _, errors = validate("newborn_visit", {**data, "asphyxia": "2"})
    assert errors == {"apgar_5": "validation.required"}


PERSONAL_INFO = {
    **PERSON,
    "sex": "2",
    "birth_date": "1949-12-31",
    "phone": "13812345678",
    "contact_name": "王建国",
    "contact_phone": "13912345678",
    "residence_type": "1",
    "ethnicity": "01",
    "education": "60",
    "occupation": "8",
    "marital_status": "30",
    "payment": ["01"],
    "drug_allergy": ["1"],
    "diseases": ["2"],
    "dx_hypertension": "2010-05",
    "surgery": "1",
    "trauma": "1",
    "transfusion": "1",
    "record_date": "2026-01-05",
}


def test_a_valid_resident_id_is_accepted():
    clean, errors = validate("personal_info", {**PERSONAL_INFO, "id_number": "11010519491231002X"})
    assert errors == {}
    assert clean["id_number"] == "11010519491231002X"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"id_number": "110105194912310021"}, "validation.resident_id.check_digit"),
        ({"sex": "1"}, "validation.resident_id.sex_female"),
        ({"birth_date": "1950-01-01"}, "validation.resident_id.birth_date_mismatch"),
    ],
    ids=["bad check digit", "other sex", "other birth date"],
)
def test_a_resident_id_that_fails_its_rules_is_refused(changes, error):
    data = {**PERSONAL_INFO, "id_number": "11010519491231002X", **changes}
    assert validate("personal_info", data)[1] == {"id_number": error}


def test_each_past_disease_asks_for_its_diagnosis_date():
    _, errors = validate("personal_info", {**PERSONAL_INFO, "diseases": ["2", "3"]})
    assert errors == {"dx_diabetes": "validation.required"}
    _, errors = validate("personal_info", {**PERSONAL_INFO, "dx_hypertension": "2010-13"})
    assert errors == {"dx_hypertension": "validation.constraint"}


def test_surgery_records_are_asked_for_only_after_yes():
    _, errors = validate("personal_info", {**PERSONAL_INFO, "surgery": "2"})
    assert errors == {"surgery_list": "validation.too_few_rows"}
    rows = [{"surgery_name": f"手术{i}", "surgery_date": "2001-01-01"} for i in range(3)]
    _, errors = validate("personal_info", {**PERSONAL_INFO, "surgery": "2", "surgery_list": rows})
    assert errors == {"surgery_list": "validation.too_many_rows"}


def test_a_household_lists_as_many_members_as_it_has_with_their_ages():
    member = {
        "m_name": "赵丽",
        "m_relation": "1",
        "m_sex": "2",
        "m_birth_date": "1990-01-11",
        "m_insurance": ["01"],
        "m_chronic": "1",
        "m_cervical_screen": "1",
        "m_breastfed": "1",
    }
    household = {
        "household_no": "0001",
        "address": "北京市朝阳区某街道1号",
        "interview_date": "2026-01-10",
        "interviewer": "调查员甲",
        "respondent_name": "赵丽",
        "household_size": 1,
        "members": [member],
    }
    clean, errors = validate("baseline_household", household)
    assert errors == {}
    # 35 the day before her birthday; the under-5 questions are dropped, the women's kept.
    assert clean["members"][0]["m_age"] == 35
    assert "m_breastfed" not in clean["members"][0]
    assert clean["members"][0]["m_cervical_screen"] == "1"
    _, errors = validate("baseline_household", {**household, "household_size": 2})
    assert errors == {"household_size": "validation.constraint"}


def test_vaccination_doses_cannot_precede_birth():
    card = {
        "child_name": "刘小明",
        "child_code": "110105000001",
        "sex": "1",
        "birth_date": "2025-06-01",
        "guardian_name": "刘强",
        "guardian_relation": "1",
        "contact_phone": "13600001111",
        "address": "北京市东城区某胡同2号",
        "card_date": "2025-06-03",
    }
    dose = {"vaccine": "hepb", "dose_number": 1, "lot_number": "L001", "vaccinator": "护士甲"}
    clean, errors = validate(
        "immunization_card",
        {
            **card,
            "doses": [
                {**dose, "dose_date": "2025-06-01"},
                {**dose, "dose_number": 2, "dose_date": "2025-05-31"},
            ],
        },
    )
    assert errors == {"doses.1.dose_date": "validation.constraint"}
    assert len(clean["doses"]) == 2


def test_a_child_with_an_infectious_disease_needs_a_parents_name():
    report = {
        "report_type": "1",
        "patient_name": "陈小红",
        "sex": "2",
        "birth_date": "2016-03-02",
        "origin": "1",
        "address": "北京市海淀区某小区3号楼",
        "occupation": "3",
        "case_class": "2",
        "disease": "311",
        "onset_date": "2026-02-25",
        "diagnosis_time": "2026-02-26T09:30",
        "report_org": "某社区卫生服务中心",
        "report_doctor": "医生乙",
        "report_date": "2026-03-01",
        "report_time": "2026-02-26T10:15",
    }
    assert validate("infectious_disease_report", report)[1] == {
        "guardian_name": "validation.required"
    }
    # 14 on the day the card is filled: no longer a child on this card.
    assert validate("infectious_disease_report", {**report, "birth_date": "2012-03-01"})[1] == {}


def test_family_planning_services_fit_the_clients_sex():
    client = {
        "name": "周明",
        "sex": "1",
        "birth_date": "1988-08-08",
        "service_date": "2026-02-01",
        "provider": "医生丙",
    }
    assert validate("family_planning_service", {**client, "service": "6"})[1] == {}
    assert validate("family_planning_service", {**client, "service": "1", "iud_type": "T"})[1] == {
        "service": "validation.constraint"
    }


def test_exclusive_option_error_names_the_option_as_shown():
    from forms.messages import render_all

    validator = FormValidator(definition("hypertension_followup"))
    _, errors = validator.validate({**FOLLOWUP, "symptoms": ["1", "2"]}, TODAY)
    assert render_all(errors, "zh")["symptoms"] == "选择“无症状”时不能再选择其他选项。"
    assert "“1”" not in render_all(errors, "en")["symptoms"]


# -- the data the indicators stand on (version 2 of the person-level forms) ----------------------
def test_a_follow_up_knows_the_patients_age_and_management():
    clean, errors = validate("hypertension_followup", FOLLOWUP)
    assert errors == {}
    assert clean["age"] == 59  # the 60th birthday comes on 2026-04-02
    missing = {k: v for k, v in FOLLOWUP.items() if k not in ("birth_date", "mgmt_status")}
    assert validate("diabetes_followup", {**missing, "fbg": 6.1})[1] == {
        "birth_date": "validation.required",
        "mgmt_status": "validation.required",
    }
    late = {**FOLLOWUP, "mgmt_start_date": "2026-02-02"}
    assert validate("hypertension_followup", late)[1] == {
        "mgmt_start_date": "validation.constraint"
    }


@pytest.mark.parametrize("name", ["hypertension_followup", "diabetes_followup"])
def test_a_telephone_follow_up_needs_no_readings(name):
    phone = {k: v for k, v in FOLLOWUP.items() if k not in ("sbp", "dbp")}
    assert validate(name, {**phone, "visit_mode": "3"})[1] == {}
    required = {"sbp", "dbp"} | ({"fbg"} if name == "diabetes_followup" else set())
    assert validate(name, {**phone, "visit_mode": "2"})[1] == dict.fromkeys(
        required, "validation.required"
    )


@pytest.mark.parametrize(
    ("birth_date", "sbp", "dbp", "satisfied"),
    [
        ("1966-04-02", 185, 110, False),
        ("1956-01-01", 145, 85, True),  # 70: below 150/90 is on target
        ("1966-01-01", 145, 85, False),  # 60: 140 is the target
        ("1976-01-01", 145, 85, False),  # 50
        ("1966-01-01", 139, 89, True),
        ("1966-01-01", 139, 90, False),
        ("1961-02-01", 149, 80, True),  # 65 on the day of the visit
        ("1961-02-02", 149, 80, False),  # 64
        ("1956-01-01", 150, 80, False),
        ("1956-01-01", None, None, False),  # a telephone visit without readings
    ],
)
def test_well_controlled_hypertension_needs_readings_on_target(birth_date, sbp, dbp, satisfied):
    data = {**FOLLOWUP, "birth_date": birth_date, "sbp": sbp, "dbp": dbp, "visit_class": "1"}
    if sbp is None:
        data["visit_mode"] = "3"
    errors = validate("hypertension_followup", data)[1]
    assert errors == ({} if satisfied else {"visit_class": "validation.constraint"})
    # 控制不满意 is always possible
    assert validate("hypertension_followup", {**data, "visit_class": "2"})[1] == {}


def test_the_refusal_of_well_controlled_says_why():
    from forms.messages import render_all

    validator = FormValidator(definition("hypertension_followup"))
    _, errors = validator.validate({**FOLLOWUP, "sbp": 185, "dbp": 110, "visit_class": "1"}, TODAY)
    assert "140" in render_all(errors, "zh")["visit_class"]
    assert "150" in render_all(errors, "en")["visit_class"]


@pytest.mark.parametrize(("fbg", "satisfied"), [(6.9, True), (7.0, False), (None, False)])
def test_well_controlled_diabetes_needs_fasting_glucose_below_7(fbg, satisfied):
    data = {**FOLLOWUP, "fbg": fbg, "visit_class": "1"}
    if fbg is None:
        data = {**data, "visit_mode": "3", "sbp": None, "dbp": None}
    errors = validate("diabetes_followup", data)[1]
    assert errors == ({} if satisfied else {"visit_class": "validation.constraint"})


def test_the_last_period_is_asked_only_when_known_and_checks_the_weeks():
    known = {**PRENATAL, "lmp_known": "1", "lmp": "2025-11-20"}  # 73 days: 10 whole weeks
    assert validate("prenatal_first", {k: v for k, v in known.items() if k != "lmp"})[1] == {
        "lmp": "validation.required"
    }
    for weeks in (9, 10, 11):
        assert validate("prenatal_first", {**known, "gest_weeks": weeks})[1] == {}
    for weeks in (8, 12, 20):
        assert validate("prenatal_first", {**known, "gest_weeks": weeks})[1] == {
            "gest_weeks": "validation.constraint"
        }
    # Unknown: the date and the expected delivery date are dropped, any weeks are taken.
    clean, errors = validate("prenatal_first", {**known, "lmp_known": "2", "gest_weeks": 20})
    assert errors == {} and "lmp" not in clean and "edd" not in clean
    assert validate("prenatal_first", {**PRENATAL, "lmp_known": None})[1] == {
        "lmp_known": "validation.required"
    }


@pytest.mark.parametrize(
    ("discharge_date", "error"),
    [
        ("2026-02-10", None),
        ("2026-02-17", None),
        ("2026-02-18", "validation.constraint"),  # after the visit
        ("2026-02-09", "validation.constraint"),  # before birth
        (None, "validation.required"),
    ],
)
def test_a_newborn_visit_knows_the_discharge_date(discharge_date, error):
    data = {**NEWBORN, "feeding": "1", "discharge_date": discharge_date}
    assert validate("newborn_visit", data)[1] == ({"discharge_date": error} if error else {})


def test_a_health_check_records_sex_and_the_older_peoples_items_from_65():
    assert validate("health_check", {**HEALTH_CHECK, "sex": None})[1] == {
        "sex": "validation.required"
    }
    assert validate("health_check", {**HEALTH_CHECK, "self_rated_health": None})[1] == {
        "self_rated_health": "validation.required"
    }
    elderly = ("self_rated_health", "self_care", "cognition", "emotion")
    younger = {k: v for k, v in HEALTH_CHECK.items() if k not in elderly}
    assert validate("health_check", {**younger, "birth_date": "1970-01-01"})[1] == {}


INFECTIOUS = {
    "report_type": "1",
    "patient_name": "陈小红",
    "sex": "2",
    "birth_date": "1990-03-02",
    "origin": "1",
    "address": "北京市海淀区某小区3号楼",
    "occupation": "3",
    "case_class": "2",
    "disease": "311",
    "onset_date": "2026-02-25",
    "diagnosis_time": "2026-02-26T09:30",
    "report_org": "某社区卫生服务中心",
    "report_doctor": "医生乙",
    "report_date": "2026-02-26",
}


@pytest.mark.parametrize(
    ("report_time", "error"),
    [
        ("2026-02-26T09:30", None),
        ("2026-02-27T09:00", None),
        ("2026-02-26T09:29", "validation.constraint"),  # before the diagnosis
        ("2026-03-02T08:00", "validation.constraint"),  # in the future
        (None, "validation.required"),
    ],
)
def test_an_infectious_disease_card_records_when_it_was_reported(report_time, error):
    data = {**INFECTIOUS, "report_time": report_time}
    assert validate("infectious_disease_report", data)[1] == (
        {"report_time": error} if error else {}
    )


@pytest.mark.parametrize(
    ("birth_date", "age", "required"), [("1959-06-01", 66, True), ("1985-06-01", 40, False)]
)
def test_the_older_peoples_items_are_required_at_66_and_not_asked_at_40(birth_date, age, required):
    elderly = ("self_rated_health", "self_care", "cognition", "emotion")
    without = {k: v for k, v in HEALTH_CHECK.items() if k not in elderly}
    clean, errors = validate("health_check", {**without, "birth_date": birth_date})
    assert clean["age"] == age
    assert errors == (dict.fromkeys(elderly, "validation.required") if required else {})
    # Given at 40, they are not kept: the items are not asked below 65.
    clean, errors = validate("health_check", {**HEALTH_CHECK, "birth_date": birth_date})
    assert errors == {}
    assert all((name in clean) == required for name in elderly)
