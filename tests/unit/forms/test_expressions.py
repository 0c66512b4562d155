"""The expression language on the server: the shared vectors, the public API, and
hypothesis-generated input (the parser only ever raises ExpressionError, and never hangs)."""

import copy
import datetime
import decimal
import re
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from forms.expressions import (
    BINARY,
    FUNCTIONS,
    MAX_DEPTH,
    MESSAGES,
    REGEX_REASONS,
    Expression,
    ExpressionError,
    check,
    format_number,
    is_empty,
    parse,
    tokenize,
    truthy,
)
from tests.unit.forms import strategies
from tests.unit.forms.vectors import load, problems, run_python, same, vector_id

DOC = load()
VECTORS = DOC["vectors"]
TODAY = DOC["today"]
PROPERTY = settings(max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow])


# -- the shared vectors ---------------------------------------------------------------------
@pytest.mark.parametrize("vector", VECTORS, ids=[vector_id(i, v) for i, v in enumerate(VECTORS)])
def test_vector(vector):
    outcome = run_python(vector, TODAY)
    assert problems(vector, outcome) == []
    if "error" in outcome:  # messages render in both languages, every placeholder filled
        for message in (outcome["message"], outcome["zh"]):
            assert re.search(r"\$\{(pos|column|text|name|max|expected|got)\}", message) is None


@pytest.mark.parametrize("case", DOC["checks"], ids=[c["expr"] for c in DOC["checks"]])
def test_check(case):
    errors = check(case["expr"], case["known"], case.get("allow_current", True))
    assert len(errors) == len(case["errors"])
    for error, expected in zip(errors, case["errors"], strict=True):
        assert {key: error[key] for key in expected} == expected
        assert error["message"]


def test_the_vectors_cover_every_function_operator_and_error():
    texts = " ".join(v["expr"] for v in VECTORS)
    assert len(VECTORS) >= 150
    missing = [name for name in FUNCTIONS if f"{name}(" not in texts]
    assert missing == []
    operators = {
        token.value
        for v in VECTORS
        if "result" in v
        for token in tokenize(v["expr"])
        if token.kind == "op"
    }
    assert operators == set(BINARY)
    codes = {v["error"] for v in VECTORS if "error" in v}
    codes |= {e["code"] for c in DOC["checks"] for e in c["errors"]}
    assert set(MESSAGES) - codes == set()
    reasons = {v["reason"] for v in VECTORS if v.get("error") == "bad_regex"}
    assert set(REGEX_REASONS) - reasons == set()


# -- the API --------------------------------------------------------------------------------
def test_parse_gives_an_expression_with_its_references():
    expression = parse("if(${a} > 3, ${b}, ${a} + .)")
    assert isinstance(expression, Expression)
    assert expression.text == "if(${a} > 3, ${b}, ${a} + .)"
    assert expression.references() == {"a", "b"}
    assert expression.uses_current
    assert not parse("${a}").uses_current
    assert repr(parse("1")) == "Expression('1')"


def test_evaluate_reads_python_dates_decimals_and_tuples():
    expression = parse("${d} - ${e}")
    assert expression.evaluate({"d": datetime.date(2026, 3, 15), "e": "2026-03-01"}) == 14
    at_noon = datetime.datetime(1970, 1, 2, 12, 0, tzinfo=datetime.UTC)
    assert parse("decimal-date-time(${t})").evaluate({"t": at_noon}) == 1.5
    assert parse("${n} * 2").evaluate({"n": decimal.Decimal("1.25")}) == 2.5
    assert parse("count-selected(${m})").evaluate({"m": ("a", "b")}) == 2


def test_non_finite_values_are_empty():
    for value in (float("nan"), float("inf"), -float("inf")):
        assert parse("${x}").evaluate({"x": value}) is None
        assert parse("${x} = ''").evaluate({"x": value}) is True


def test_whole_numbers_come_back_as_int_and_never_negative_zero():
    assert type(parse("6 div 2").evaluate()) is int
    assert type(parse("7 div 2").evaluate()) is float
    result = parse("-0 * 1").evaluate()
    assert result == 0 and str(result) == "0"
    assert parse("2 * 4503599627370496 * 2").evaluate() == 2.0**54  # not exact: float


