"""Builders of plausible records for the shipped forms, one function per form.

Each builder returns the data exactly as the server stores it after validation: only the
fields that are relevant, calculations computed as the form computes them (BMI, ages, 预产期,
scores), numbers of the field's type. That is valid by construction; `portal.demo_data`
checks a sample of every run against the form's FormValidator, and the tests check thousands.

A builder gets a `Visit`: the random generator, the unit, the day of the event (inside the
period, never after today) and the unit's patients (recurring people for follow-up forms).
"""

from __future__ import annotations

import datetime as dt
import random

from portal.demo_data.synthetic import (
    Person,
    address,
    age_on,
    below,
    birth_date_for_age,
    bmi,
    chance,
    choice,
    clip,
    mobile,
    normal,
    normal_int,
    one_decimal,
    person_name,
    pick,
    randint,
    resident_id,
    years_after,
)


class Visit:
    """What a builder needs to make one record: the person's (or the unit's) event."""

    __slots__ = ("rng", "unit", "day", "today", "doctors", "person", "event")

    def __init__(
        self,
        rng: random.Random,
        unit,
        day: dt.date,
        today: dt.date,
        doctors: list[str],
        person: Person | None = None,
        event: dict | None = None,
    ):
        self.rng = rng
        self.unit = unit
        self.day = day
        self.today = today
        self.doctors = doctors
        self.person = person
        self.event = event if event is not None else {}

    def doctor(self) -> str:
        return choice(self.rng, self.doctors)

    def date(self, day: dt.date) -> str:
        return day.isoformat()

    def before(self, low: int, high: int, floor: dt.date | None = None) -> dt.date:
        """A day `low`..`high` days before the visit, not before `floor`."""
        day = self.day - dt.timedelta(days=randint(self.rng, low, high))
        return max(day, floor) if floor else day

    def after(self, low: int, high: int) -> dt.date:
        return self.day + dt.timedelta(days=randint(self.rng, low, high))


def _some(rng: random.Random, codes: list[str], low: int, high: int) -> list[str]:
    """`low`..`high` distinct codes, in the list's order."""
    chosen = set(rng.sample(codes, randint(rng, low, high)))
    return [code for code in codes if code in chosen]


def _weight_for(rng, height: float, target_bmi: float, sd: float = 0.8) -> float:
    return one_decimal(clip(target_bmi * (height / 100) ** 2 + rng.gauss(0, sd), 30.0, 160.0))


def _blood_pressure(rng, sbp_mean: float, age: int, offset: float = 0.0) -> tuple[int, int]:
    sbp = normal_int(rng, sbp_mean, 9, 90, 230)
    # Diastolic follows systolic and falls with age (stiffer arteries).
    dbp_mean = 84 + 0.45 * (sbp - 135) - 0.25 * max(0, age - 60) + offset
    dbp = min(normal_int(rng, dbp_mean, 5, 48, 135), sbp - 18)
    return sbp, dbp


def _referral(v: Visit, data: dict, p_referral: float, reason: str, department: str) -> None:
    if chance(v.rng, p_referral):
        data["referral"] = "2"
        data["referral_reason"] = reason
        data["referral_org"] = f"北京市{v.unit.district_name}示范医院{department}"
    else:
        data["referral"] = "1"


# -- chronic disease follow-ups ------------------------------------------------------------
# fmt: off
_HTN_DRUGS = [
    ("苯磺酸氨氯地平片", 1, "5mg"), ("硝苯地平控释片", 1, "30mg"), ("缬沙坦胶囊", 1, "80mg"),
    ("厄贝沙坦片", 1, "150mg"), ("琥珀酸美托洛尔缓释片", 1, "47.5mg"), ("氢氯噻嗪片", 1, "12.5mg"),
    ("马来酸依那普利片", 2, "10mg"), ("培哚普利叔丁胺片", 1, "4mg"), ("替米沙坦片", 1, "40mg"),
    ("吲达帕胺缓释片", 1, "1.5mg"),
]
_DM_DRUGS = [
    ("盐酸二甲双胍片", 3, "0.5g"), ("格列美脲片", 1, "2mg"), ("阿卡波糖片", 3, "50mg"),
    ("磷酸西格列汀片", 1, "100mg"), ("达格列净片", 1, "10mg"), ("格列齐特缓释片", 1, "60mg"),
    ("瑞格列奈片", 3, "1mg"), ("盐酸吡格列酮片", 1, "15mg"),
]
# fmt: on
_INSULINS = [
    ("门冬胰岛素30注射液", "早晚餐前皮下注射，每次{}单位"),
    ("甘精胰岛素注射液", "睡前皮下注射，每次{}单位"),
    ("地特胰岛素注射液", "睡前皮下注射，每次{}单位"),
    ("精蛋白生物合成人胰岛素注射液（预混30R）", "早晚餐前30分钟皮下注射，每次{}单位"),
]
_AUX_EXAMS = [
    "血常规未见异常",
    "尿常规：尿蛋白(-)",
    "心电图：窦性心律",
    "血脂：总胆固醇偏高",
    "肾功能未见异常",
    "心电图：左心室高电压",
]


def traits(rng: random.Random, p: Person, age: int) -> dict:
    """The values a person's visits vary around, made on their first visit that needs them."""
    t = p.traits
    if t:
        return t
    core = p.core
    male = p.sex == "1"
    if core.hypertension:
        t["sbp"] = normal(rng, 140, 10, 118, 175)
    else:
        t["sbp"] = min(134.0, 112 + 0.45 * max(0, age - 30) + rng.gauss(0, 8))
    t["dbp_offset"] = rng.gauss(-2 if core.diabetes else 0, 4)
    t["bmi"] = normal(rng, 25.7 if core.hypertension or core.diabetes else 24.0, 3.1, 17.0, 37.0)
    t["heart_rate"] = normal(rng, 74, 7, 55, 100)
    t["cigarettes"] = (
        choice(rng, [5, 10, 10, 15, 20, 20, 30]) if chance(rng, 0.3 if male else 0.03) else 0
    )
    t["smoking"] = "3" if t["cigarettes"] else ("2" if chance(rng, 0.12 if male else 0.01) else "1")
    t["alcohol"] = (
        choice(rng, [0.5, 1.0, 1.0, 1.5, 2.0, 3.0]) if chance(rng, 0.3 if male else 0.05) else 0.0
    )
    t["drinking"] = (
        pick(rng, {"2": 50, "3": 30, "4": 20})
        if t["alcohol"]
        else ("2" if chance(rng, 0.3 if male else 0.1) else "1")
    )
    t["exercise"] = choice(rng, [0, 1, 2, 3, 3, 5, 7, 7])
    t["exercise_freq"] = pick(rng, {"1": 35, "2": 20, "3": 15, "4": 30})
    t["salt"] = pick(rng, {"1": 3, "2": 5, "3": 2})
    t["staple"] = choice(rng, [200, 250, 250, 300, 300, 350, 400])
    t["adherence"] = pick(rng, {"1": 70, "2": 20, "3": 10})
    t["htn_drugs"] = rng.sample(_HTN_DRUGS, pick(rng, {1: 5, 2: 4, 3: 1}))
    t["dm_drugs"] = rng.sample(_DM_DRUGS, pick(rng, {1: 5, 2: 4, 3: 1}))
    if core.diabetes:
        t["fbg"] = normal(rng, 7.4, 1.4, 5.5, 15.0)
    else:
        t["fbg"] = normal(rng, 5.2 + 0.01 * max(0, age - 40), 0.5, 3.9, 6.9)
    t["insulin"] = choice(rng, _INSULINS) if chance(rng, 0.2) else None
    t["insulin_units"] = choice(rng, [8, 10, 12, 14, 16, 20])
    dependence = min(0.6, 0.04 + 0.02 * max(0, age - 72))
    t["frailty"] = pick(
        rng, {0: 1 - dependence, 1: dependence * 0.55, 2: dependence * 0.33, 3: dependence * 0.12}
    )
    return t


# Both follow-ups list their symptoms as 1 (none, exclusive), 2-9 and 10 (other).
_FOLLOWUP_SYMPTOMS = [str(code) for code in range(2, 10)]


def under_target(sbp: int, dbp: int, age: int) -> bool:
    """Blood pressure 达标: below 140/90, or 150/90 at 65 and over."""
    return dbp < 90 and (sbp < 140 or age >= 65 and sbp < 150)


def _readings(rng, t: dict, age: int, controlled: bool) -> tuple[int, int]:
    """Blood pressure under target, or not, as the visit has it."""
    limit = 150 if age >= 65 else 140
    dbp_mean = 80 - 0.2 * max(0, age - 60) + t["dbp_offset"]
    if controlled:
        sbp = normal_int(rng, limit - 14, 7, 100, limit - 1)
        return sbp, min(normal_int(rng, dbp_mean - 3, 5, 52, 89), sbp - 18)
    if chance(rng, 0.8):
        sbp = normal_int(rng, limit + 8, 8, limit, 220)
        return sbp, min(normal_int(rng, dbp_mean + 6, 6, 55, 125), sbp - 18)
    dbp = normal_int(rng, 93, 3, 90, 115)
    return max(normal_int(rng, limit - 8, 6, 100, 219), dbp + 18), dbp


