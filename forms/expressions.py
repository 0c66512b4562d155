"""The form expression language: XLSForm's common syntax, parsed and evaluated safely.

The same language is implemented in `forms/static/expressions.js` for the browser; both are
held to the shared vectors in `tests/unit/forms/expression_vectors.json`. Change one, change
the other and the vectors.

Syntax
------
- `${name}` a field's value (names: a letter or `_`, then letters, digits, `_`, `.`, `-`);
  `.` the value of the field being checked (constraints).
- Numbers `12`, `1.5`, `.5` (no exponents); strings `'...'` or `"..."` (no escapes: put a
  quote of the other kind inside). Blanks between tokens: space, tab, line breaks, no-break
  and ideographic (full-width) spaces.
- Operators, loosest first, all left-associative: `or`; `and`; `=` `!=`; `<` `<=` `>` `>=`;
  `+` `-`; `*` `div` (or `/`) `mod`; unary `-`. Parentheses group.
- Functions (arguments): `if(c, a, b)`, `selected(m, code)`, `count-selected(m)`,
  `selected-at(m, i)`, `count(x)`, `coalesce(a, b, ...)`, `not(x)`, `boolean(x)`, `true()`,
  `false()`, `number(x)`, `string(x)`, `concat(a, ...)`, `int(x)`, `round(x[, places])`,
  `floor(x)`, `ceiling(x)`, `abs(x)`, `min(x, ...)`, `max(x, ...)`, `string-length(s)`,
  `substr(s, start[, end])`, `contains(s, t)`, `starts-with(s, t)`, `ends-with(s, t)`,
  `regex(s, pattern)`, `today()`, `date(x)`, `decimal-date-time(x)`.

Values
------
A value is empty (`None`), a boolean, a number, a string or a list of strings (the codes of a
select_multiple). Field values are read as the API's `data` holds them: numbers as numbers,
booleans as booleans, dates as ISO 8601 strings, select_multiple as lists; `datetime.date` and
`datetime.datetime` are read as their ISO strings, a missing field as empty. `''` and `[]` are
empty too. A list's text is its codes joined by single spaces (XLSForm's representation).
Inside a repeat, pass the instance's values over the form's (`{**data, **instance}`): a name
then means the field in the same instance; a repeat's own value (a list of objects) serves
`count(${repeat})`.

Conversions (XPath 1.0's, with ODK's dates):
- to a number: empty gives no number; `true`/`false` give 1/0; a string that is a decimal
  number (optional `-`, surrounding blanks allowed) gives it; an ISO date `YYYY-MM-DD` gives
  the days since 1970-01-01, an ISO date-time `YYYY-MM-DD[T ]hh:mm[:ss[.fff]][Z|+hh:mm]` the
  fractional days (an offset converts to UTC, none means UTC); anything else gives no number.
- to a string: empty gives `''`, booleans `'true'`/`'false'`, numbers as JavaScript prints
  them (`3`, `0.5`, `1e+21`), lists their codes joined by spaces.
- to a boolean: empty, `false`, `0`, `''` and `[]` are false; everything else is true, so the
  string `'0'` is true (XPath): compare it, `${x} = '0'`.

Operations:
- Arithmetic converts both sides to numbers; if either has no number, the result is empty.
  Division or `mod` by zero, and any result that is not a finite number, give empty (so a
  calculation never stores NaN or Infinity). `mod` keeps the sign of the dividend.
- `=`/`!=`: two empties are equal, an empty equals nothing else; if either side is a number,
  both compare as numbers (a side with no number is unequal); two booleans compare as such; a
  boolean and a string compare as the strings `'true'`/`'false'`; two strings that both read
  as dates or date-times compare as points in time; other strings compare exactly. `!=` is
  always the negation of `=`.
- `<` `<=` `>` `>=` convert both sides to numbers (so ISO dates compare as dates); if either is
  empty or has no number, the comparison is false.
- `and`, `or`, `not()` and comparisons give booleans; `and`/`or` stop at the first side that
  decides.
- Dates are numbers of days in arithmetic: `today() - ${dob}` is an age in days and
  `date(${lmp} + 280)` a date. `date(x)` gives `YYYY-MM-DD` (the day containing x, in UTC) or
  empty; `today()` gives the `today` passed to `evaluate` (by default the local date).
- `int()` truncates toward zero; `round(x, places)` rounds half away from zero on the number's
  shortest decimal form (`round(1.005, 2)` is 1.01), `places` may be negative; `floor`,
  `ceiling`, `abs`, `min`, `max` give empty for an argument with no number.
- `selected(m, code)`: whether the list (or space-separated string) m holds code;
  `count-selected(m)` how many codes it holds; `selected-at(m, i)` the i-th code (from 0) or
  `''`. `count(x)` is a list's length, 0 for empty and 1 for any other value.
- `coalesce(a, b, ...)`: the first non-empty argument (else the last); `if(c, a, b)` evaluates
  only the branch it returns.
- Strings count characters (Unicode code points): `string-length`, `substr(s, start, end)`
  (from 0, end excluded, clamped to the string).
- `regex(s, pattern)` is true when pattern matches somewhere in s (anchor it with `^...$`).
  Patterns are a portable subset: literals, `.`, classes `[a-z]` `[^...]`, `\\d \\D \\w \\W \\s
  \\S`, `\\b \\B`, `^ $`, groups `(...)` `(?:...)`, `|`, `* + ? {n} {n,} {n,m}` (optionally
  lazy), escapes `\\t \\n \\r \\f \\v \\uXXXX \\xHH` and escaped punctuation; no backreferences
  or lookaround. `\\d` and `\\w` are ASCII, `\\s` is JavaScript's set of blanks. A pattern
  written as a literal is checked when the expression is parsed; a computed pattern that is
  invalid matches nothing. Patterns run on a Thompson NFA (time grows with text length ×
  pattern size, never exponentially): an admin's pattern cannot make the server backtrack
  for ever.

Errors
------
`parse` raises `ExpressionError` (and nothing else) for bad text; `evaluate` never raises for
any values. An error is plain data for the UI to translate: `code`, `pos` (0-based, counted
in characters), parameters, and an English `message` (`render("zh")` gives Chinese; messages
count characters from 1). Nesting is limited to MAX_DEPTH levels.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import math
import numbers
import re
from collections.abc import Iterable, Mapping
from typing import NoReturn

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MESSAGES",
    "Expression",
    "ExpressionError",
    "check",
    "format_number",
    "is_empty",
    "parse",
    "to_number",
    "to_string",
    "truthy",
]

MAX_DEPTH = 100

# code -> (English, Chinese); `${param}` placeholders, as translationstring writes them, so
# the portal can pass (code, English default, params) to its catalogue if it prefers.
MESSAGES = {
    "empty_expression": ("The expression is empty", "表达式为空"),
    "unexpected_character": (
        "Unexpected character '${text}' at character ${column}",
        "第 ${column} 个字符“${text}”无法识别",
    ),
    "unterminated_string": (
        "The text starting at character ${column} has no closing quote",
        "从第 ${column} 个字符开始的文字缺少结束引号",
    ),
    "bad_reference": (
        "Bad field reference '${text}' at character ${column}: write ${field_name}, starting with "
        "a letter or _",
        "第 ${column} 个字符处的字段引用“${text}”无效：应写作 ${field_name}，以字母或 _ 开头",
    ),
    "unexpected_token": (
        "Unexpected '${text}' at character ${column}",
        "第 ${column} 个字符处不应出现“${text}”",
    ),
    "unexpected_end": (
        "The expression is incomplete at character ${column}",
        "表达式在第 ${column} 个字符处不完整",
    ),
    "unclosed_paren": (
        "The '(' at character ${column} is never closed",
        "第 ${column} 个字符处的“(”缺少对应的“)”",
    ),
    "unknown_function": (
        "Unknown function '${name}' at character ${column}",
        "第 ${column} 个字符处的函数“${name}”不存在",
    ),
    "wrong_arity": (
        "${name}() takes ${expected} argument(s), not ${got} (character ${column})",
        "${name}() 需要 ${expected} 个参数，而不是 ${got} 个（第 ${column} 个字符）",
    ),
    "bare_name": (
        "'${name}' at character ${column} is not a value: write ${${name}} for a field or "
        "${name}() for a function",
        "第 ${column} 个字符处的“${name}”不是值：字段应写作 ${${name}}，函数应写作 ${name}()",
    ),
    "too_deep": (
        "The expression is nested more than ${max} levels deep at character ${column}",
        "表达式在第 ${column} 个字符处嵌套超过 ${max} 层",
    ),
    "bad_regex": (
        "The regular expression at character ${column} is not supported: ${explanation} "
        "(at character ${pattern_column} of the pattern)",
        "第 ${column} 个字符处的正则表达式不受支持：${explanation}"
        "（模式的第 ${pattern_column} 个字符）",
    ),
    "unknown_field": (
        "Unknown field '${name}' at character ${column}",
        "第 ${column} 个字符处引用的字段“${name}”不存在",
    ),
    "current_not_allowed": (
        "'.' at character ${column} (the field's own value) can only be used in a constraint",
        "第 ${column} 个字符处的“.”（本字段的值）只能用于约束条件",
    ),
}

# the `reason` of a bad_regex error -> (English, Chinese)
REGEX_REASONS = {
    "trailing_backslash": ("it ends with a lone backslash", "以单独的反斜杠结尾"),
    "unsupported_escape": ("this escape is not supported", "不支持此转义"),
    "unsupported_group": (
        "lookaround and named groups are not supported",
        "不支持环视和命名分组",
    ),
    "unclosed_group": ("a '(' is never closed", "“(”缺少对应的“)”"),
    "unbalanced_paren": ("a ')' has no matching '('", "“)”缺少对应的“(”"),
    "nothing_to_repeat": ("a repetition has nothing to repeat", "重复符号前没有可重复的内容"),
    "bad_repeat": (
        "write a repetition as {n}, {n,} or {n,m} with n <= m <= 1000",
        "重复次数应写作 {n}、{n,} 或 {n,m}，且 n <= m <= 1000",
    ),
    "unclosed_class": ("a '[' is never closed", "“[”缺少对应的“]”"),
    "empty_class": ("an empty class [] matches nothing", "空字符类 [] 不匹配任何字符"),
    "bad_range": (
        "a range in a class is reversed or uses a class shorthand",
        "字符类中的范围颠倒或使用了类简写",
    ),
    "too_large": ("the pattern is too large", "模式过大"),
}
LANGUAGES = ("en", "zh")


def _format(template: str, params: dict) -> str:
    # Only known parameters are replaced: `${field_name}` in a message stays as written.
    return re.sub(
        r"\$\{([a-z_]+)\}",
        lambda m: str(params[m.group(1)]) if m.group(1) in params else m.group(0),
        template,
    )


class ExpressionError(ValueError):
    """A bad expression: `code` (a message id), `pos` (a character index) and parameters."""

    def __init__(self, code: str, pos: int, **params):
        self.code = code
        self.pos = pos
        self.params = params
        self.message = self.render("en")
        super().__init__(self.message)

    def render(self, language: str = "en") -> str:
        """The message in English (`en`) or Chinese (`zh`)."""
        index = LANGUAGES.index(language) if language in LANGUAGES else 0
        # People count from 1; `pos` stays an index for code.
        params = {"pos": self.pos, "column": self.pos + 1, **self.params}
        if self.code == "bad_regex":
            params["explanation"] = REGEX_REASONS[self.params["reason"]][index]
            params["pattern_column"] = self.params["at"] + 1
        return _format(MESSAGES[self.code][index], params)

    def as_dict(self, language: str = "en") -> dict:
        """Plain data: code, pos, the parameters and the rendered message."""
        return {"code": self.code, "pos": self.pos, **self.params, "message": self.render(language)}


# -- tokens ---------------------------------------------------------------------------
NUM, STR, REF, DOT, NAME, OP, LPAREN, RPAREN, COMMA, END = (
    "num", "str", "ref", "dot", "name", "op", "(", ")", ",", "end",
)  # fmt: skip
BLANKS = " \t\n\r\u00a0\u3000"
DIGITS = "0123456789"
KEYWORD_OPS = ("and", "or", "div", "mod")
FIELD_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
NUMBER_TOKEN_RE = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
NAME_TOKEN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z][A-Za-z0-9_]*)*")


class Token:
    __slots__ = ("kind", "value", "pos", "text")

    def __init__(self, kind, value, pos, text):
        self.kind, self.value, self.pos, self.text = kind, value, pos, text


def tokenize(text: str) -> list[Token]:
    tokens = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in BLANKS:
            i += 1
            continue
        start = i
        if c in DIGITS or (c == "." and i + 1 < n and text[i + 1] in DIGITS):
            m = NUMBER_TOKEN_RE.match(text, i)
            assert m is not None  # a digit, or a dot before one, always starts a number
            i = m.end()
            tokens.append(Token(NUM, _finite(float(m.group())), start, m.group()))
        elif c == ".":
            i += 1
            tokens.append(Token(DOT, None, start, "."))
        elif c in "'\"":
            end = text.find(c, i + 1)
            if end < 0:
                raise ExpressionError("unterminated_string", start)
            i = end + 1
            tokens.append(Token(STR, text[start + 1 : end], start, text[start:i]))
        elif c == "$":
            if text.startswith("${", i):
                end = text.find("}", i + 2)
                name = text[i + 2 : end] if end >= 0 else None
                if name is not None and FIELD_NAME_RE.fullmatch(name):
                    i = end + 1
                    tokens.append(Token(REF, name, start, text[start:i]))
                    continue
                raise ExpressionError(
                    "bad_reference", start, text=text[start : end + 1] if end >= 0 else text[start:]
                )
            raise ExpressionError("unexpected_character", start, text=c)
        elif c.isascii() and (c.isalpha() or c == "_"):
            m = NAME_TOKEN_RE.match(text, i)
            assert m is not None  # a letter or underscore always starts a name
            i = m.end()
            word = m.group()
            tokens.append(Token(OP if word in KEYWORD_OPS else NAME, word, start, word))
        elif text.startswith(("!=", "<=", ">="), i):
            i += 2
            tokens.append(Token(OP, text[start:i], start, text[start:i]))
        elif c in "=<>+-*/":
            i += 1
            tokens.append(Token(OP, c, start, c))
        elif c in "(),":
            i += 1
            tokens.append(Token(c, c, start, c))
        else:
            raise ExpressionError("unexpected_character", start, text=c)
    tokens.append(Token(END, None, n, ""))
    return tokens


# -- values -----------------------------------------------------------------------------
XPATH_BLANKS = " \t\n\r"
NUMBER_VALUE_RE = re.compile(r"[ \t\n\r]*-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[ \t\n\r]*")
DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
DATETIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
TOKEN_SPLIT_RE = re.compile(r"[ \t\n\r]+")
MAX_EXACT = 2.0**53
MS_PER_DAY = 86_400_000
MAX_DAYS = 1e8  # far beyond 9999-12-31, and exact for the calendar arithmetic


def _finite(x: float):
    return x if math.isfinite(x) else None


def is_empty(value) -> bool:
    """Whether a value counts as empty: None, '' or an empty list."""
    return value is None or value == "" or (isinstance(value, list) and not value)


def truthy(value) -> bool:
    """A value as a boolean (for relevant and constraint): see the module docstring."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, float | int):
        return value != 0
    return len(value) > 0


