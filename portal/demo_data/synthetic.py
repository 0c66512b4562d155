"""Synthetic people for the demo data: names, resident ID numbers, phones and addresses.

Everything is made up from a seeded random.Random: names are random combinations of common
surnames and name characters, ID numbers have real area codes (public GB/T 2260 codes) with
random birth-date-consistent sequence numbers and a correct check character. No real
person's data is used.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate

from forms.identifiers import check_character

# Common surnames, most frequent first (weights are rough shares).
_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋"
    "蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段"
)
_SURNAME_CUMULATIVE = list(accumulate(max(1.0, 7.5 - 0.09 * i) for i in range(len(_SURNAMES))))
_MALE_CHARS = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林海峰建国志文东亮成庆"
_FEMALE_CHARS = "芳娜敏静丽艳娟霞秀玲桂英梅琳燕红洁晶颖倩婷雪慧莉萍兰凤琴云月雅欣悦嘉怡彤萱"
_NEUTRAL_CHARS = "晓春子金玉德永佳思安新天一小"

# Beijing's district codes, current and (for people born before the mergers) historical.
# fmt: off
_BEIJING_AREAS = [
    "110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111",
    "110112", "110113", "110114", "110115", "110116", "110117", "110118", "110119",
]
# fmt: on
_BEIJING_BEFORE_2010 = ["110103", "110104"]
_BEIJING_BEFORE_2015 = ["110228", "110229"]
# Where people living in Beijing often come from (public county-level codes).
# fmt: off
_OTHER_AREAS = [
    "120101", "130102", "130602", "131002", "140105", "150102", "210102", "230102",
    "320102", "340102", "370102", "370202", "410102", "420102", "430102", "510104",
    "610103", "130902", "131102", "220102",
]
# fmt: on

# Mainland mobile prefixes in use (1, then 3-9, then a digit).
_MOBILE_PREFIXES = (
    "130 131 132 133 134 135 136 137 138 139 145 147 150 151 152 153 155 156 157 158 159 "
    "166 173 175 176 177 178 180 181 182 183 184 185 186 187 188 189 191 198 199"
).split()

_STREETS = (
    "和平 光明 康乐 安宁 长青 福寿 春晖 新华 育才 朝晖 建国 东风 永定 南苑 北苑 西山 "
    "双井 劲松 团结 望京 清河 回龙 天通 金顶 丽泽 卢沟 长阳 梨园 玉桥 胜利"
).split()
_COMMUNITIES = "花园 家园 小区 新村 里 北里 南里 东里 西里 苑".split()


def half_up(value: float, places: int) -> int | float:
    """`round(value, places)` as the form expressions compute it (half away from zero on the
    shortest decimal form), and a whole result as an int, as the server stores it."""
    result = float(
        Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    )
    return int(result) if result.is_integer() else result


def bmi(weight: float, height_cm: float) -> int | float:
    """The forms' BMI calculation, operation for operation (same floats, same rounding)."""
    return half_up(weight / ((height_cm / 100) * (height_cm / 100)), 1)


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years between two dates, as the forms' age calculations count them."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def clip(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def normal(rng: random.Random, mean: float, sd: float, low: float, high: float) -> float:
    return clip(rng.gauss(mean, sd), low, high)


def normal_int(rng: random.Random, mean: float, sd: float, low: int, high: int) -> int:
    return int(round(clip(rng.gauss(mean, sd), low, high)))


def one_decimal(value: float) -> float:
    return round(value, 1)


# Lean stand-ins for Random's randint, randrange, choice and choices: this module draws a few
# hundred numbers per record, and those methods cost several times more per call.
def randint(rng: random.Random, low: int, high: int) -> int:
    """An integer from low to high, both included."""
    return low + int(rng.random() * (high - low + 1))


def below(rng: random.Random, n: int) -> int:
    """An integer from 0 to n - 1."""
    return int(rng.random() * n)


def choice(rng: random.Random, items):
    return items[int(rng.random() * len(items))]


def pick(rng: random.Random, weighted: dict):
    """A key of `weighted`, chosen with probability proportional to its value."""
    r = rng.random() * sum(weighted.values())
    for key, weight in weighted.items():
        r -= weight
        if r < 0:
            return key
    return key


def chance(rng: random.Random, p: float) -> bool:
    return rng.random() < p