def _chronic_visit(v: Visit, p: Person, t: dict, age: int) -> dict:
    """The part of the hypertension and diabetes follow-ups they share, up to the signs;
    no readings (nor weight) on the phone."""
    rng, e = v.rng, v.event
    data = {
        "name": p.name,
        "record_no": p.record_no,
        "birth_date": p.birth.isoformat(),
        "visit_date": v.date(v.day),
        "age": age,
        "mgmt_start_date": e["start"].isoformat(),
        "mgmt_status": e["status"],
        "visit_mode": e["mode"],
    }
    if chance(rng, 0.6):
        data["symptoms"] = ["1"]
    else:
        chosen = _some(rng, _FOLLOWUP_SYMPTOMS, 1, 2)
        if chance(rng, 0.05):
            chosen.append("10")
            data["symptoms_other"] = choice(rng, ["乏力", "失眠", "夜尿增多", "食欲减退"])
        data["symptoms"] = chosen
    if e["mode"] == "3":
        return data
    if e["program"] == "hypertension":
        data["sbp"], data["dbp"] = _readings(rng, t, age, e["controlled"])
    else:
        data["sbp"], data["dbp"] = _blood_pressure(rng, t["sbp"], age, t["dbp_offset"])
    weight = _weight_for(rng, p.height, t["bmi"])
    if chance(rng, 0.85):
        data["height"] = p.height
    data["weight"] = weight
    current_bmi = bmi(weight, p.height)
    target = weight if current_bmi < 24 else one_decimal(weight - choice(rng, [2, 3, 4, 5]))
    data["weight_target"] = target
    if "height" in data:
        data["bmi"] = current_bmi
        data["bmi_target"] = bmi(target, p.height)
    return data


def _lifestyle(v: Visit, t: dict, data: dict) -> None:
    rng = v.rng
    cigarettes = max(0, t["cigarettes"] + choice(rng, [-5, 0, 0, 0, 5])) if t["cigarettes"] else 0
    data["cigarettes_per_day"] = cigarettes
    data["cigarettes_per_day_target"] = max(0, cigarettes - 5) if cigarettes > 5 else 0
    data["alcohol_per_day"] = t["alcohol"]
    data["alcohol_per_day_target"] = min(t["alcohol"], 1.0)
    exercise = t["exercise"]
    data["exercise_per_week"] = exercise
    data["exercise_per_week_target"] = max(exercise, 5)
    data["exercise_minutes"] = choice(rng, [20, 30, 30, 40, 60]) if exercise else 0
    data["exercise_minutes_target"] = 30


def _medications(v: Visit, t: dict, data: dict) -> None:
    rng = v.rng
    adherence = t["adherence"] if chance(rng, 0.9) else pick(rng, {"1": 6, "2": 3, "3": 1})
    data["medication_adherence"] = adherence
    if chance(rng, 0.03):
        data["adverse_reaction"] = "2"
        data["adverse_reaction_detail"] = choice(
            rng, ["干咳", "踝部水肿", "头痛", "面部潮红", "胃肠不适", "心率减慢"]
        )
    else:
        data["adverse_reaction"] = "1"


def _visit_class(rng, data: dict, controlled: bool | None, p_complication: float) -> str | None:
    """此次随访分类: 1 控制满意 (only under target), 2 控制不满意, 3 不良反应, 4 并发症;
    none for a phone call without readings, unless it reports a reaction or complication."""
    if data["adverse_reaction"] == "2":
        return "3"
    if chance(rng, p_complication):
        return "4"
    if controlled is None:
        return None
    return "1" if controlled else "2"


def _drug_rows(drugs) -> list[dict]:
    return [
        {"drug_name": name, "drug_times_per_day": times, "drug_dose": dose}
        for name, times, dose in drugs
    ]


def _next_visit(v: Visit, data: dict) -> None:
    """The next follow-up as the schedule has it (quarterly; two weeks when not controlled)."""
    following = v.event["next"]
    if following > v.day:
        data["next_visit_date"] = v.date(following)


def hypertension_followup(v: Visit) -> dict:
    rng, p = v.rng, v.person
    age = p.age_on(v.day)
    t = traits(rng, p, age)
    data = _chronic_visit(v, p, t, age)
    by_phone = "sbp" not in data
    if not by_phone:
        data["heart_rate"] = normal_int(rng, t["heart_rate"], 5, 45, 130)
    _lifestyle(v, t, data)
    salt = t["salt"]
    data["salt_intake"] = salt
    data["salt_intake_target"] = "1" if salt != "1" and chance(rng, 0.7) else salt
    data["psychological"] = pick(rng, {"1": 75, "2": 22, "3": 3})
    data["compliance"] = pick(rng, {"1": 78, "2": 19, "3": 3})
    if not by_phone and chance(rng, 0.15):
        data["aux_exam"] = choice(rng, _AUX_EXAMS)
    _medications(v, t, data)
    controlled = None if by_phone else under_target(data["sbp"], data["dbp"], age)
    visit_class = _visit_class(rng, data, controlled, p_complication=0.015)
    if visit_class:
        data["visit_class"] = visit_class
    if data["medication_adherence"] in ("1", "2"):
        data["medications"] = _drug_rows(t["htn_drugs"])
    severe = not by_phone and data["sbp"] >= 180
    _referral(v, data, 0.25 if severe else 0.02, "血压控制不满意，需调整治疗方案", "心内科")
    _next_visit(v, data)
    data["doctor"] = v.doctor()
    return data


def diabetes_followup(v: Visit) -> dict:
    rng, p, today = v.rng, v.person, v.today
    age = p.age_on(v.day)
    t = traits(rng, p, age)
    data = _chronic_visit(v, p, t, age)
    by_phone = "sbp" not in data
    if not by_phone:
        data["dorsalis_pedis"] = pick(rng, {"1": 88, "2": 6, "3": 2, "4": 2, "5": 2})
    _lifestyle(v, t, data)
    data["staple_food"] = t["staple"]
    data["staple_food_target"] = min(t["staple"], 250)
    data["psychological"] = pick(rng, {"1": 75, "2": 22, "3": 3})
    data["compliance"] = pick(rng, {"1": 78, "2": 19, "3": 3})
    controlled = None
    if not by_phone:
        controlled = v.event["controlled"]
        if controlled:
            fbg = round(normal(rng, 6.1, 0.5, 4.4, 6.9), 1)
        else:
            fbg = round(normal(rng, 8.6, 1.5, 7.0, 18.0), 1)
        data["fbg"] = fbg
        if chance(rng, 0.4):
            data["hba1c"] = round(clip(fbg * 0.6 + 2.6 + rng.gauss(0, 0.4), 4.5, 14.0), 1)
            data["hba1c_date"] = v.date(min(v.before(0, 60), today))
        if chance(rng, 0.1):
            data["aux_exam"] = choice(rng, _AUX_EXAMS)
    _medications(v, t, data)
    data["hypoglycemia"] = pick(rng, {"1": 85, "2": 13, "3": 2})
    visit_class = _visit_class(rng, data, controlled, p_complication=0.02)
    if visit_class:
        data["visit_class"] = visit_class
    if data["medication_adherence"] in ("1", "2"):
        data["medications"] = _drug_rows(t["dm_drugs"])
    if t["insulin"]:
        name, usage = t["insulin"]
        data["insulin_type"] = name
        data["insulin_usage"] = usage.format(t["insulin_units"])
    severe = not by_phone and data["fbg"] >= 16.7
    _referral(v, data, 0.2 if severe else 0.02, "血糖控制不满意，需调整治疗方案", "内分泌科")
    _next_visit(v, data)
    data["doctor"] = v.doctor()
    return data


# -- the resident's record and check-up ----------------------------------------------------
# fmt: off
_DX_FIELDS = {"2": "dx_hypertension", "3": "dx_diabetes", "4": "dx_chd", "5": "dx_copd",
              "6": "dx_cancer", "7": "dx_stroke", "8": "dx_mental", "9": "dx_tb",
              "10": "dx_hepatitis", "11": "dx_notifiable", "12": "dx_occupational",
              "13": "dx_other"}
# fmt: on
_CANCERS = ["肺癌", "乳腺癌", "胃癌", "结直肠癌", "甲状腺癌", "肝癌", "前列腺癌"]
_WORK_UNITS = [
    "某科技有限公司",
    "某商贸公司",
    "某中学",
    "某小学",
    "某医院",
    "某区政府机关",
    "某建筑工程公司",
    "某物业公司",
    "个体经营",
    "某银行支行",
    "某餐饮公司",
]


def _disease_chances(age: int) -> dict[str, float]:
    years = max(0, age - 30)
    return {
        "4": min(0.15, 0.002 * years),  # coronary heart disease
        "5": min(0.08, 0.001 * years),  # COPD
        "6": min(0.04, 0.0006 * years),  # cancer
        "7": min(0.08, 0.0012 * years),  # stroke
        "8": 0.004,
        "9": 0.003,
        "10": 0.01,
        "12": 0.002,
        "13": 0.01,
    }


def _month_between(rng, first: dt.date, last: dt.date) -> str:
    """A 'YYYY-MM' from first..last (the 确诊时间 format)."""
    day = first + dt.timedelta(days=below(rng, max(1, (last - first).days + 1)))
    return f"{day:%Y-%m}"


def _events(
    rng, birth: dt.date, day: dt.date, names: list[str], name_key: str, date_key: str
) -> list[dict]:
    rows = []
    for _ in range(pick(rng, {1: 9, 2: 1})):
        happened = birth + dt.timedelta(days=below(rng, max(1, (day - birth).days)))
        rows.append({name_key: choice(rng, names), date_key: happened.isoformat()})
    return rows


