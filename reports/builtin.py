"""The built-in indicators and report definitions, as data (`portal init` stores them in
ZODB, where admins may change them).

Formulas follow 国家基本公共卫生服务规范（第三版）as statistics offices compute them (see
the operational definitions in the domain primer): one person counts once, by the health
record number (`record_no`) within their unit.
"""

from __future__ import annotations

# Records that keep a patient under management: the visit's management status is 在管, or
# was not recorded (form versions before it was asked).
_IN_CARE = "${mgmt_status} = '' or ${mgmt_status} = '1'"
_FACE_TO_FACE = "${visit_mode} = '1' or ${visit_mode} = '2'"
_BP_READ = "${sbp} != '' and ${dbp} != ''"
# 达标: SBP < 140 and DBP < 90; for those aged 65 and over SBP < 150 (the age is recorded
# from the follow-up's second version on).
_BP_CONTROLLED = "${dbp} < 90 and (${sbp} < 140 or (${age} >= 65 and ${sbp} < 150))"
# 早孕建册: registered before 13 weeks (91 days). The weeks are counted from the last
# menstrual period when it is known (form version 2 asks whether it is; 不详 leaves the
# recorded 孕周, which version 2 checks against the date when there is one).
_EARLY_PREGNANCY = (
    "(${lmp} != '' and ${visit_date} - ${lmp} < 91) or (${lmp} = '' and ${gest_weeks} < 13)"
)
# 新生儿访视: a home visit within 7 days of discharge. Visits of form versions before the
# discharge date was asked count as they did (their timing cannot be judged).
_NEWBORN_IN_TIME = "${discharge_date} = '' or ${visit_date} - ${discharge_date} <= 7"


# Disaggregations (reports.indicators.Dimension): sex (GB/T 2261.1 codes, as the forms
# record it) and the age bands of community health statistics. An age is the form's `age`,
# or worked out from its birth date at the day the record was made.
DIMENSIONS: list[dict] = [
    {
        "name": "sex",
        "label": {"zh": "性别", "en": "Sex"},
        "field": "sex",
        "categories": [
            {"code": "1", "label": {"zh": "男", "en": "Male"}},
            {"code": "2", "label": {"zh": "女", "en": "Female"}},
        ],
    },
    {
        "name": "age_band",
        "label": {"zh": "年龄组", "en": "Age band"},
        "field": "age",
        "birth_field": "birth_date",
        "categories": [
            {"code": "0-6", "label": {"zh": "0～6岁", "en": "0–6"}, "low": 0, "high": 7},
            {"code": "7-17", "label": {"zh": "7～17岁", "en": "7–17"}, "low": 7, "high": 18},
            {"code": "18-34", "label": {"zh": "18～34岁", "en": "18–34"}, "low": 18, "high": 35},
            {"code": "35-64", "label": {"zh": "35～64岁", "en": "35–64"}, "low": 35, "high": 65},
            {"code": "65+", "label": {"zh": "65岁及以上", "en": "65 and over"}, "low": 65},
        ],
    },
]
_BY = ["sex", "age_band"]


def _chronic(prefix: str, form: str, among: str, test: str) -> list[dict]:
    return [
        {
            "name": f"{prefix}_patients",
            "kind": "persons",
            "forms": [form],
            "filter": _IN_CARE,
            "by": _BY,
        },
        {
            "name": f"{prefix}_managed_persons",
            "kind": "persons",
            "forms": [form],
            "filter": _IN_CARE,
            "by": _BY,
            "requirements": [
                {"forms": [form], "filter": _FACE_TO_FACE, "min_count": 4},
                {"forms": ["health_check"], "filter": None, "min_count": 1},
            ],
        },
        {
            "name": f"{prefix}_controlled_persons",
            "kind": "persons",
            "forms": [form],
            "filter": _IN_CARE,
            "by": _BY,
            "latest": {"forms": [form], "filter": among, "test": test, "order": "visit_date"},
        },
    ]


_BASELINE_SUMS = [
    "staff_total",
    "doctors",
    "gps",
    "nurses",
    "public_health_staff",
    "beds",
    "visits_total",
    "visits_home",
    "income_total",
    "income_fiscal",
]