def _days_from_civil(y: int, m: int, d: int) -> int:
    # Howard Hinnant's algorithm: exact integers, the same in the JavaScript twin.
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def _valid_day(y: int, m: int, d: int) -> bool:
    if not 1 <= m <= 12:
        return False
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    return 1 <= d <= (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[m - 1]


def _date_number(s: str):
    """Days since 1970-01-01 of an ISO date or date-time string, or None."""
    s = s.strip(XPATH_BLANKS)
    m = DATE_RE.fullmatch(s)
    if m:
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
        return float(_days_from_civil(y, mo, d)) if _valid_day(y, mo, d) else None
    m = DATETIME_RE.fullmatch(s)
    if not m:
        return None
    y, mo, d, hh, mi = int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5])
    ss = int(m[6] or 0)
    ms = int(((m[7] or "") + "000")[:3])
    offset = 0
    if m[8] and m[8] != "Z":
        digits = m[8][1:].replace(":", "")
        oh, om = int(digits[:2]), int(digits[2:])
        if oh > 23 or om > 59:
            return None
        offset = (oh * 60 + om) * (-1 if m[8][0] == "-" else 1)
    if not _valid_day(y, mo, d) or hh > 23 or mi > 59 or ss > 59:
        return None
    total = (
        _days_from_civil(y, mo, d) * MS_PER_DAY + ((hh * 60 + mi - offset) * 60 + ss) * 1000 + ms
    )
    return total / MS_PER_DAY