def _marital(rng, age: int) -> str:
    if age < 22:
        return "10"
    if age < 30:
        return pick(rng, {"10": 55, "20": 44, "40": 1})
    if age < 60:
        return pick(rng, {"10": 7, "20": 83, "22": 3, "40": 6, "30": 1})
    return pick(rng, {"20": 72, "22": 2, "30": min(50, (age - 55) * 1.2), "40": 4, "10": 1})


def _education(rng, age: int) -> str:
    if age < 6:
        return "90"
    if age < 12:
        return "80"
    if age < 15:
        return "70"
    if age < 19:
        return pick(rng, {"60": 70, "40": 20, "70": 10})
    if age < 60:
        return pick(
            rng, {"10": 8, "20": 28, "30": 20, "40": 8, "50": 3, "60": 18, "70": 14, "80": 1}
        )
    return pick(rng, {"20": 8, "30": 10, "40": 8, "60": 22, "70": 30, "80": 17, "90": 5})


def _occupation(rng, age: int) -> str:
    if age < 16:
        return "8"
    if age < 20 or age >= 60:
        return "8" if age >= 60 or chance(rng, 0.9) else "3"
    return pick(rng, {"0": 5, "1": 22, "2": 20, "3": 22, "4": 1, "5": 8, "6": 1, "7": 10, "8": 11})


def _registered_person(p) -> dict:
    """The identity block forms open with: name, record number, sex, birth date, ID."""
    data = {
        "name": p.name,
        "record_no": p.record_no,
        "sex": p.sex,
        "birth_date": p.birth.isoformat(),
    }
    if p.id_number:
        data["id_number"] = p.id_number
    return data


def personal_info(v: Visit) -> dict:
    rng, p, day = v.rng, v.person, v.day
    age = p.age_on(day)
    occupation = _occupation(rng, age)
    data = _registered_person(p)
    if occupation != "8" and chance(rng, 0.5):
        data["work_unit"] = choice(rng, _WORK_UNITS)
    data["phone"] = p.phone
    data["contact_name"] = person_name(rng, pick(rng, {"1": 1, "2": 1}))
    data["contact_phone"] = mobile(rng)
    data["address"] = p.address
    data["residence_type"] = pick(rng, {"1": 75, "2": 25})
    data["ethnicity"] = pick(
        rng, {"01": 955, "11": 20, "03": 15, "02": 4, "10": 2, "04": 1, "08": 1, "05": 1, "06": 1}
    )
    data["blood_abo"] = pick(rng, {"1": 27, "2": 31, "3": 29, "4": 9, "5": 4})
    data["blood_rh"] = pick(rng, {"2": 96, "3": 3.6, "1": 0.4})
    data["education"] = _education(rng, age)
    data["occupation"] = occupation
    data["marital_status"] = _marital(rng, age)
    if occupation != "8":
        payment = ["01"] + (["05"] if chance(rng, 0.15) else [])
    else:
        payment = ["01"] if age >= 60 and chance(rng, 0.6) else ["02"]
    if chance(rng, 0.03):
        payment.append("99")
        data["payment_other"] = "异地医保"
    data["payment"] = payment

    allergy = pick(rng, {"1": 88, "2": 7, "3": 2, "4": 1, "5": 2})
    data["drug_allergy"] = [allergy]
    if allergy == "5":
        data["drug_allergy_other"] = choice(rng, ["头孢类", "阿司匹林", "碘造影剂"])
    if chance(rng, 0.8):
        data["exposure"] = ["1"] if chance(rng, 0.96) else [choice(rng, ["2", "3", "4"])]
    # Hypertension and diabetes as the person has them, once managed (or diagnosed).
    core = p.core
    known = {
        "2": core.hypertension and (core.htn_start or day) <= day and chance(rng, 0.9),
        "3": core.diabetes and (core.dm_start or day) <= day and chance(rng, 0.9),
    }
    diseases = [code for code, has in known.items() if has]
    diseases += [code for code, p_ in _disease_chances(age).items() if chance(rng, p_)]
    data["diseases"] = diseases or ["1"]
    for code in diseases:
        first = max(years_after(p.birth, 18), dt.date(1980, 1, 1))
        start = {"2": core.htn_start, "3": core.dm_start}.get(code)
        data[_DX_FIELDS[code]] = (
            f"{start:%Y-%m}" if start else _month_between(rng, min(first, day), day)
        )
    if "6" in diseases and chance(rng, 0.8):
        data["cancer_name"] = choice(rng, _CANCERS)
    if {"11", "12", "13"} & set(diseases):
        data["disease_other_name"] = choice(rng, ["痛风", "甲状腺功能减退", "慢性胃炎", "尘肺"])
    for kind, share, names in (
        ("surgery", 0.12, ["阑尾切除术", "胆囊切除术", "剖宫产术", "白内障手术", "疝修补术"]),
        ("trauma", 0.05, ["左前臂骨折", "右踝扭伤", "头皮裂伤"]),
        ("transfusion", 0.02, ["术中失血", "产后出血", "贫血"]),
    ):
        if chance(rng, share):
            data[kind] = "2"
            data[f"{kind}_list"] = _events(rng, p.birth, day, names, f"{kind}_name", f"{kind}_date")
        else:
            data[kind] = "1"
    for relative in ("family_father", "family_mother", "family_siblings", "family_children"):
        if chance(rng, 0.7):
            history = _some(rng, ["2", "3", "4", "6", "7"], 1, 2) if chance(rng, 0.35) else ["1"]
            data[relative] = history
    data["genetic_disease"] = "1" if chance(rng, 0.995) else "2"
    if data["genetic_disease"] == "2":
        data["genetic_disease_detail"] = choice(rng, ["地中海贫血", "血友病", "色盲"])
    data["disability"] = ["1"] if chance(rng, 0.95) else [choice(rng, ["2", "3", "5", "8"])]
    if data["disability"] == ["8"]:
        data["disability_other"] = "多重残疾"
    data["kitchen_exhaust"] = pick(rng, {"2": 80, "3": 12, "1": 6, "4": 2})
    data["fuel"] = pick(rng, {"3": 72, "1": 20, "2": 4, "6": 4})
    data["water"] = pick(rng, {"1": 95, "2": 4, "3": 1})
    data["toilet"] = pick(rng, {"1": 70, "3": 27, "2": 3})
    data["livestock"] = "1" if chance(rng, 0.98) else "4"
    data["record_date"] = v.date(day)
    data["record_keeper"] = v.doctor()
    data["responsible_doctor"] = v.doctor()
    return data


_HC_SYMPTOMS = [str(code) for code in range(2, 25)]