INDICATORS: list[dict] = [
    {
        "name": "records_held",
        "kind": "count",
        "forms": ["personal_info"],
        "cumulative": True,
        "by": _BY,
    },
    {"name": "population", "kind": "reference", "reference": "population"},
    {"name": "population_65", "kind": "reference", "reference": "population_65"},
    {"name": "live_births", "kind": "reference", "reference": "live_births"},
    *_chronic("htn", "hypertension_followup", _BP_READ, _BP_CONTROLLED),
    *_chronic("dm", "diabetes_followup", "${fbg} != ''", "${fbg} < 7"),
    {
        "name": "elderly_checked",
        "kind": "persons",
        "forms": ["health_check"],
        "filter": "${age} >= 65",
        "by": ["sex"],
    },
    {
        "name": "early_registered",
        "kind": "persons",
        "forms": ["prenatal_first"],
        "filter": _EARLY_PREGNANCY,
    },
    {
        "name": "newborns_visited",
        "kind": "persons",
        "forms": ["newborn_visit"],
        "filter": _NEWBORN_IN_TIME,
    },
    {"name": "institutions", "kind": "count", "forms": ["baseline_institution"]},
    *(
        {
            "name": f"baseline_{field}",
            "kind": "sum",
            "forms": ["baseline_institution"],
            "field": field,
        }
        for field in _BASELINE_SUMS
    ),
]


def _t(zh: str, en: str) -> dict:
    return {"zh": zh, "en": en}


# The official header's legal marks (PRIMER §5). The approval number and validity are those
# of the portal's own statistical system filing: admins set the real ones.
def _header(table_no: str, unit_zh: str, unit_en: str) -> dict:
    return {
        "table_no": table_no,
        "authority": _t("北京市卫生健康委员会", "Beijing Municipal Health Commission"),
        "approved_by": _t("北京市统计局", "Beijing Municipal Bureau of Statistics"),
        "approval_no": "京统制〔2026〕12号",
        "valid_until": _t("2028年12月", "December 2028"),
        "unit": _t(unit_zh, unit_en),
    }


KPI_MEASURES = [
    (
        "health_records",
        _t("健康档案建档率", "Health records coverage"),
        "records_held",
        "population",
    ),
    (
        "hypertension_managed",
        _t("高血压患者规范管理率", "Hypertension: managed to standard"),
        "htn_managed_persons",
        "htn_patients",
    ),
    (
        "hypertension_controlled",
        _t("高血压患者血压控制率", "Hypertension: blood pressure controlled"),
        "htn_controlled_persons",
        "htn_patients",
    ),
    (
        "diabetes_managed",
        _t("糖尿病患者规范管理率", "Diabetes: managed to standard"),
        "dm_managed_persons",
        "dm_patients",
    ),
    (
        "diabetes_controlled",
        _t("糖尿病患者血糖控制率", "Diabetes: blood glucose controlled"),
        "dm_controlled_persons",
        "dm_patients",
    ),
    (
        "elderly_managed",
        _t("老年人健康管理率", "Older people in health management"),
        "elderly_checked",
        "population_65",
    ),
    (
        "early_pregnancy",
        _t("早孕建册率", "Early pregnancy registration"),
        "early_registered",
        "live_births",
    ),
    ("newborn_visit", _t("新生儿访视率", "Newborn home visits"), "newborns_visited", "live_births"),
]

_BASELINE_COLUMNS = [
    ("institutions", _t("机构数", "Institutions"), "institutions", "n", _t("个", "")),
    ("staff_total", _t("在岗职工数", "Staff"), "baseline_staff_total", "total", _t("人", "")),
    ("doctors", _t("执业(助理)医师", "Doctors"), "baseline_doctors", "total", _t("人", "")),
    ("gps", _t("其中：全科医生", "of whom GPs"), "baseline_gps", "total", _t("人", "")),
    ("nurses", _t("注册护士", "Nurses"), "baseline_nurses", "total", _t("人", "")),
    (
        "public_health_staff",
        _t("公共卫生人员", "Public health staff"),
        "baseline_public_health_staff",
        "total",
        _t("人", ""),
    ),
    ("beds", _t("床位数", "Beds"), "baseline_beds", "total", _t("张", "")),
    ("visits_total", _t("总诊疗人次", "Visits"), "baseline_visits_total", "total", _t("人次", "")),
    (
        "visits_home",
        _t("其中：家庭卫生服务人次", "of which home visits"),
        "baseline_visits_home",
        "total",
        _t("人次", ""),
    ),
    ("income_total", _t("总收入", "Revenue"), "baseline_income_total", "total", _t("万元", "")),
    (
        "income_fiscal",
        _t("其中：财政补助收入", "of which subsidies"),
        "baseline_income_fiscal",
        "total",
        _t("万元", ""),
    ),
]