def _format_date(days: float):
    if abs(days) > MAX_DAYS:
        return None
    y, m, d = _civil_from_days(math.floor(days))
    return f"{y:04d}-{m:02d}-{d:02d}" if 0 <= y <= 9999 else None


def _shortest_digits(x: float) -> tuple[str, int]:
    """The shortest decimal digits of a positive finite x, and p with x = int(digits)·10^p."""
    _sign, digits, exponent = decimal.Decimal(repr(x)).normalize().as_tuple()
    assert isinstance(exponent, int)  # x is finite
    return "".join(map(str, digits)), exponent


def format_number(x: float) -> str:
    """A number as JavaScript's Number.prototype.toString prints it."""
    if x == 0:
        return "0"
    if x < 0:
        return "-" + format_number(-x)
    digits, p = _shortest_digits(x)
    k = len(digits)
    n = k + p  # x = 0.digits × 10^n
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    exp = f"e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return (digits if k == 1 else digits[0] + "." + digits[1:]) + exp


def _round(x: float, places: float) -> float:
    """Half away from zero, on the shortest decimal form of x."""
    if x == 0:
        return 0.0
    digits, p = _shortest_digits(abs(x))
    unit = -math.trunc(places)  # keep multiples of 10^unit
    if p >= unit:
        return x
    drop = unit - p
    k = len(digits)
    if drop > k:
        return 0.0
    head = digits[: k - drop] or "0"
    if digits[k - drop] >= "5":
        head = str(int(head) + 1)
    result = float(f"{head}e{unit}")
    return -result if x < 0 else result