def health_check(v: Visit) -> dict:
    rng, day, today = v.rng, v.day, v.today
    p = v.person
    age = p.age_on(day)
    t = traits(rng, p, age)
    male = p.sex == "1"
    data = {
        "name": p.name,
        "record_no": p.record_no,
        "sex": p.sex,
        "check_date": v.date(day),
        "birth_date": p.birth.isoformat(),
        "age": age,
        "doctor": v.doctor(),
    }
    if chance(rng, 0.7):
        data["symptoms"] = ["1"]
    else:
        symptoms = _some(rng, _HC_SYMPTOMS, 1, 3)
        if chance(rng, 0.05):
            symptoms.append("25")
            data["symptoms_other"] = choice(rng, ["失眠", "腰痛", "皮肤瘙痒"])
        data["symptoms"] = symptoms
    data["temperature"] = round(normal(rng, 36.5, 0.25, 35.8, 37.4), 1)
    data["pulse"] = normal_int(rng, 74, 8, 50, 110)
    data["respiration"] = normal_int(rng, 17, 1.5, 12, 24)
    sbp, dbp = _blood_pressure(rng, t["sbp"], age)
    data["sbp_left"], data["dbp_left"] = sbp, dbp
    if chance(rng, 0.7):
        right = min(230, max(90, sbp + randint(rng, -6, 6)))
        data["sbp_right"] = right
        data["dbp_right"] = min(max(48, dbp + randint(rng, -4, 4)), right - 18)
    weight = _weight_for(rng, p.height, t["bmi"])
    data["height"], data["weight"] = p.height, weight
    body_mass = bmi(weight, p.height)
    if chance(rng, 0.85):
        waist = 2.6 * body_mass + (22 if male else 15) + rng.gauss(0, 4)
        data["waist"] = round(clip(waist, 55, 140), 1)
    data["bmi"] = body_mass
    if age >= 65:
        frailty = t["frailty"]
        data["self_rated_health"] = pick(rng, {"1": 30, "2": 45, "3": 12, "4": 10, "5": 3})
        data["self_care"] = str(frailty + 1)
        data["cognition"] = "1" if chance(rng, 0.93) else "2"
        if data["cognition"] == "2":
            data["cognition_score"] = randint(rng, 12, 23)
        data["emotion"] = "1" if chance(rng, 0.94) else "2"
        if data["emotion"] == "2":
            data["emotion_score"] = randint(rng, 8, 25)
    exercise = t["exercise_freq"]
    data["exercise_freq"] = exercise
    if exercise != "4":
        data["exercise_minutes"] = choice(rng, [20, 30, 30, 45, 60, 90])
        data["exercise_years"] = float(randint(rng, 1, max(1, min(30, age - 18))))
        data["exercise_type"] = choice(rng, ["散步", "快走", "太极拳", "广场舞", "跑步", "游泳"])
    diet = [choice(rng, ["1", "1", "1", "2", "3"])]
    if chance(rng, 0.25):
        diet.append(choice(rng, ["4", "5", "6"]))
    data["diet"] = diet
    smoking = t["smoking"]
    data["smoking_status"] = smoking
    if smoking != "1":
        start = randint(rng, 16, min(30, age))
        data["cigarettes_per_day"] = choice(rng, [5, 10, 10, 20, 20, 30]) if smoking == "3" else 0
        data["smoking_start_age"] = start
        if smoking == "2":
            data["smoking_quit_age"] = randint(rng, start, max(start, age))
    drinking = t["drinking"]
    data["drinking_freq"] = drinking
    if drinking != "1":
        data["alcohol_per_day"] = choice(rng, [0.5, 1.0, 1.0, 2.0, 3.0])
        start = randint(rng, 16, min(30, age))
        quit_ = chance(rng, 0.08)
        data["quit_drinking"] = "2" if quit_ else "1"
        if quit_:
            data["quit_drinking_age"] = randint(rng, start, max(start, age))
        data["drinking_start_age"] = start
        data["drunk_past_year"] = "1" if chance(rng, 0.1) else "2"
        data["alcohol_type"] = _some(rng, ["1", "2", "3", "4"], 1, 2)
    if chance(rng, 0.03):
        data["occupational_hazard"] = "2"
        data["occupational_hazard_detail"] = "粉尘作业，10年"
    else:
        data["occupational_hazard"] = "1"
    vision_mean = 5.0 - 0.01 * max(0, age - 50)
    data["vision_left"] = round(normal(rng, vision_mean, 0.15, 4.0, 5.3), 1)
    data["vision_right"] = round(normal(rng, vision_mean, 0.15, 4.0, 5.3), 1)
    data["hearing"] = "1" if chance(rng, 0.95 if age < 75 else 0.8) else "2"
    data["motor"] = "1" if chance(rng, 0.97) else "2"
    if chance(rng, 0.85):
        _check_up_labs(rng, t, male, data)
    if chance(rng, 0.06):
        admitted = v.before(30, 700, floor=p.birth)
        discharged = min(admitted + dt.timedelta(days=randint(rng, 3, 14)), today)
        data["hospitalisations"] = [
            {
                "admission_date": admitted.isoformat(),
                "discharge_date": discharged.isoformat(),
                "admission_reason": choice(rng, ["肺炎", "冠心病", "脑梗死", "骨折", "胆囊结石"]),
                "hospital": f"北京市{v.unit.district_name}示范医院",
            }
        ]
    if age >= 55 and chance(rng, 0.4):
        drugs = rng.sample(_HTN_DRUGS + _DM_DRUGS, randint(rng, 1, 2))
        data["medications"] = [
            {
                "med_name": name,
                "med_usage": "口服",
                "med_dose": f"每日{times}次，每次{dose}",
                "med_duration": f"{randint(rng, 1, 15)}年",
                "med_adherence": pick(rng, {"1": 80, "2": 15, "3": 5}),
            }
            for name, times, dose in drugs
        ]
    if age >= 60 and chance(rng, 0.15):
        data["vaccinations"] = [
            {
                "vaccine_name": choice(rng, ["流感疫苗", "23价肺炎球菌多糖疫苗"]),
                "vaccine_date": v.before(10, 300).isoformat(),
                "vaccine_org": v.unit.name,
            }
        ]
    abnormal = sbp >= 140 or dbp >= 90 or body_mass >= 28 or data.get("fbg", 0) >= 7.0
    data["health_eval"] = "2" if abnormal else "1"
    if abnormal:
        findings = []
        if sbp >= 140 or dbp >= 90:
            findings.append("血压偏高")
        if body_mass >= 28:
            findings.append("肥胖")
        if data.get("fbg", 0) >= 7.0:
            findings.append("空腹血糖升高")
        data["health_eval_detail"] = "，".join(findings)
        data["health_guidance"] = ["1", "2"] if chance(rng, 0.6) else ["2"]
    risks = []
    if smoking == "3":
        risks.append("1")
    if drinking in ("3", "4"):
        risks.append("2")
    if chance(rng, 0.5):
        risks.append("3")
    if exercise == "4":
        risks.append("4")
    if body_mass >= 24:
        risks.append("5")
    if risks:
        data["risk_control"] = risks
    if "5" in risks:
        data["target_weight"] = one_decimal(weight - choice(rng, [2, 3, 5]))
    return data


def _check_up_labs(rng, t: dict, male: bool, data: dict) -> None:
    data["hb"] = normal_int(rng, 145 if male else 128, 11, 85, 185)
    data["wbc"] = round(normal(rng, 6.3, 1.4, 2.8, 14.0), 1)
    data["plt"] = normal_int(rng, 225, 50, 90, 450)
    fbg = round(normal(rng, t["fbg"], 0.4, 3.5, 20.0), 2)
    data["fbg"] = fbg
    if fbg >= 6.1 and chance(rng, 0.7):
        data["hba1c"] = round(clip(fbg * 0.6 + 2.6 + rng.gauss(0, 0.3), 4.5, 14.0), 1)
    data["alt"] = normal_int(rng, 22, 9, 5, 120)
    data["ast"] = normal_int(rng, 23, 7, 8, 100)
    data["scr"] = normal_int(rng, 80 if male else 62, 14, 35, 200)
    data["tc"] = round(normal(rng, 4.9, 0.9, 2.6, 9.0), 2)
    data["tg"] = round(normal(rng, 1.5, 0.7, 0.4, 6.0), 2)
    data["ldl"] = round(normal(rng, 2.9, 0.7, 1.0, 6.0), 2)
    data["hdl"] = round(normal(rng, 1.15 if male else 1.35, 0.25, 0.6, 2.5), 2)
    data["ecg"] = "1" if chance(rng, 0.85) else "2"
    if data["ecg"] == "2":
        data["ecg_detail"] = choice(rng, ["窦性心动过缓", "ST-T改变", "左心室高电压", "房性早搏"])


# -- 保健: older people, pregnancy, newborns -------------------------------------------------
_MEAL, _GROOM, _DRESS, _TOILET, _ACTIVITY = (
    {"1": 0, "3": 3, "4": 5},
    {"1": 0, "2": 1, "3": 3, "4": 7},
    {"1": 0, "3": 3, "4": 5},
    {"1": 0, "2": 1, "3": 5, "4": 10},
    {"1": 0, "2": 1, "3": 5, "4": 10},
)


def _level(rng, frailty: int, scores: dict) -> str:
    """An item's level for a person of this frailty (0 independent … 3 dependent)."""
    codes = list(scores)
    if frailty == 0:  # now and then a one-point slip (washing, continence, walking)
        return codes[1] if scores[codes[1]] == 1 and chance(rng, 0.1) else codes[0]
    position = min(len(codes) - 1, max(0, frailty - 1 + choice(rng, [0, 1, 1, 2])))
    return codes[position]


def elderly_selfcare(v: Visit) -> dict:
    rng = v.rng
    p = v.person
    frailty = traits(rng, p, p.age_on(v.day))["frailty"]
    data = {"name": p.name, "record_no": p.record_no, "assess_date": v.date(v.day)}
    if chance(rng, 0.9):
        data["birth_date"] = p.birth.isoformat()
    total = 0
    for item, scores in (
        ("meal", _MEAL),
        ("grooming", _GROOM),
        ("dressing", _DRESS),
        ("toileting", _TOILET),
        ("activity", _ACTIVITY),
    ):
        level = _level(rng, frailty, scores)
        data[item] = level
        data[f"{item}_score"] = scores[level]
        total += scores[level]
    data["total_score"] = total
    data["band"] = "1" if total <= 3 else "2" if total <= 8 else "3" if total <= 18 else "4"
    data["assessor"] = v.doctor()
    return data