REPORTS: list[dict] = [
    {
        "name": "service-volume",
        "title": _t("社区卫生服务六位一体服务量统计表", "Six-in-one service volume"),
        "layout": "forms",
        "header": _header("京社卫统1表", "份", "records"),
        "notes": [
            _t(
                "统计报告期内已提交（非草稿）的记录数；有报告期的表单按报告期统计，"
                "无报告期的表单按提交日期统计。",
                "Records submitted (not drafts) whose period lies within the report's; "
                "forms without a period count by the day they were submitted.",
            )
        ],
    },
    {
        "name": "public-health-kpi",
        "title": _t("基本公共卫生服务主要指标统计表", "Basic public health service indicators"),
        "layout": "measures",
        "measures": [
            {"name": name, "label": label, "numerator": num, "denominator": den}
            for name, label, num, den in KPI_MEASURES
        ],
        "chart": "hypertension_managed.rate",
        "disaggregations": _BY,
        "header": _header("京社卫统2表", "人、%", "persons, %"),
        "notes": [
            _t(
                "一人只计一次（按健康档案编号）。年内已管理患者：年内有随访且管理状态为在管的患者；"
                "规范管理：年内面对面随访（门诊、家庭）不少于4次且有1次健康体检；"
                "血压控制：年内最近一次测量血压的随访收缩压<140且舒张压<90 mmHg"
                "（65岁及以上收缩压<150）；"
                "血糖控制：最近一次空腹血糖<7.0 mmol/L。"
                "早孕建册：孕13周前（末次月经已知时按末次月经计）建册；新生儿访视：出院后7天内家庭访视。建档率按报告期末累计建档人数计。",
                "One person counts once, by health record number. Patients under management: "
                "a follow-up in the period with status in care. Managed to standard: at least "
                "4 face-to-face follow-ups and a health check in the period. Controlled: the "
                "latest follow-up with readings under 140/90 mmHg (150/90 at 65 and over); "
                "fasting glucose under 7.0 mmol/L. Early pregnancy: registered before 13 weeks "
                "(counted from the last menstrual period when known). Newborn visits: a home "
                "visit within 7 days of discharge. Records coverage counts records held at the "
                "period's end.",
            )
        ],
    },
    {
        "name": "completeness",
        "title": _t("报表及时完整情况统计表", "Reporting completeness"),
        "layout": "completeness",
        "header": _header("京社卫统3表", "个、%", "units, %"),
        "chart": "completeness.rate",
        "notes": [
            _t(
                "应报单位：填报该表单层级的在用机构；实报：报告期内至少有一份已提交记录的机构；"
                "及时：报告期结束后10天内提交的。",
                "Expected: active units at the form's levels; received: units with at least "
                "one submitted record in the period; on time: within 10 days of its end.",
            )
        ],
    },
    {
        "name": "baseline-summary",
        "title": _t("社区卫生服务基线调查机构情况汇总表", "Baseline survey: institutions"),
        "layout": "columns",
        "columns": [
            {"key": key, "label": label, "indicator": indicator, "part": part, "unit": unit}
            for key, label, indicator, part, unit in _BASELINE_COLUMNS
        ],
        "chart": "staff_total",
        "header": _header("京社卫统4表", "个、人、张、人次、万元", "as marked"),
        "notes": [
            _t(
                "来源：基线调查机构问卷（每个机构每年一份）。",
                "From the baseline institution questionnaire (one per unit and year).",
            )
        ],
    },
    {
        "name": "workload",
        "title": _t("社区卫生服务工作量（绩效考核）统计表", "Workload (performance)"),
        "layout": "workload",
        "header": _header("京社卫统5表", "份、人", "records, staff"),
        "chart": "per_staff",
        "notes": [
            _t(
                "人员数：报告期内填报过记录的工作人员数；人均：记录数/人员数。",
                "Staff: people who recorded something in the period; per staff: records / staff.",
            )
        ],
    },
]
