"""A small report table with two-level headers, a rate column and a rate without a
denominator, for the renderer tests."""

from reports.table import Chart, Column, Header, Row, Table, make_total

COLUMNS = [
    Column("staff", "在岗职工数", unit="人"),
    Column("htn.registered", "管理人数", groups=("高血压患者管理",), unit="人"),
    Column("htn.managed", "规范管理人数", groups=("高血压患者管理",), unit="人"),
    Column(
        "htn.rate",
        "规范管理率",
        groups=("高血压患者管理",),
        kind="rate",
        unit="%",
        numerator="htn.managed",
        denominator="htn.registered",
    ),
    Column("visits", "总诊疗人次", groups=("诊疗服务",), unit="人次"),
    Column("visits.family", "家庭卫生服务人次", groups=("诊疗服务", "其中"), unit="人次"),
    Column("income", "总收入", kind="number", unit="万元", decimals=2),
]

# (code, name, staff, registered, managed, visits, family visits, income)
UNITS = [
    ("110101", "东城区", 812, 400, 49, 123456, 2345, 10234.5),
    ("110102", "西城区", 1033, 1000, 873, 234567, 3456, 20345.675),
    ("110105", "朝阳区", 27, 0, 0, 3456, 0, 120.0),
]
TOTAL_LABEL = "合计"
TITLE = "北京市社区卫生服务统计表"

# By hand: 49/400 = 12.25% (half up: 12.3), 873/1000 = 87.3%, 0/0 = no value,
# total 922/1400 = 65.857…% = 65.9%.
EXPECTED_RATES = {"东城区": "12.3", "西城区": "87.3", "朝阳区": "", TOTAL_LABEL: "65.9"}


def unit_row(code, name, staff, registered, managed, visits, family, income, link=None):
    from reports.table import compute_rate

    rate = compute_rate(managed, registered)
    values = [staff, registered, managed, rate, visits, family, income]
    return Row(code, name, values, link=link)


def header():
    return Header(
        title=TITLE,
        period_label="2026年第3季度",
        reporting_unit="北京市卫生健康委员会",
        reporting_unit_label="填报单位",
        marks=[
            ("表号", "京卫统1-2表"),
            ("制定机关", "北京市卫生健康委员会"),
            ("批准机关", "北京市统计局"),
            ("批准文号", "京统制〔2026〕12号"),
            ("有效期至", "2028年12月"),
        ],
        unit_of_measure="计量单位：人、人次、万元、%",
        footer=[
            ("单位负责人", "王明"),
            ("统计负责人", "李华"),
            ("填表人", "张丽"),
            ("联系电话", "010-12345678"),
            ("报出日期", "2026年10月15日"),
        ],
        notes=[
            "填报说明：本表统计已提交和已审核的记录。",
            "指标解释：高血压规范管理率 = 规范管理人数 / 管理人数 × 100%。",
        ],
    )


def table(units=UNITS, links=False):
    rows = [unit_row(*u, link=f"/reports/unit/{u[0]}" if links else None) for u in units]
    return Table(
        header=header(),
        row_heading="单位名称",
        code_heading="代码",
        columns=list(COLUMNS),
        rows=rows,
        total=make_total(COLUMNS, rows, TOTAL_LABEL),
        total_label=TOTAL_LABEL,
        chart=Chart("htn.rate", "高血压规范管理率（%）"),
        sheet_name="社区卫生服务",
    )


def long_table(n=60):
    units = [
        (f"1101{i:04d}", f"第{i}社区卫生服务站", 10 + i, 100 + i, 50 + i, 1000 * i, 10 * i, 1.5 * i)
        for i in range(1, n + 1)
    ]
    return table(units)