def prenatal_first(v: Visit) -> dict:
    rng, day, e = v.rng, v.day, v.event
    p = v.person
    age = p.age_on(day)
    weeks, days = divmod(e["gest"], 7)
    lmp = e["lmp"]
    gravidity = pick(rng, {1: 45, 2: 35, 3: 15, 4: 5})
    earlier = gravidity - 1
    births = randint(rng, 0, earlier)
    caesarean = sum(chance(rng, 0.4) for _ in range(births))
    data = {
        "name": p.name,
        "record_no": p.record_no,
        "visit_date": v.date(day),
        "gest_weeks": weeks,
        "gest_days": days,
        "mother_age": age,
    }
    if chance(rng, 0.9):
        data["husband_name"] = person_name(rng, "1")
        data["husband_age"] = normal_int(rng, age + 2, 3, 20, 60)
        data["husband_phone"] = mobile(rng)
    data.update(
        gravidity=gravidity,
        vaginal_births=births - caesarean,
        caesarean_births=caesarean,
        lmp_known="1" if e["known"] else "2",
    )
    if e["known"]:  # else 孕周 from the ultrasound
        data["lmp"] = lmp.isoformat()
        data["edd"] = (lmp + dt.timedelta(days=280)).isoformat()
    data["past_history"] = ["1"] if chance(rng, 0.88) else [choice(rng, ["5", "6", "7", "3"])]
    data["family_history"] = ["1"] if chance(rng, 0.93) else ["2"]
    data["personal_history"] = ["1"] if chance(rng, 0.9) else [choice(rng, ["3", "4", "2"])]
    if caesarean or chance(rng, 0.05):
        data["gyn_surgery"] = "2"
        data["gyn_surgery_detail"] = "剖宫产术" if caesarean else "子宫肌瘤剔除术"
    else:
        data["gyn_surgery"] = "1"
    if earlier:
        data["miscarriages"] = earlier - births
        data["stillbirths"] = data["deadbirths"] = data["neonatal_deaths"] = 0
        data["birth_defects"] = 0
    height = one_decimal(normal(rng, 161, 5.5, 145, 182))
    weight = _weight_for(rng, height, normal(rng, 21.8, 2.8, 16.5, 34.0))
    data.update(height=height, weight=weight, bmi=bmi(weight, height))
    sbp = normal_int(rng, 112, 9, 88, 150)
    data["sbp"], data["dbp"] = sbp, min(normal_int(rng, 72, 7, 50, 98), sbp - 20)
    for organ in ("heart", "lungs", "gyn_exam"):
        if chance(rng, 0.97):
            data[organ] = "1"
        else:
            data[organ] = "2"
            data[f"{organ}_detail"] = {
                "heart": "心律不齐",
                "lungs": "呼吸音粗",
                "gyn_exam": "宫颈糜烂样改变",
            }[organ]
    data["hb"] = normal_int(rng, 122, 10, 80, 160)
    data["wbc"] = round(normal(rng, 8.0, 1.7, 3.5, 16.0), 1)
    data["plt"] = normal_int(rng, 230, 48, 100, 420)
    data["urine_routine"] = choice(rng, ["未见异常", "尿蛋白(-)，尿糖(-)", "尿酮体(+)"])
    data["blood_abo"] = pick(rng, {"1": 28, "2": 32, "3": 30, "4": 10})
    data["blood_rh"] = "2" if chance(rng, 0.996) else "1"
    data["glucose"] = round(normal(rng, 4.7, 0.45, 3.6, 9.0), 1)
    hbsag = "2" if chance(rng, 0.05) else "1"
    data.update(
        hbsag=hbsag,
        hbsab="1" if hbsag == "2" else pick(rng, {"2": 6, "1": 4}),
        hbeag="2" if hbsag == "2" and chance(rng, 0.3) else "1",
        hbeab="1",
        hbcab="2" if hbsag == "2" else "1",
    )
    data["syphilis"] = "2" if chance(rng, 0.003) else "1"
    data["hiv"] = "1"
    data["ultrasound"] = "宫内早孕，可见胎心搏动" if weeks <= 12 else "宫内妊娠，单活胎"
    abnormal = data["hb"] < 110 or hbsag == "2" or data["syphilis"] == "2"
    data["overall_assessment"] = "2" if abnormal else "1"
    if abnormal:
        data["overall_assessment_detail"] = "贫血" if data["hb"] < 110 else "传染病筛查阳性"
    data["guidance"] = _some(rng, ["1", "2", "3", "4", "5"], 3, 5)
    _referral(v, data, 0.03, "高危妊娠", "妇产科")
    data["next_visit_date"] = v.date(v.after(25, 31))
    data["doctor"] = v.doctor()
    return data


def newborn_visit(v: Visit) -> dict:
    rng, unit, day, e = v.rng, v.unit, v.day, v.event
    p, mother = v.person, e["mother"]
    birth = p.birth
    data = {"name": p.name, "record_no": p.record_no, "sex": p.sex, "birth_date": birth.isoformat()}
    if p.id_number:
        data["id_number"] = p.id_number
    data["address"] = mother.address
    mother_age = mother.age_on(birth)
    if chance(rng, 0.85):
        data["father_name"] = p.name[0] + person_name(rng, "1")[1:]
        data["father_phone"] = mobile(rng)
        data["father_birth_date"] = birth_date_for_age(
            rng, normal_int(rng, mother_age + 2, 3, 20, 60), day
        ).isoformat()
    data["mother_name"] = mother.name
    data["mother_phone"] = mother.phone if mother.phone[0] == "1" else mobile(rng)
    data["mother_birth_date"] = mother.birth.isoformat()
    weeks = e["weeks"]
    data["birth_gest_weeks"] = weeks
    data["mother_illness"] = ["1"] if chance(rng, 0.85) else [choice(rng, ["2", "3", "4"])]
    data["delivery_org"] = f"{unit.district_name}妇幼保健院"
    caesarean = e["caesarean"]
    data["birth_situation"] = ["4"] if caesarean else ["1"] if chance(rng, 0.95) else ["2"]
    if chance(rng, 0.02):
        data["asphyxia"] = "2"
        data["apgar_1"] = randint(rng, 4, 7)
        data["apgar_5"] = randint(rng, 7, 9)
    else:
        data["asphyxia"] = "1"
    data["malformation"] = "1" if chance(rng, 0.995) else "2"
    if data["malformation"] == "2":
        data["malformation_detail"] = "多指（趾）"
    data["hearing_screen"] = pick(rng, {"1": 94, "2": 2, "3": 3, "4": 1})
    data["disease_screen"] = ["2"] if chance(rng, 0.9) else ["1"]
    birth_weight = round(normal(rng, 3.3 - 0.15 * max(0, 38 - weeks), 0.4, 1.8, 4.8), 2)
    data["birth_weight"] = birth_weight
    data["birth_length"] = round(normal(rng, 50, 1.8, 44, 56), 1)
    age_days = (day - birth).days
    data["discharge_date"] = e["discharge"].isoformat()
    data["visit_date"] = v.date(day)
    gain = max(-0.25, 0.03 * (age_days - 7) + rng.gauss(0, 0.08))
    data["current_weight"] = round(clip(birth_weight + gain, 1.5, 6.5), 2)
    feeding = pick(rng, {"1": 65, "2": 28, "3": 7})
    data["feeding"] = feeding
    if feeding == "3" or (feeding == "2" and chance(rng, 0.5)):
        data["milk_volume"] = choice(rng, [60, 80, 90, 100, 120, 150])
    data["feeds_per_day"] = randint(rng, 7, 12)
    data["vomiting"] = "1" if chance(rng, 0.95) else "2"
    data["stool"] = "1" if chance(rng, 0.85) else pick(rng, {"2": 2, "3": 1})
    data["stools_per_day"] = randint(rng, 1, 6)
    data["temperature"] = round(normal(rng, 36.8, 0.2, 36.2, 37.5), 1)
    data["heart_rate"] = normal_int(rng, 140, 10, 110, 180)
    data["respiration"] = normal_int(rng, 42, 5, 30, 60)
    jaundiced = chance(rng, 0.3)
    data["complexion"] = "2" if jaundiced else "1"
    data["jaundice_sites"] = _some(rng, ["2", "3"], 1, 2) if jaundiced else ["1"]
    data["umbilical_cord"] = "1" if age_days < 10 else pick(rng, {"2": 95, "3": 5})
    data["guidance"] = _some(rng, ["1", "2", "3", "4", "5"], 2, 5)
    _referral(v, data, 0.02, "黄疸较重，需进一步检查", "儿科")
    data["next_visit_date"] = (birth + dt.timedelta(days=randint(rng, 28, 32))).isoformat()
    if data["next_visit_date"] <= data["visit_date"]:
        data["next_visit_date"] = v.date(v.after(7, 10))
    data["next_visit_place"] = choice(rng, ["社区卫生服务中心", "家中"])
    data["doctor"] = v.doctor()
    return data


# -- 预防: immunisation card, infectious disease report --------------------------------------
# (vaccine, dose, age in days when due, injection site), from the national immunisation
# schedule (国家免疫规划疫苗儿童免疫程序).
# fmt: off
_SCHEDULE = [
    ("hepb", 1, 0, "2"), ("bcg", 1, 0, "1"), ("hepb", 2, 30, "2"), ("ipv", 1, 60, "1"),
    ("ipv", 2, 90, "1"), ("dtap", 1, 90, "2"), ("bopv", 1, 120, "5"), ("dtap", 2, 120, "2"),
    ("dtap", 3, 150, "2"), ("hepb", 3, 180, "2"), ("mpsv_a", 1, 180, "1"),
    ("mmr", 1, 240, "1"), ("je_l", 1, 240, "1"), ("mpsv_a", 2, 270, "1"),
    ("dtap", 4, 545, "2"), ("mmr", 2, 545, "1"), ("hepa_l", 1, 545, "1"),
    ("je_l", 2, 730, "1"), ("mpsv_ac", 1, 1095, "1"), ("bopv", 2, 1460, "5"),
    ("mpsv_ac", 2, 2190, "1"), ("dt", 1, 2190, "2"),
]
# fmt: on
_OPTIONAL_VACCINES = [
    "13价肺炎球菌多糖结合疫苗",
    "b型流感嗜血杆菌结合疫苗",
    "口服轮状病毒活疫苗",
    "水痘减毒活疫苗",
    "流感疫苗",
    "EV71型手足口病灭活疫苗",
]