def _value(v):
    """A field value as the language sees it (see the module docstring)."""
    if v is None or isinstance(v, bool | str):
        return v
    if isinstance(v, numbers.Real | decimal.Decimal):
        try:
            return _finite(float(v))
        except OverflowError:  # an int beyond any double
            return None
    if isinstance(v, datetime.date):  # datetime.datetime too
        return v.isoformat()
    if isinstance(v, list | tuple):
        return [_item(e) for e in v]
    if isinstance(v, dict):
        return None
    return str(v)


def _item(e) -> str:
    e = _value(e)
    return e if isinstance(e, str) else "" if isinstance(e, list) else to_string(e)


def to_string(v) -> str:
    """A language value (see `_value`) as text."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return format_number(v)
    if isinstance(v, list):
        return " ".join(v)
    return v


def to_number(v) -> float | None:
    """A language value (see `_value`) as a finite number, or None when it has none."""
    if v is None:
        return None
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, float):
        return v
    if isinstance(v, list):
        v = " ".join(v)
    if NUMBER_VALUE_RE.fullmatch(v):
        return _finite(float(v))
    return _date_number(v)


def _scalar(v):
    v = " ".join(v) if isinstance(v, list) else v
    return None if v == "" else v


def _equal(a, b) -> bool:
    a, b = _scalar(a), _scalar(b)
    if a is None or b is None:
        return a is b
    if isinstance(a, float) or isinstance(b, float):
        na, nb = to_number(a), to_number(b)
        return na is not None and na == nb
    if isinstance(a, bool) and isinstance(b, bool):
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return to_string(a) == to_string(b)
    da, db = _date_number(a), _date_number(b)
    if da is not None and db is not None:
        return da == db
    return a == b


def _relation(op: str, a, b) -> bool:
    na, nb = to_number(_scalar(a)), to_number(_scalar(b))
    if na is None or nb is None:
        return False
    if op == "<":
        return na < nb
    if op == "<=":
        return na <= nb
    if op == ">":
        return na > nb
    return na >= nb


def _arithmetic(op: str, a, b):
    na, nb = to_number(a), to_number(b)
    if na is None or nb is None:
        return None
    if op == "+":
        return _finite(na + nb)
    if op == "-":
        return _finite(na - nb)
    if op == "*":
        return _finite(na * nb)
    if nb == 0:
        return None
    if op == "mod":
        return math.fmod(na, nb)
    return _finite(na / nb)  # div and /


def _result(v):
    """Numbers leave as int when they are whole (and exact), never as -0."""
    if isinstance(v, float):
        if v == int(v) and abs(v) <= MAX_EXACT:
            return int(v)
        return v
    if isinstance(v, list):
        return list(v)
    return v


# -- syntax tree -------------------------------------------------------------------------
class Node:
    __slots__ = ("depth",)
    depth: int

    def eval(self, ctx):
        raise NotImplementedError


class Literal(Node):
    __slots__ = ("value", "pos")

    def __init__(self, value, pos):
        self.value, self.pos, self.depth = value, pos, 1

    def eval(self, ctx):
        return self.value


class Ref(Node):
    __slots__ = ("name", "pos")

    def __init__(self, name, pos):
        self.name, self.pos, self.depth = name, pos, 1

    def eval(self, ctx):
        return _value(ctx.values.get(self.name))


class Current(Node):
    __slots__ = ("pos",)

    def __init__(self, pos):
        self.pos, self.depth = pos, 1

    def eval(self, ctx):
        return ctx.current


class Negate(Node):
    __slots__ = ("operand",)

    def __init__(self, operand):
        self.operand, self.depth = operand, operand.depth + 1

    def eval(self, ctx):
        n = to_number(self.operand.eval(ctx))
        return None if n is None else -n


class Chain(Node):
    """Operators of one precedence level, folded from the left: `a - b + c`."""

    __slots__ = ("level", "first", "rest")

    def __init__(self, level, first):
        self.level, self.first, self.rest, self.depth = level, first, [], first.depth + 1

    def eval(self, ctx):
        level = self.level
        if level == OR_LEVEL or level == AND_LEVEL:
            stop = level == OR_LEVEL  # `or` stops at the first true side, `and` at a false
            if truthy(self.first.eval(ctx)) == stop:
                return stop
            for _op, operand in self.rest:
                if truthy(operand.eval(ctx)) == stop:
                    return stop
            return not stop
        acc = self.first.eval(ctx)
        for op, operand in self.rest:
            value = operand.eval(ctx)
            if level == EQUALITY_LEVEL:
                acc = _equal(acc, value) == (op == "=")
            elif level == RELATION_LEVEL:
                acc = _relation(op, acc, value)
            else:
                acc = _arithmetic(op, acc, value)
        return acc


class Call(Node):
    __slots__ = ("name", "args", "function")

    def __init__(self, name, args):
        self.name, self.args, self.function = name, args, FUNCTIONS[name][2]
        self.depth = 1 + max((a.depth for a in args), default=0)

    def eval(self, ctx):
        if self.name == "if":
            condition, yes, no = self.args
            return (yes if truthy(condition.eval(ctx)) else no).eval(ctx)
        if self.name == "coalesce":
            for arg in self.args[:-1]:
                value = arg.eval(ctx)
                if not is_empty(value):
                    return value
            return self.args[-1].eval(ctx)
        return self.function(ctx, *[a.eval(ctx) for a in self.args])


# Precedence levels, loosest first.
OR_LEVEL, AND_LEVEL, EQUALITY_LEVEL, RELATION_LEVEL, ADD_LEVEL, MUL_LEVEL, UNARY_LEVEL = range(1, 8)
BINARY = {
    "or": OR_LEVEL, "and": AND_LEVEL,
    "=": EQUALITY_LEVEL, "!=": EQUALITY_LEVEL,
    "<": RELATION_LEVEL, "<=": RELATION_LEVEL, ">": RELATION_LEVEL, ">=": RELATION_LEVEL,
    "+": ADD_LEVEL, "-": ADD_LEVEL,
    "*": MUL_LEVEL, "/": MUL_LEVEL, "div": MUL_LEVEL, "mod": MUL_LEVEL,
}  # fmt: skip


# -- functions ---------------------------------------------------------------------------
def _tokens(v) -> list[str]:
    if isinstance(v, list):
        return v
    return [t for t in TOKEN_SPLIT_RE.split(to_string(v)) if t]


def _number_function(f):
    def apply(ctx, x):
        n = to_number(x)
        return None if n is None else _finite(float(f(n)))

    return apply


def _round_function(ctx, x, places=0.0):
    n, p = to_number(x), to_number(places)
    return None if n is None or p is None else _round(n, p)


def _extreme(pick):
    def apply(ctx, *args):
        values = [to_number(v) for a in args for v in (a if isinstance(a, list) else [a])]
        return None if not values or None in values else pick(values)

    return apply


def _selected_at(ctx, m, i):
    tokens, n = _tokens(m), to_number(i)
    if n is None:
        return ""
    n = math.trunc(n)
    return tokens[n] if 0 <= n < len(tokens) else ""


def _count(ctx, x):
    return float(len(x)) if isinstance(x, list) else 0.0 if is_empty(x) else 1.0


def _substr(ctx, s, start, end=None):
    chars = to_string(s)
    length = len(chars)
    first = to_number(start)
    last = length if end is None else to_number(end)
    if first is None or last is None:
        return ""
    first = min(max(math.trunc(first), 0), length)
    last = min(max(math.trunc(last), 0), length)
    return chars[first:last]


def _regex(ctx, s, pattern):
    program = _compiled_pattern(to_string(pattern))
    return program is not None and _search(program, to_string(s))


def _date(ctx, x):
    n = to_number(x)
    return None if n is None else _format_date(n)


# name: (min arguments, max arguments or None, implementation(ctx, *values))
FUNCTIONS = {
    "if": (3, 3, None),
    "coalesce": (2, None, None),
    "selected": (2, 2, lambda ctx, m, code: to_string(code) in _tokens(m)),
    "count-selected": (1, 1, lambda ctx, m: float(len(_tokens(m)))),
    "selected-at": (2, 2, _selected_at),
    "count": (1, 1, _count),
    "not": (1, 1, lambda ctx, x: not truthy(x)),
    "boolean": (1, 1, lambda ctx, x: truthy(x)),
    "true": (0, 0, lambda ctx: True),
    "false": (0, 0, lambda ctx: False),
    "number": (1, 1, lambda ctx, x: to_number(x)),
    "string": (1, 1, lambda ctx, x: to_string(x)),
    "concat": (1, None, lambda ctx, *args: "".join(to_string(a) for a in args)),
    "int": (1, 1, _number_function(math.trunc)),
    "round": (1, 2, _round_function),
    "floor": (1, 1, _number_function(math.floor)),
    "ceiling": (1, 1, _number_function(math.ceil)),
    "abs": (1, 1, _number_function(abs)),
    "min": (1, None, _extreme(min)),
    "max": (1, None, _extreme(max)),
    "string-length": (1, 1, lambda ctx, s: float(len(to_string(s)))),
    "substr": (2, 3, _substr),
    "contains": (2, 2, lambda ctx, s, t: to_string(t) in to_string(s)),
    "starts-with": (2, 2, lambda ctx, s, t: to_string(s).startswith(to_string(t))),
    "ends-with": (2, 2, lambda ctx, s, t: to_string(s).endswith(to_string(t))),
    "regex": (2, 2, _regex),
    "today": (0, 0, lambda ctx: ctx.today),
    "date": (1, 1, _date),
    "decimal-date-time": (1, 1, lambda ctx, x: to_number(x)),
}


def _expected(low: int, high: int | None) -> str:
    if high is None:
        return f"{low}+"
    return str(low) if low == high else f"{low}-{high}"


# -- parser --------------------------------------------------------------------------------
class Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0
        self.nesting = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Node:
        if self.peek().kind == END:
            raise ExpressionError("empty_expression", 0)
        node = self.expression(0)
        token = self.peek()
        if token.kind != END:
            raise ExpressionError("unexpected_token", token.pos, text=token.text)
        return node

    def expression(self, min_level: int) -> Node:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise ExpressionError("too_deep", self.peek().pos, max=MAX_DEPTH)
        left = self.operand()
        while True:
            token = self.peek()
            level = BINARY.get(token.value) if token.kind == OP else None
            if level is None or level <= min_level:
                break
            self.next()
            right = self.expression(level)
            if not (isinstance(left, Chain) and left.level == level):
                left = Chain(level, left)
            left.rest.append((token.value, right))
            left.depth = max(left.depth, right.depth + 1)
            self._check_depth(left, token)
        self.nesting -= 1
        return left

    def _check_depth(self, node: Node, token: Token) -> None:
        if node.depth > MAX_DEPTH:
            raise ExpressionError("too_deep", token.pos, max=MAX_DEPTH)

    def operand(self) -> Node:
        token = self.next()
        kind = token.kind
        if kind == NUM or kind == STR:
            return Literal(token.value, token.pos)
        if kind == REF:
            return Ref(token.value, token.pos)
        if kind == DOT:
            return Current(token.pos)
        if kind == OP and token.value == "-":
            node: Node = Negate(self.expression(UNARY_LEVEL))
            self._check_depth(node, token)
            return node
        if kind == LPAREN:
            node = self.expression(0)
            self.close(token)
            return node
        if kind == NAME:
            if self.peek().kind != LPAREN:
                raise ExpressionError("bare_name", token.pos, name=token.value)
            return self.call(token)
        if kind == END:
            raise ExpressionError("unexpected_end", token.pos)
        raise ExpressionError("unexpected_token", token.pos, text=token.text)

    def close(self, opening: Token) -> None:
        token = self.next()
        if token.kind == RPAREN:
            return
        if token.kind == END:
            raise ExpressionError("unclosed_paren", opening.pos)
        raise ExpressionError("unexpected_token", token.pos, text=token.text)

    def call(self, name: Token) -> Node:
        if name.value not in FUNCTIONS:
            raise ExpressionError("unknown_function", name.pos, name=name.value)
        opening = self.next()
        args = []
        if self.peek().kind == RPAREN:
            self.next()
        else:
            while True:
                args.append(self.expression(0))
                if self.peek().kind == COMMA:
                    self.next()
                    continue
                self.close(opening)
                break
        low, high, _ = FUNCTIONS[name.value]
        if len(args) < low or (high is not None and len(args) > high):
            raise ExpressionError(
                "wrong_arity",
                name.pos,
                name=name.value,
                expected=_expected(low, high),
                got=len(args),
            )
        if name.value == "regex" and isinstance(args[1], Literal):
            _check_pattern(to_string(args[1].value), args[1].pos)
        node = Call(name.value, args)
        self._check_depth(node, name)
        return node


# -- regular expressions: a portable subset, run on a Thompson NFA ----------------------------
# Instructions: (CHAR, matcher) (SPLIT, a, b) (JUMP, a) (ASSERT, kind) (MATCH,)
CHAR, SPLIT, JUMP, ASSERT, MATCH = range(5)
MAX_PROGRAM = 5000
MAX_REPEAT = 1000
MAX_GROUPS = 20
DIGIT = ((0x30, 0x39),)
WORD = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
SPACE = (
    (0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
    (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF),
)  # fmt: skip
LINE_BREAKS = ((0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029))
SHORTHANDS = {
    "d": (DIGIT, False), "D": (DIGIT, True), "w": (WORD, False), "W": (WORD, True),
    "s": (SPACE, False), "S": (SPACE, True),
}  # fmt: skip
CONTROL_ESCAPES = {"t": 9, "n": 10, "v": 11, "f": 12, "r": 13}
REPEAT_RE = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")


def _repeat_count(digits: str) -> int:
    # Python's int() refuses very long digit strings: anything past 4 digits is too many.
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 4 else MAX_REPEAT + 1


class _PatternError(Exception):
    def __init__(self, reason: str, at: int):
        self.reason, self.at = reason, at


def _in(ranges, c: int) -> bool:
    return any(lo <= c <= hi for lo, hi in ranges)


class _PatternParser:
    """Pattern text to a tree: ("alt", [..]) ("cat", [..]) ("rep", node, min, max|None)
    ("set", negated, [(ranges, negated), ...]) ("assert", kind)."""

    def __init__(self, pattern: str):
        self.p, self.i, self.groups = pattern, 0, 0

    def fail(self, reason, at=None) -> NoReturn:
        raise _PatternError(reason, self.i if at is None else at)

    def parse(self):
        node = self.alternation()
        if self.i < len(self.p):  # only a ')' stops an alternation early
            self.fail("unbalanced_paren")
        return node

    def alternation(self):
        branches = [self.sequence()]
        while self.i < len(self.p) and self.p[self.i] == "|":
            self.i += 1
            branches.append(self.sequence())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def sequence(self):
        items = []
        while self.i < len(self.p) and self.p[self.i] not in "|)":
            items.append(self.repeat(self.atom()))
        return ("cat", items)

    def repeat(self, atom):
        p = self.p
        if self.i >= len(p) or p[self.i] not in "*+?{":
            return atom
        start = self.i
        c = p[self.i]
        if c == "{":
            m = REPEAT_RE.match(p, self.i)
            if not m:
                self.fail("bad_repeat")
            low = _repeat_count(m[1])
            high = low if m[2] is None else (_repeat_count(m[3]) if m[3] else None)
            if low > MAX_REPEAT or (high is not None and (high < low or high > MAX_REPEAT)):
                self.fail("bad_repeat")
            self.i = m.end()
        else:
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
            self.i += 1
        if atom[0] == "assert":
            self.fail("nothing_to_repeat", start)
        if self.i < len(p) and p[self.i] == "?":  # lazy: the same language
            self.i += 1
        if self.i < len(p) and p[self.i] in "*+?{":
            self.fail("nothing_to_repeat")
        return ("rep", atom, low, high)

    def atom(self):
        p = self.p
        c = p[self.i]
        start = self.i
        self.i += 1
        if c == "(":
            if p.startswith("?:", self.i):
                self.i += 2
            elif p.startswith("?", self.i):
                self.fail("unsupported_group", start)
            self.groups += 1
            if self.groups > MAX_GROUPS:
                self.fail("too_large", start)
            node = self.alternation()
            if self.i >= len(p):
                self.fail("unclosed_group", start)
            self.i += 1  # the ')'
            self.groups -= 1
            return node
        if c in "*+?":
            self.fail("nothing_to_repeat", start)
        if c == "{":
            self.fail("bad_repeat", start)
        if c == "[":
            return self.char_class(start)
        if c == ".":
            return ("set", True, [(LINE_BREAKS, False)])
        if c == "^":
            return ("assert", "^")
        if c == "$":
            return ("assert", "$")
        if c == "\\":
            if self.i < len(p) and p[self.i] in "bB":
                self.i += 1
                return ("assert", p[self.i - 1])
            part = self.escape(start)
            return ("set", False, [part])
        return ("set", False, [(((ord(c), ord(c)),), False)])

    def escape(self, start):
        """After a backslash: (ranges, negated) for one character or a shorthand class."""
        p = self.p
        if self.i >= len(p):
            self.fail("trailing_backslash", start)
        c = p[self.i]
        self.i += 1
        if c in SHORTHANDS:
            return SHORTHANDS[c]
        if c in CONTROL_ESCAPES:
            code = CONTROL_ESCAPES[c]
        elif c in "ux":
            width = 4 if c == "u" else 2
            digits = p[self.i : self.i + width]
            if len(digits) != width or not all(d in "0123456789abcdefABCDEF" for d in digits):
                self.fail("unsupported_escape", start)
            self.i += width
            code = int(digits, 16)
        elif c.isascii() and c.isalnum():
            self.fail("unsupported_escape", start)
        else:
            code = ord(c)
        return (((code, code),), False)

    def char_class(self, start):
        p = self.p
        negated = p.startswith("^", self.i)
        if negated:
            self.i += 1
        if p.startswith("]", self.i):
            self.fail("empty_class", start)
        parts: list = []
        while True:
            if self.i >= len(p):
                self.fail("unclosed_class", start)
            if p[self.i] == "]":
                self.i += 1
                return ("set", negated, parts)
            low = self.class_atom()
            if p.startswith("-", self.i) and self.i + 1 < len(p) and p[self.i + 1] != "]":
                dash = self.i
                self.i += 1
                high = self.class_atom()
                if (
                    low[1]
                    or high[1]
                    or len(low[0]) != 1
                    or len(high[0]) != 1
                    or low[0][0][0] != low[0][0][1]
                    or high[0][0][0] != high[0][0][1]
                    or low[0][0][0] > high[0][0][0]
                ):
                    self.fail("bad_range", dash)
                parts.append((((low[0][0][0], high[0][0][0]),), False))
            else:
                parts.append(low)

    def class_atom(self):
        p = self.p
        c = p[self.i]
        start = self.i
        self.i += 1
        if c == "\\":
            if self.i < len(p) and p[self.i] in "bB":
                self.fail("unsupported_escape", start)
            return self.escape(start)
        return (((ord(c), ord(c)),), False)


def _emit(node, program: list) -> None:
    kind = node[0]
    if len(program) > MAX_PROGRAM:
        raise _PatternError("too_large", 0)
    if kind == "set":
        program.append((CHAR, (node[1], node[2])))
    elif kind == "assert":
        program.append((ASSERT, node[1]))
    elif kind == "cat":
        for item in node[1]:
            _emit(item, program)
    elif kind == "alt":
        jumps = []
        for branch in node[1][:-1]:
            split = len(program)
            program.append(None)
            _emit(branch, program)
            jumps.append(len(program))
            program.append(None)
            program[split] = (SPLIT, split + 1, len(program))
        _emit(node[1][-1], program)
        for j in jumps:
            program[j] = (JUMP, len(program))
    else:  # rep
        _, item, low, high = node
        for _ in range(low):
            _emit(item, program)
        if high is None:
            split = len(program)
            program.append(None)
            _emit(item, program)
            program.append((JUMP, split))
            program[split] = (SPLIT, split + 1, len(program))
        else:
            for _ in range(high - low):
                split = len(program)
                program.append(None)
                _emit(item, program)
                program[split] = (SPLIT, split + 1, len(program))


def _compile(pattern: str):
    tree = _PatternParser(pattern).parse()
    program: list = []
    _emit(tree, program)
    if len(program) > MAX_PROGRAM:
        raise _PatternError("too_large", 0)
    program.append((MATCH,))
    return program


@functools.lru_cache(maxsize=512)
def _compiled_pattern(pattern: str):
    """The program for a pattern, or None when the pattern is invalid."""
    try:
        return _compile(pattern)
    except _PatternError:
        return None


def _check_pattern(pattern: str, pos: int) -> None:
    """Raise ExpressionError(bad_regex) for a literal pattern that does not compile."""
    try:
        _compile(pattern)
    except _PatternError as e:
        raise ExpressionError("bad_regex", pos, reason=e.reason, at=e.at) from None


def _is_word(text: str, i: int) -> bool:
    return 0 <= i < len(text) and _in(WORD, ord(text[i]))


def _search(program: list, text: str) -> bool:
    """Whether the program matches anywhere in text: a Pike VM without captures."""
    n = len(text)
    seen = [-1] * len(program)

    def add(threads: list, pc: int, i: int) -> None:
        stack = [pc]
        while stack:
            pc = stack.pop()
            if seen[pc] == i:
                continue
            seen[pc] = i
            op = program[pc]
            kind = op[0]
            if kind == JUMP:
                stack.append(op[1])
            elif kind == SPLIT:
                stack.append(op[2])
                stack.append(op[1])
            elif kind == ASSERT:
                a = op[1]
                if (
                    (a == "^" and i == 0)
                    or (a == "$" and i == n)
                    or (a == "b" and _is_word(text, i - 1) != _is_word(text, i))
                    or (a == "B" and _is_word(text, i - 1) == _is_word(text, i))
                ):
                    stack.append(pc + 1)
            else:
                threads.append(pc)

    threads: list = []
    for i in range(n + 1):
        add(threads, 0, i)  # a match may start anywhere
        following: list = []
        c = ord(text[i]) if i < n else -1
        for pc in threads:
            op = program[pc]
            if op[0] == MATCH:
                return True
            if c >= 0:
                negated, parts = op[1]
                if any(_in(ranges, c) != neg for ranges, neg in parts) != negated:
                    add(following, pc + 1, i + 1)
        threads = following
    return False


# -- public API ------------------------------------------------------------------------------
class _Context:
    __slots__ = ("values", "current", "today")

    def __init__(self, values, current, today):
        self.values, self.current, self.today = values, current, today


class Expression:
    """A parsed expression: its text, the fields it reads, and evaluation."""

    def __init__(self, text: str, tree: Node, refs: list, current_positions: list):
        self.text = text
        self.tree = tree
        self._refs = refs  # (name, pos) in order of appearance
        self._current_positions = current_positions

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def references(self) -> set[str]:
        """The names of the fields the expression reads."""
        return {name for name, _pos in self._refs}

    @property
    def uses_current(self) -> bool:
        """Whether the expression reads `.`, the value of the field being checked."""
        return bool(self._current_positions)

    def evaluate(self, values: Mapping | None = None, current=None, today=None):
        """The value of the expression: None, bool, int, float, str or list of str.

        `values` maps field names to values; `current` is the value of `.`; `today` (a date
        or ISO string) is what today() gives, by default the local date."""
        if today is None:
            today = datetime.date.today()
        if isinstance(today, datetime.datetime):
            today = today.date()
        if isinstance(today, datetime.date):
            today = today.isoformat()
        ctx = _Context(values or {}, _value(current), today)
        return _result(self.tree.eval(ctx))

    def test(self, values: Mapping | None = None, current=None, today=None) -> bool:
        """The value as a boolean, for relevant and constraint."""
        return truthy(self.evaluate(values, current, today))


def parse(text: str) -> Expression:
    """Parse text into an Expression; raises ExpressionError (only) for bad text."""
    if not isinstance(text, str):
        raise TypeError("an expression is a string")
    parser = Parser(text)
    tree = parser.parse()
    refs = [(t.value, t.pos) for t in parser.tokens if t.kind == REF]
    current = [t.pos for t in parser.tokens if t.kind == DOT]
    return Expression(text, tree, refs, current)


def check(
    text: str, known_fields: Iterable[str], allow_current: bool = True, language: str = "en"
) -> list[dict]:
    """Errors for the form builder, as dicts (see ExpressionError.as_dict): the first syntax
    error, or every reference to a field not in known_fields (and every `.` when not
    allow_current). An empty list means the expression is fine."""
    try:
        expression = parse(text)
    except ExpressionError as e:
        return [e.as_dict(language)]
    known = set(known_fields)
    errors = [
        ExpressionError("unknown_field", pos, name=name)
        for name, pos in expression._refs
        if name not in known
    ]
    if not allow_current:
        errors += [
            ExpressionError("current_not_allowed", pos) for pos in expression._current_positions
        ]
    return [e.as_dict(language) for e in sorted(errors, key=lambda e: e.pos)]