def birth_date_for_age(rng: random.Random, age: int, on: dt.date) -> dt.date:
    """A birth date making someone exactly `age` on `on`."""
    latest = _years_before(on, age)  # born on this day: just turned `age`
    earliest = _years_before(on, age + 1) + dt.timedelta(days=1)
    return earliest + dt.timedelta(days=below(rng, (latest - earliest).days + 1))


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def person_name(rng: random.Random, sex: str) -> str:
    surname = _SURNAMES[bisect(_SURNAME_CUMULATIVE, rng.random() * _SURNAME_CUMULATIVE[-1])]
    chars = _MALE_CHARS if sex == "1" else _FEMALE_CHARS
    first = choice(rng, chars if rng.random() < 0.85 else _NEUTRAL_CHARS)
    if rng.random() < 0.25:  # a one-character given name
        return surname + first
    return surname + first + choice(rng, chars)


def resident_id(rng: random.Random, birth: dt.date, sex: str, district: str) -> str:
    """An 18-character ID number for someone born on `birth`: odd sequence for men, even for
    women, a correct check character; the area mostly Beijing (often the home district)."""
    r = rng.random()
    if r < 0.35:
        area = district
    elif r < 0.7:
        older = _BEIJING_AREAS
        if birth.year < 2010:
            older = older + _BEIJING_BEFORE_2010
        if birth.year < 2015:
            older = older + _BEIJING_BEFORE_2015
        area = choice(rng, older)
    else:
        area = choice(rng, _OTHER_AREAS)
    sequence = below(rng, 1000)
    if (sequence % 2 == 1) != (sex == "1"):
        sequence ^= 1
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def mobile(rng: random.Random) -> str:
    return choice(rng, _MOBILE_PREFIXES) + f"{below(rng, 100_000_000):08d}"


def phone(rng: random.Random) -> str:
    """Mostly mobiles; now and then a Beijing landline (010 and 8 digits not starting 0/1)."""
    if rng.random() < 0.12:
        return f"010-{randint(rng, 5, 8)}{below(rng, 10_000_000):07d}"
    return mobile(rng)


def address(rng: random.Random, district_name: str) -> str:
    street = choice(rng, _STREETS)
    community = choice(rng, _STREETS) + choice(rng, _COMMUNITIES)
    building, unit = randint(rng, 1, 30), randint(rng, 1, 6)
    room = randint(rng, 1, 18) * 100 + randint(rng, 1, 4)
    return f"北京市{district_name}{street}街道{community}{building}号楼{unit}单元{room}室"


def record_number(unit_code: str, serial: int) -> str:
    """A 17-digit 健康档案编号: county (6), street (3), committee (3), serial (5). The county is
    the unit's district, the street its centre; the committee the station (the centre's own
    residents 000-099, station n's n00-n99), counting on past 99 999 serials."""
    county = unit_code[:6]
    street = unit_code[6:9] or "000"
    committee = (int(unit_code[9:12] or 0) * 100 + serial // 100_000) % 1000
    return f"{county}{street}{committee:03d}{serial % 100_000:05d}"


class Person:
    """A synthetic resident with a name, ID number, phone and address: the demo population's
    `Resident` (`core`) dressed for their records, and the values their visits vary around."""

    __slots__ = (
        "core",
        "name",
        "sex",
        "birth",
        "id_number",
        "phone",
        "address",
        "record_no",
        "height",
        "traits",
    )

    def __init__(self, rng: random.Random, unit, core, today: dt.date, id_share: float = 0.92):
        self.core = core
        self.sex = sex = core.sex
        self.birth = core.birth
        self.name = person_name(rng, sex)
        self.id_number = (
            resident_id(rng, self.birth, sex, unit.district) if rng.random() < id_share else None
        )
        self.phone = phone(rng)
        self.address = address(rng, unit.district_name)
        self.record_no = record_number(unit.code, core.serial)
        # Adult height (cm) by sex, a little lower for the old.
        shrink = max(0, age_on(self.birth, today) - 60) * 0.12
        mean = 170.0 if sex == "1" else 158.5
        self.height = one_decimal(normal(rng, mean - shrink, 6.2, 140.0, 195.0))
        self.traits: dict = {}

    def age_on(self, day: dt.date) -> int:
        return age_on(self.birth, day)


def years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