def immunization_card(v: Visit) -> dict:
    rng, unit, p = v.rng, v.unit, v.person
    # The card is made in the first month; doses are added to it up to today.
    card_date, day = v.day, v.today
    birth, sex = p.birth, p.sex
    guardian_sex = pick(rng, {"2": 62, "1": 38})
    mother = v.event.get("mother")
    guardian = mother.name if guardian_sex == "2" and mother else person_name(rng, guardian_sex)
    data = {
        "child_name": p.name,
        "child_code": f"{unit.code[:6]}{birth:%Y%m%d}{p.core.serial % 10_000:04d}",
        "sex": sex,
        "birth_date": birth.isoformat(),
    }
    if p.id_number:
        data["id_number"] = p.id_number
    data["guardian_name"] = guardian
    data["guardian_relation"] = guardian_sex if chance(rng, 0.96) else "3"  # 1 father, 2 mother
    data["contact_phone"] = mobile(rng)
    data["address"] = p.address
    if chance(rng, 0.1):
        data["move_in_date"] = v.date(min(card_date + dt.timedelta(days=randint(rng, 0, 400)), day))
    if chance(rng, 0.03):
        data["allergy_history"] = "接种后低热，已自愈"
    data["card_date"] = card_date.isoformat()
    data["card_by"] = v.doctor()
    doses = []
    for vaccine, number, due, site in _SCHEDULE:
        given = birth + dt.timedelta(
            days=due + (randint(rng, 0, 1) if due == 0 else randint(rng, 0, 20))
        )
        if given > day or chance(rng, 0.02):
            continue
        doses.append(
            (
                given,
                {
                    "vaccine": vaccine,
                    "dose_number": number,
                    "dose_date": given.isoformat(),
                    "site": site,
                },
            )
        )
    age_days = (day - birth).days
    if age_days > 60 and chance(rng, 0.35):
        given = birth + dt.timedelta(days=randint(rng, 60, age_days))
        doses.append(
            (
                given,
                {
                    "vaccine": "other",
                    "vaccine_other": choice(rng, _OPTIONAL_VACCINES),
                    "dose_number": 1,
                    "dose_date": given.isoformat(),
                    "site": "1",
                },
            )
        )
    doses.sort(key=lambda pair: pair[0])
    vaccinator = v.doctor()
    rows = []
    for given, row in doses:
        row["lot_number"] = f"{given.year}{below(rng, 100_000):05d}"
        row["clinic"] = unit.name
        row["vaccinator"] = vaccinator
        rows.append(row)
    if rows:
        data["doses"] = rows
    return data


# disease code: (weight, ages, seasonal months with their factor)
_DISEASES = {
    "301": (40, (0, 90), {12: 4, 1: 4, 2: 3, 3: 2, 11: 2}),  # influenza
    "310": (15, (0, 90), {7: 2, 8: 2, 6: 1.5, 9: 1.5}),  # other infectious diarrhoea
    "311": (10, (1, 6), {5: 3, 6: 3, 7: 2.5, 4: 1.5, 8: 1.5}),  # hand, foot and mouth
    "218": (6, (18, 85), {}),  # pulmonary TB
    "227": (6, (20, 75), {}),  # syphilis
    "204": (5, (25, 75), {}),  # hepatitis B
    "232": (5, (0, 95), {12: 2, 1: 2}),  # COVID-19
    "217": (2, (0, 80), {7: 3, 8: 3}),  # dysentery
    "224": (2, (3, 12), {4: 2, 5: 2, 11: 2, 12: 2}),  # scarlet fever
    "302": (2, (3, 15), {4: 2, 5: 2}),  # mumps
    "226": (1.5, (20, 60), {}),  # gonorrhoea
    "205": (1, (25, 75), {}),  # hepatitis C
    "221": (1, (0, 12), {}),  # pertussis
    "304": (0.5, (5, 70), {8: 4, 9: 3}),  # acute haemorrhagic conjunctivitis
    "202": (0.5, (20, 65), {}),  # AIDS
    "203": (0.3, (5, 70), {}),  # hepatitis A
    "207": (0.3, (30, 80), {}),  # hepatitis E
    "901": (0.5, (0, 14), {}),  # other (varicella)
}
_DISEASE_NAMES = {
    "301": "流行性感冒",
    "310": "其他感染性腹泻病",
    "311": "手足口病",
    "218": "肺结核",
    "227": "梅毒",
    "204": "乙型病毒性肝炎",
}


def _idr_occupation(rng, age: int) -> str:
    if age < 3:
        return "2"
    if age < 7:
        return pick(rng, {"1": 80, "2": 20})
    if age < 23:
        return "3"
    if age >= 60:
        return pick(rng, {"15": 80, "16": 15, "11": 5})
    return pick(
        rng,
        {
            "14": 25,
            "7": 18,
            "9": 12,
            "16": 12,
            "10": 8,
            "4": 4,
            "8": 4,
            "6": 5,
            "5": 2,
            "17": 8,
            "18": 2,
        },
    )


def infectious_disease_report(v: Visit) -> dict:
    rng, unit, day, p = v.rng, v.unit, v.day, v.person
    diagnosed, reported = v.event["diagnosed"], v.event["reported"]
    month = diagnosed.month
    age = p.age_on(day)
    weights = {
        code: w * seasons.get(month, 1)
        for code, (w, (low, high), seasons) in _DISEASES.items()
        if low <= age <= high
    }
    disease = pick(rng, weights) if weights else "301"
    birth, sex = p.birth, p.sex
    report_type = "2" if chance(rng, 0.03) else "1"
    data = {
        "card_no": f"{unit.code}{day:%Y%m%d}{below(rng, 1000):03d}",
        "report_type": report_type,
        "patient_name": p.name,
        "sex": sex,
        "birth_date": birth.isoformat(),
        "age_years": age,
    }
    if p.id_number:
        data["id_number"] = p.id_number
    if age < 14:
        data["guardian_name"] = person_name(rng, pick(rng, {"1": 1, "2": 1}))
    occupation = _idr_occupation(rng, age)
    if occupation in ("1", "3") and chance(rng, 0.8):
        data["work_unit"] = (
            "某幼儿园" if occupation == "1" else choice(rng, ["某小学", "某中学", "某大学"])
        )
    data["phone"] = p.phone if p.phone[0] == "1" else mobile(rng)
    data["origin"] = pick(rng, {"1": 80, "2": 14, "4": 5, "6": 1})
    data["address"] = p.address
    data["occupation"] = occupation
    long_course = disease in ("218", "204", "205", "227", "202")
    data["case_class"] = (
        "3" if disease in ("227", "202", "204", "205", "226") else pick(rng, {"2": 55, "3": 45})
    )
    data["disease"] = disease
    if disease in ("204", "205"):
        data["acute_chronic"] = "2" if chance(rng, 0.85) else "1"
    if disease == "901":
        data["disease_other"] = "水痘"
    onset = diagnosed.date() - dt.timedelta(days=randint(rng, 0, 60 if long_course else 6))
    data["onset_date"] = max(onset, birth).isoformat()
    data["diagnosis_time"] = diagnosed.isoformat(timespec="minutes")
    if report_type == "2":
        data["revised_disease"] = _DISEASE_NAMES.get(disease, "流行性感冒")
    data["report_org"] = unit.name
    if chance(rng, 0.6):
        data["report_org_phone"] = f"010-{randint(rng, 5, 8)}{below(rng, 10_000_000):07d}"
    data["report_doctor"] = v.doctor()
    data["report_date"] = v.date(day)
    data["report_time"] = reported.isoformat(timespec="minutes")
    return data


# -- 健康教育, referrals, rehabilitation, family planning ------------------------------------
_TOPICS = {
    "高血压的防治与自我管理": 10,
    "糖尿病饮食与运动指导": 8,
    "合理膳食，减盐减油": 8,
    "控烟与戒烟": 5,
    "老年人防跌倒": 6,
    "心肺复苏与急救知识": 4,
    "口腔健康": 3,
    "科学就医与合理用药": 4,
    "心理健康与压力管理": 3,
    "中医药养生保健": 5,
    "流感与呼吸道传染病预防": 0,
    "肠道传染病与食品安全": 0,
    "孕期保健与母乳喂养": 3,
}
_FORMS_OF_ACTIVITY = {"1": 40, "2": 20, "3": 12, "4": 14, "5": 6, "6": 6, "7": 2}


def health_education_activity(v: Visit) -> dict:
    rng, unit, day, today = v.rng, v.unit, v.day, v.today
    topics = dict(_TOPICS)
    topics["流感与呼吸道传染病预防"] = 12 if day.month in (11, 12, 1, 2, 3) else 1
    topics["肠道传染病与食品安全"] = 10 if day.month in (6, 7, 8) else 1
    form = pick(rng, _FORMS_OF_ACTIVITY)
    data = {
        "activity_date": v.date(day),
        "place": choice(
            rng, [f"{unit.name}多功能厅", "社区居委会活动室", "社区文化广场", "辖区老年活动中心"]
        ),
        "activity_form": form,
    }
    if form == "7":
        data["activity_form_other"] = "义诊"
    topic = pick(rng, topics)
    data["topic"] = topic
    data["organizer"] = unit.name
    data["audience_type"] = choice(
        rng, ["社区居民", "慢性病患者", "老年人", "孕产妇及家属", "中小学生家长"]
    )
    if form != "3":
        data["participants"] = (
            randint(rng, 20, 80)
            if form == "1"
            else randint(rng, 50, 300)
            if form == "2"
            else randint(rng, 5, 120)
        )
    if form in ("1", "2", "4"):
        data["materials_kind"] = choice(rng, ["折页", "宣传册", "折页、海报", "宣传册、控盐勺"])
        data["materials_count"] = randint(rng, 30, 500)
    data["content"] = f"围绕“{topic}”进行讲解与现场答疑。"
    data["evaluation"] = choice(
        rng, ["居民参与积极，反响良好。", "达到预期效果。", "现场互动较多，建议增加场次。"]
    )
    archive = _some(rng, ["1", "2", "5"], 1, 3)
    if chance(rng, 0.05):
        archive.append("6")
        data["archive_other"] = "视频录像"
    data["archive_materials"] = archive
    data["filled_by"] = v.doctor()
    data["supervisor"] = v.doctor()
    data["filled_date"] = v.date(min(v.after(0, 3), today))
    return data