def test_today_defaults_to_the_local_date_and_accepts_dates():
    assert parse("today()").evaluate() == datetime.date.today().isoformat()
    assert parse("today()").evaluate(today=datetime.date(2024, 2, 29)) == "2024-02-29"
    moment = datetime.datetime(2024, 2, 29, 23, 59)
    assert parse("today()").evaluate(today=moment) == "2024-02-29"


def test_test_is_the_boolean_of_the_value():
    assert parse(". > 3").test(current=4) is True
    assert parse("${a}").test({"a": "0"}) is True
    assert parse("${a}").test({"a": 0}) is False
    assert truthy(None) is False and truthy([]) is False and truthy(["x"]) is True
    assert is_empty(None) and is_empty("") and is_empty([]) and not is_empty(0)


def test_evaluate_does_not_change_the_values():
    values = {"m": ["a", "b"], "d": {"x": [1]}}
    before = copy.deepcopy(values)
    result = parse("${m}").evaluate(values)
    result.append("c")
    assert values == before


def test_parse_refuses_what_is_not_text():
    with pytest.raises(TypeError):
        parse(None)


def test_errors_are_plain_data_in_english_and_chinese():
    with pytest.raises(ExpressionError) as caught:
        parse("${a} > 18 and valid")
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.as_dict() == {
        "code": "bare_name",
        "pos": 14,
        "name": "valid",
        "message": "'valid' at character 15 is not a value: write ${valid} for a field or "
        "valid() for a function",
    }
    assert str(error) == error.message
    assert error.render("zh") == (
        "第 15 个字符处的“valid”不是值：字段应写作 ${valid}，函数应写作 valid()"
    )
    assert error.as_dict("zh")["message"] == error.render("zh")
    assert error.render("fr") == error.render("en")


def test_bad_regex_errors_explain_the_pattern_problem():
    with pytest.raises(ExpressionError) as caught:
        parse("regex(., '[z-a]')")
    assert caught.value.params == {"reason": "bad_range", "at": 2}
    assert "reversed" in caught.value.message
    assert "character 3 of the pattern" in caught.value.message
    assert "范围颠倒" in caught.value.render("zh")


def test_check_reports_unknown_fields_in_chinese_too():
    errors = check("${weight} div ${hieght}", ["weight", "height"], language="zh")
    assert errors == [
        {
            "code": "unknown_field",
            "pos": 14,
            "name": "hieght",
            "message": "第 15 个字符处引用的字段“hieght”不存在",
        }
    ]
    assert check("", []) == [
        {"code": "empty_expression", "pos": 0, "message": "The expression is empty"}
    ]


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (1e21, "1e+21"), (1e20, "100000000000000000000"), (1.5e-7, "1.5e-7"),
        (1e-6, "0.000001"), (1.23e-18, "1.23e-18"), (0.1, "0.1"), (-2.5, "-2.5"),
        (2.0**53, "9007199254740992"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        (5e-324, "5e-324"), (123456.789, "123456.789"), (-1e-7, "-1e-7"), (0.0, "0"),
        (-0.0, "0"),
    ],
)  # fmt: skip
def test_numbers_print_as_javascript_prints_them(x, text):
    assert format_number(x) == text


# -- nesting is bounded, with a clear error ---------------------------------------------------
DEEP = 10_000


@pytest.mark.parametrize(
    "text",
    [
        "(" * DEEP + "1" + ")" * DEEP,
        "-" * DEEP + "1",
        "not(" * DEEP + "1" + ")" * DEEP,
        "abs(" * DEEP + "1" + ")" * DEEP,
        "if(1, " * DEEP + "1" + ", 0)" * DEEP,
        "concat(1, " * DEEP + "1" + ")" * DEEP,
        "(" * DEEP,
        "1 + (" * DEEP + "1" + ")" * DEEP,
        "regex(., '" + "(" * DEEP + "')",
    ],
    ids=["parens", "minus", "not", "abs", "if", "concat", "open", "sum", "regex"],
)
def test_deep_nesting_is_an_error_not_a_recursion_error(text):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert caught.value.code in ("too_deep", "bad_regex")