_REFERRAL_REASONS = [
    ("高血压3级，血压控制不佳", "反复头晕，血压波动于170–190/100–110 mmHg", "心内科"),
    ("2型糖尿病，血糖控制不佳", "空腹血糖持续高于13 mmol/L", "内分泌科"),
    ("胸痛待查", "活动后胸骨后压榨样疼痛3天", "心内科"),
    ("脑卒中恢复期", "左侧肢体无力，需康复评估", "神经内科"),
    ("社区获得性肺炎", "发热、咳嗽5天，抗感染治疗效果不佳", "呼吸内科"),
    ("股骨颈骨折可能", "跌倒后右髋疼痛、活动受限", "骨科"),
]


def referral_slip(v: Visit) -> dict:
    rng, unit, day, p = v.rng, v.unit, v.day, v.person
    direction = "1" if chance(rng, 0.72) else "2"
    impression, history, department = choice(rng, _REFERRAL_REASONS)
    hospital = f"北京市{unit.district_name}示范医院"
    data = {"direction": direction, "name": p.name, "sex": p.sex, "age": p.age_on(day)}
    if p.id_number:
        data["id_number"] = p.id_number
    if chance(rng, 0.7):
        data["record_no"] = p.record_no
    data["address"] = p.address
    data["phone"] = p.phone
    if direction == "1":
        data.update(
            to_hospital=hospital,
            to_department=department,
            impression=impression,
            present_history=history,
        )
        if chance(rng, 0.6):
            data["past_history"] = choice(rng, ["高血压10年", "糖尿病5年", "无特殊"])
        if chance(rng, 0.6):
            data["treatment_so_far"] = "社区对症治疗，效果欠佳"
        data.update(from_org=unit.name)
    else:
        data["to_community_org"] = unit.name
        if chance(rng, 0.8):
            data["inpatient_no"] = f"{below(rng, 1_000_000):06d}"
        data["diagnosis"] = impression.split("，")[0]
        data["main_results"] = "见出院小结"
        data["follow_plan"] = "病情稳定，转回社区继续治疗与随访，定期监测。"
        data["from_org"] = hospital
    data["referring_doctor"] = v.doctor() if direction == "1" else person_name(rng, "1")
    if chance(rng, 0.7):
        data["referring_phone"] = f"010-{randint(rng, 5, 8)}{below(rng, 10_000_000):07d}"
    data["referral_date"] = v.date(day)
    return data


_REHAB_CASES = [
    ("脑卒中后遗症", ["4"], (55, 88)),
    ("脑梗死恢复期", ["4"], (50, 88)),
    ("骨折术后", ["8"], (30, 85)),
    ("腰椎间盘突出症", ["8"], (30, 75)),
    ("膝骨关节炎", ["8"], (50, 85)),
    ("脊髓损伤", ["4"], (20, 70)),
    ("帕金森病", ["4", "8"], (55, 85)),
    ("脑性瘫痪", ["4", "5"], (18, 40)),
    ("精神分裂症（稳定期）", ["6"], (20, 70)),
    ("听力障碍", ["2"], (40, 90)),
]


def _rehab_case(rng, p: Person, age: int) -> dict:
    """The person's condition, one that fits their age, kept for the episode's sessions."""
    case = p.traits.get("rehab")
    if case is None:
        fitting = [c for c in _REHAB_CASES if c[2][0] <= age <= c[2][1]] or _REHAB_CASES[2:3]
        diagnosis, types, _ages = choice(rng, fitting)
        case = p.traits["rehab"] = {
            "diagnosis": diagnosis,
            "types": types,
            "barthel": 5 * randint(rng, 4, 18),
            "onset_days": randint(rng, 60, 1500),
        }
    return case


def rehabilitation_record(v: Visit) -> dict:
    rng, day, p = v.rng, v.day, v.person
    t = _rehab_case(rng, p, p.age_on(day))
    data = _registered_person(p)
    data["phone"] = p.phone
    data["address"] = p.address
    data["disability_type"] = list(t["types"])
    if p.id_number and "8" not in t["types"]:
        data["disability_cert"] = p.id_number + t["types"][0] + str(randint(rng, 1, 4))
    data["diagnosis"] = t["diagnosis"]
    data["onset_date"] = max(p.birth, day - dt.timedelta(days=t["onset_days"])).isoformat()
    data["service_date"] = v.date(day)
    data["service_place"] = pick(rng, {"1": 55, "2": 35, "3": 10})
    services = _some(rng, ["1", "2", "3", "4", "5", "6", "7", "8"], 1, 3)
    if chance(rng, 0.03):
        services.append("9")
        data["services_other"] = "吞咽功能训练"
    data["services"] = services
    data["duration_minutes"] = choice(rng, [30, 40, 45, 60, 90])
    barthel = min(100, max(0, t["barthel"] + choice(rng, [-5, 0, 0, 5, 5, 10])))
    data["barthel"] = barthel
    data["functional_change"] = pick(rng, {"1": 45, "2": 48, "3": 7})
    data["goals"] = "提高日常生活活动能力，预防并发症"
    data["plan"] = "每周训练2–3次，家属协助居家训练"
    _referral(v, data, 0.02, "功能下降，需专科评估", "康复医学科")
    data["therapist"] = v.doctor()
    data["next_service_date"] = v.date(v.after(7, 14))
    return data


# fmt: off
_WOMEN_SERVICES = {"1": 15, "2": 8, "3": 2, "4": 1, "5": 1, "7": 8, "8": 35, "9": 20, "10": 8,
                   "11": 2}
# fmt: on
_MEN_SERVICES = {"6": 5, "8": 60, "9": 30, "10": 5}
_IUDS = ["宫形铜IUD", "T型铜IUD（TCu380A）", "元宫型药铜IUD", "γ型IUD"]


def family_planning_service(v: Visit) -> dict:
    rng, unit, day, p = v.rng, v.unit, v.day, v.person
    sex = p.sex
    woman = sex == "2"
    service = pick(rng, _WOMEN_SERVICES if woman else _MEN_SERVICES)
    data = {"name": p.name, "sex": sex, "birth_date": p.birth.isoformat()}
    if p.id_number:
        data["id_number"] = p.id_number
    data["phone"] = p.phone
    data["address"] = p.address
    data["marital_status"] = pick(rng, {"20": 88, "10": 8, "40": 4})
    data["living_children"] = pick(rng, {0: 25, 1: 50, 2: 22, 3: 3})
    data["service_date"] = v.date(day)
    data["service"] = service
    if service == "11":
        data["service_other"] = "避孕效果咨询"
    if woman and chance(rng, 0.8):
        data["lmp"] = v.date(v.before(3, 35))
    if service in ("1", "2"):
        data["iud_type"] = choice(rng, _IUDS)
    if service == "8":
        data["contraceptive_type"] = (
            ["1"] if chance(rng, 0.7) else _some(rng, ["1", "2", "3"], 1, 2)
        )
        data["contraceptive_quantity"] = choice(rng, [10, 20, 30, 50, 100])
    if service == "7":
        weeks = randint(rng, 5, 12)
        data["abortion_gest_weeks"] = weeks
        data["abortion_method"] = (
            "1" if weeks <= 7 and chance(rng, 0.6) else ("3" if weeks >= 11 else "2")
        )
    if service in ("1", "2", "3", "4", "5", "6", "7") or chance(rng, 0.3):
        sbp = normal_int(rng, 115 if woman else 122, 10, 90, 150)
        data["sbp"], data["dbp"] = sbp, min(normal_int(rng, 74, 7, 50, 98), sbp - 20)
    if service in ("1", "3", "5", "6", "7"):
        data["preop_check"] = (
            "血常规、凝血功能、阴道分泌物检查未见异常" if woman else "血常规未见异常"
        )
    data["complication"] = "1" if chance(rng, 0.98) else "2"
    if data["complication"] == "2":
        data["complication_detail"] = choice(rng, ["术后少量出血", "下腹隐痛"])
    data["advice"] = "按时复查，如有不适随时就诊。"
    data["provider"] = v.doctor()
    data["provider_org"] = unit.name
    data["followup_date"] = v.date(v.after(25, 35))
    return data


# -- the baseline survey -------------------------------------------------------------------
def baseline_institution(v: Visit) -> dict:
    rng, unit = v.rng, v.unit
    centre = unit.type == "centre"
    population = v.event["population"]  # the unit's demo residents
    staff = randint(rng, 80, 220) if centre else randint(rng, 8, 25)
    doctors = int(staff * normal(rng, 0.36, 0.04, 0.25, 0.5))
    gps = int(doctors * normal(rng, 0.6, 0.1, 0.3, 0.9))
    income = round(rng.uniform(3000, 15000) if centre else rng.uniform(300, 1200), 2)
    expense = round(income * rng.uniform(0.92, 1.03), 2)
    data = {
        "org_name": unit.name,
        "org_type": "1" if centre else "2",
        "sponsor": pick(rng, {"1": 75, "2": 15, "3": 4, "4": 5, "5": 1}),
        "insurance_designated": "1" if chance(rng, 0.96) else "2",
        "building_area": round(rng.uniform(2500, 8000) if centre else rng.uniform(150, 500), 1),
        "premises": pick(rng, {"1": 55, "2": 25, "3": 20}),
        "service_population": population,
        "service_households": int(population / rng.uniform(2.4, 2.8)),
        "staff_total": staff,
        "doctors": doctors,
        "gps": gps,
        "gps_trained": int(gps * rng.uniform(0.5, 1.0)),
        "nurses": int(staff * normal(rng, 0.3, 0.04, 0.2, 0.45)),
        "public_health_staff": int(staff * normal(rng, 0.1, 0.03, 0.03, 0.2)),
        "training_attendances": randint(rng, staff, staff * 6),
        "beds": choice(rng, [0, 0, 10, 20, 30, 50]) if centre else 0,
        "equipment": (
            _some(rng, [str(c) for c in range(1, 11)], 6, 10)
            if centre
            else _some(rng, ["1", "5", "6", "8"], 1, 3)
        ),
        "equipment_value": round(rng.uniform(200, 3000) if centre else rng.uniform(5, 60), 2),
        "functions": (
            ["1", "2", "3", "4", "5", "6"] if centre or chance(rng, 0.3) else ["1", "2", "3", "5"]
        ),
    }
    visits = randint(rng, 150_000, 500_000) if centre else randint(rng, 20_000, 60_000)
    data.update(
        visits_total=visits,
        visits_home=int(visits * rng.uniform(0.005, 0.04)),
        records=int(population * rng.uniform(0.75, 0.92)),
        htn_managed=int(population * rng.uniform(0.04, 0.08)),
        dm_managed=int(population * rng.uniform(0.015, 0.035)),
        elderly_managed=int(population * rng.uniform(0.06, 0.12)),
        family_doctor_contracts=int(population * rng.uniform(0.25, 0.45)),
        income_total=income,
        income_fiscal=round(income * rng.uniform(0.35, 0.6), 2),
        income_medical=round(income * rng.uniform(0.3, 0.4), 2),
        expense_total=expense,
        expense_staff=round(expense * rng.uniform(0.4, 0.55), 2),
        two_lines="1" if chance(rng, 0.7) else "2",
        has_his="1",
        has_ehr="1" if chance(rng, 0.95) else "2",
        linked_platform="1" if chance(rng, 0.8) else "2",
        computers=randint(rng, 60, 300) if centre else randint(rng, 5, 20),
        respondent_name=person_name(rng, pick(rng, {"1": 1, "2": 1})),
        respondent_title=choice(rng, ["主任", "副主任", "办公室主任", "站长"]),
        respondent_phone=f"010-{randint(rng, 5, 8)}{below(rng, 10_000_000):07d}",
        fill_date=v.date(v.day),
    )
    return data


def _member(rng, unit, day: dt.date, relation: str, age: int, sex: str, surname: str | None):
    birth = birth_date_for_age(rng, age, day)
    name = person_name(rng, sex)
    if surname:
        name = surname + name[1:]
    row = {
        "m_name": name,
        "m_relation": relation,
        "m_sex": sex,
        "m_birth_date": birth.isoformat(),
        "m_age": age_on(birth, day),
    }
    if chance(rng, 0.88):
        row["m_id_number"] = resident_id(rng, birth, sex, unit.district)
    if age >= 6:
        row["m_education"] = _education(rng, age)
    if age >= 15:
        row["m_marital_status"] = _marital(rng, age)
        row["m_occupation"] = _occupation(rng, age)
    row["m_insurance"] = (
        ["01"]
        if 22 <= age < 60 and chance(rng, 0.8)
        else ["01"]
        if age >= 60 and chance(rng, 0.55)
        else ["02"]
    )
    diseases = [
        code
        for code, p_ in (
            ("1", min(0.5, 0.01 * max(0, age - 30))),
            ("2", min(0.2, 0.004 * max(0, age - 30))),
            ("3", min(0.12, 0.002 * max(0, age - 35))),
            ("7", min(0.2, 0.003 * max(0, age - 40))),
        )
        if chance(rng, p_)
    ]
    row["m_chronic"] = "2" if diseases else "1"
    if diseases:
        row["m_chronic_list"] = diseases
    male = sex == "1"
    if age >= 15:
        smoking = pick(rng, {"1": 60, "2": 10, "3": 30} if male else {"1": 97, "3": 3})
        row["m_smoking"] = smoking
        if smoking == "3":
            row["m_cigarettes"] = choice(rng, [5, 10, 20, 20, 30])
        row["m_drinking"] = pick(
            rng, {"1": 45, "2": 35, "3": 12, "4": 8} if male else {"1": 85, "2": 14, "3": 1}
        )
        row["m_exercise"] = pick(rng, {"1": 35, "2": 20, "3": 15, "4": 30})
        row["m_salt"] = pick(rng, {"1": 25, "2": 55, "3": 20})
    row["m_self_rated_health"] = pick(
        rng,
        {"1": 20, "2": 45, "3": 28, "4": 6, "5": 1}
        if age < 65
        else {"1": 8, "2": 35, "3": 42, "4": 13, "5": 2},
    )
    ill = chance(rng, 0.12 if age < 65 else 0.3)
    row["m_ill_2w"] = "1" if ill else "2"
    if ill:
        row["m_ill_2w_care"] = pick(rng, {"1": 8, "2": 25, "3": 35, "4": 7, "5": 15, "6": 10})
    hospitalised = chance(rng, 0.06 if age < 65 else 0.18)
    row["m_hosp_1y"] = "1" if hospitalised else "2"
    if hospitalised:
        row["m_hosp_times"] = pick(rng, {1: 80, 2: 15, 3: 5})
        row["m_hosp_level"] = pick(rng, {"3": 10, "4": 5, "5": 45, "6": 40})
    if age < 5:
        row["m_breastfed"] = "1" if chance(rng, 0.9) else "2"
        row["m_vaccination_cert"] = "1"
        row["m_child_checkups"] = randint(rng, 1, 4)
    if sex == "2" and 15 <= age <= 64:
        birth_5y = 22 <= age <= 42 and chance(rng, 0.3)
        row["m_birth_5y"] = "1" if birth_5y else "2"
        if birth_5y:
            row["m_prenatal_visits"] = randint(rng, 5, 13)
            row["m_postnatal_visit"] = "1" if chance(rng, 0.85) else "2"
        row["m_cervical_screen"] = "1" if chance(rng, 0.45) else "2"
        row["m_breast_screen"] = "1" if chance(rng, 0.4) else "2"
    used = chance(rng, 0.65 if age >= 60 else 0.4)
    row["m_used_chs"] = "1" if used else "2"
    if used:
        row["m_chs_satisfaction"] = pick(rng, {"1": 70, "2": 27, "3": 3})
    row["m_health_record"] = pick(rng, {"1": 70, "2": 12, "3": 18})
    row["m_family_doctor"] = pick(rng, {"1": 40 if age >= 60 else 20, "2": 45, "3": 20})
    return row


def baseline_household(v: Visit) -> dict:
    rng, unit, day = v.rng, v.unit, v.day
    head_age = normal_int(rng, 52, 14, 24, 88)
    head_sex = "1" if chance(rng, 0.7) else "2"
    head = _member(rng, unit, day, "1", head_age, head_sex, None)
    surname = head["m_name"][0]
    members = [head]
    if head_age >= 26 and chance(rng, 0.82):
        spouse_age = int(clip(head_age + randint(rng, -5, 3), 20, 95))
        members.append(
            _member(rng, unit, day, "2", spouse_age, "2" if head_sex == "1" else "1", None)
        )
    if 26 <= head_age <= 62:
        for _ in range(pick(rng, {0: 30, 1: 50, 2: 20})):
            child_age = head_age - randint(rng, 24, 36)
            if child_age >= 0:
                members.append(
                    _member(
                        rng, unit, day, "3", child_age, "1" if chance(rng, 0.51) else "2", surname
                    )
                )
    if head_age <= 50 and chance(rng, 0.15):
        members.append(
            _member(
                rng,
                unit,
                day,
                "4",
                min(95, head_age + randint(rng, 24, 32)),
                "1" if chance(rng, 0.45) else "2",
                surname,
            )
        )
    if head_age >= 55 and chance(rng, 0.2):
        members.append(
            _member(
                rng, unit, day, "6", randint(rng, 0, 10), "1" if chance(rng, 0.51) else "2", surname
            )
        )
    data = {
        "household_no": f"{unit.code}{below(rng, 100_000):05d}",
        "address": address(rng, unit.district_name),
        "interview_date": v.date(day),
        "interviewer": v.doctor(),
        "respondent_name": head["m_name"],
    }
    if chance(rng, 0.9):
        data["phone"] = mobile(rng)
    data["household_size"] = len(members)
    data["annual_income"] = round(rng.lognormvariate(2.6, 0.5), 2)  # 万元
    data["housing"] = pick(rng, {"1": 85, "2": 13, "3": 2})
    data["housing_area"] = round(normal(rng, 30 * len(members) + 20, 20, 15, 400), 1)
    data["water"] = pick(rng, {"1": 95, "2": 4, "3": 1})
    data["toilet"] = pick(rng, {"1": 70, "3": 27, "2": 3})
    data["medical_spending"] = int(rng.lognormvariate(8.3, 0.9))
    data["minutes_to_chs"] = choice(rng, [5, 10, 10, 15, 15, 20, 30])
    data["members"] = members
    return data


# Form name: builder. A form not listed here gets no demo data.
BUILDERS = {
    "hypertension_followup": hypertension_followup,
    "diabetes_followup": diabetes_followup,
    "health_check": health_check,
    "personal_info": personal_info,
    "elderly_selfcare": elderly_selfcare,
    "immunization_card": immunization_card,
    "infectious_disease_report": infectious_disease_report,
    "newborn_visit": newborn_visit,
    "prenatal_first": prenatal_first,
    "health_education_activity": health_education_activity,
    "referral_slip": referral_slip,
    "rehabilitation_record": rehabilitation_record,
    "family_planning_service": family_planning_service,
    "baseline_institution": baseline_institution,
    "baseline_household": baseline_household,
}