def test_nesting_up_to_the_limit_works():
    assert parse("(" * (MAX_DEPTH - 1) + "2" + ")" * (MAX_DEPTH - 1)).evaluate() == 2
    assert parse("-" * (MAX_DEPTH - 2) + "2").evaluate() == 2


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("1" + " + 1" * DEEP, DEEP + 1),
        ("1 = 1" + " and 1 = 1" * DEEP, True),
        ("2" + " * 1" * DEEP, 2),
        ("concat('a'" + ", 'a'" * DEEP + ")", "a" * (DEEP + 1)),
    ],
    ids=["sum", "and", "product", "arguments"],
)
def test_long_flat_expressions_are_fine(text, result):
    assert parse(text).evaluate() == result


@pytest.mark.parametrize(
    "pattern", ["^(a+)+$", "^(a|aa)*$", "(a*)*b", "^(\\w+\\s?)*$", "^(.*a){20}$"]
)
def test_regex_never_backtracks_for_ever(pattern):
    expression = parse(f"regex(., '{pattern}')")
    started = time.perf_counter()
    assert expression.evaluate(current="a" * 3000 + "!") is False
    assert time.perf_counter() - started < 5


# -- hypothesis -------------------------------------------------------------------------------
ALLOWED_RESULTS = (type(None), bool, int, float, str, list)


def assert_a_value(result):
    assert isinstance(result, ALLOWED_RESULTS)
    if isinstance(result, float):
        assert result == result and abs(result) != float("inf")
    if isinstance(result, list):
        assert all(isinstance(item, str) for item in result)


@PROPERTY
@given(text=strategies.texts, values=strategies.field_values(), current=strategies.currents())
def test_any_text_parses_or_raises_expression_error(text, values, current):
    try:
        expression = parse(text)
    except ExpressionError as e:
        assert e.code in MESSAGES
        assert 0 <= e.pos <= len(text)
        assert e.render("en") and e.render("zh")
        return
    assert_a_value(expression.evaluate(values, current, "2026-03-15"))


@PROPERTY
@given(
    text=strategies.expressions,
    values=strategies.field_values(),
    current=strategies.currents(),
    today=strategies.dates,
)
def test_well_formed_expressions_parse_and_evaluate(text, values, current, today):
    expression = parse(text)
    assert expression.references() == strategies.references_in(text)
    before = copy.deepcopy(values)
    result = expression.evaluate(values, current, today)
    assert_a_value(result)
    assert values == before
    # Grouping the whole expression, with blanks around it, changes nothing.
    assert same(parse(f"( {text}\n)").evaluate(values, current, today), result)


@PROPERTY
@given(
    pattern=st.text(st.sampled_from(list("ab.|*+?()^${}12,")), max_size=12),
    subject=st.text(st.sampled_from(list("ab\n")), max_size=12),
)
def test_regex_agrees_with_python_re_where_both_accept_the_pattern(pattern, subject):
    try:
        expression = parse(f"regex(., '{pattern}')")
    except ExpressionError as e:
        assert e.code == "bad_regex"
        return
    try:
        # Python's $ also matches before a final line break; \Z is "at the end" only.
        compiled = re.compile(pattern.replace("$", r"\Z"))
    except re.error:
        assume(False)
    assert expression.evaluate(current=subject) == (compiled.search(subject) is not None)


@PROPERTY
@given(pattern=st.text(max_size=20), subject=st.text(max_size=20))
def test_any_pattern_is_accepted_or_refused_cleanly(pattern, subject):
    quote = "'" if "'" not in pattern else '"'
    assume(quote not in pattern)
    try:
        expression = parse(f"regex(., {quote}{pattern}{quote})")
    except ExpressionError as e:
        assert e.code == "bad_regex"
        assert 0 <= e.params["at"] <= len(pattern)
        return
    assert expression.evaluate(current=subject) in (True, False)
    assert parse("regex(., ${p})").evaluate({"p": pattern}, current=subject) in (True, False)
