"""The browser's expression engine (forms/static/expressions.js) in headless Chromium gives
the same outcome as the server's (forms/expressions.py) for every shared vector, for
hypothesis-generated expressions and values, and for seeded random numbers and dates.

Only the script is loaded, into an empty page: no portal or server is needed. Chromium comes
from the session's `browser` fixture (tests/browser/conftest.py), which skips when it is
missing, or fails under CI=true."""

import random
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import forms
from forms.expressions import ExpressionError, check, parse
from tests.unit.forms import strategies
from tests.unit.forms.vectors import load, problems, run_python, same, vector_id

pytestmark = pytest.mark.browser

SCRIPT = Path(forms.__file__).with_name("static").joinpath("expressions.js")
DOC = load()
VECTORS = DOC["vectors"]
TODAY = DOC["today"]

# Runs vectors ({expr, values?, current?, today?}) and returns what run_python returns.
RUN_VECTORS = """
({vectors, today}) => {
  const FE = window.FormExpressions;
  return vectors.map((v) => {
    try {
      const e = FE.parse(v.expr);
      const result = e.evaluate(v.values || {}, v.current, v.today || today);
      return {result: result === undefined ? "<undefined>" : result, refs: e.references()};
    } catch (err) {
      if (err instanceof FE.ExpressionError) {
        return {error: err.code, pos: err.pos, params: err.params,
                message: err.render("en"), zh: err.render("zh")};
      }
      return {crash: String((err && err.stack) || err)};
    }
  });
}
"""

RUN_CHECKS = """
(cases) => cases.map((c) =>
  window.FormExpressions.check(c.expr, c.known, c.allow_current !== false, c.language))
"""


@pytest.fixture(scope="module")
def engine(browser):
    """An empty page with expressions.js loaded; script errors fail the test module."""
    context = browser.new_context()
    page = context.new_page()
    page_errors = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.set_content("<!doctype html><html><head><meta charset='utf-8'></head><body></body>")
    page.add_script_tag(content=SCRIPT.read_text(encoding="utf-8"))
    assert page.evaluate("Object.keys(window.FormExpressions).sort()") == sorted(
        [
            "parse",
            "evaluate",
            "references",
            "check",
            "truthy",
            "isEmpty",
            "ExpressionError",
            "MESSAGES",
            "MAX_DEPTH",
        ]
    )
    yield page
    context.close()
    assert page_errors == []


def run_js(engine, vectors, today=TODAY):
    return engine.evaluate(RUN_VECTORS, {"vectors": vectors, "today": today})


def differences(python: dict, javascript: dict) -> list[str]:
    """How the browser's outcome differs from the server's (empty when they agree)."""
    if "crash" in javascript:
        return [f"JavaScript crashed: {javascript['crash']}"]
    if "error" in python:
        keys = ("error", "pos", "params", "message", "zh")
        return [
            f"{k}: {python[k]!r} != {javascript.get(k)!r}"
            for k in keys
            if python[k] != javascript.get(k)
        ]
    if "result" not in javascript:
        return [f"expected {python['result']!r}, the browser raised {javascript}"]
    found = []
    if not same(python["result"], javascript["result"]):
        found.append(f"result: {python['result']!r} != {javascript['result']!r}")
    if python["refs"] != javascript["refs"]:
        found.append(f"refs: {python['refs']} != {javascript['refs']}")
    return found


@pytest.fixture(scope="module")
def browser_outcomes(engine):
    """All vectors run in one round trip."""
    return run_js(engine, VECTORS)


@pytest.mark.parametrize(
    "index", range(len(VECTORS)), ids=[vector_id(i, v) for i, v in enumerate(VECTORS)]
)
def test_vector_in_chromium(browser_outcomes, index):
    vector = VECTORS[index]
    javascript = browser_outcomes[index]
    assert "crash" not in javascript, javascript["crash"]
    assert problems(vector, javascript) == []
    assert differences(run_python(vector, TODAY), javascript) == []


def test_check_in_chromium(engine):
    cases = [{**case, "language": language} for case in DOC["checks"] for language in ("en", "zh")]
    found = engine.evaluate(RUN_CHECKS, cases)
    expected = [
        check(c["expr"], c["known"], c.get("allow_current", True), c["language"]) for c in cases
    ]
    assert found == expected
    assert [[e["code"] for e in errors] for errors in found[::2]] == [
        [e["code"] for e in case["errors"]] for case in DOC["checks"]
    ]


def test_errors_are_expression_errors_with_plain_data(engine):
    error = engine.evaluate(
        """() => {
             try { window.FormExpressions.parse("1 +"); }
             catch (e) { return {isError: e instanceof Error, name: e.name,
                                 data: e.asDict("zh"), message: e.message}; }
           }"""
    )
    with pytest.raises(ExpressionError) as caught:
        parse("1 +")
    assert error == {
        "isError": True,
        "name": "ExpressionError",
        "data": caught.value.as_dict("zh"),
        "message": caught.value.message,
    }


def test_today_defaults_to_the_browsers_local_date(engine):
    found = engine.evaluate("window.FormExpressions.evaluate('today()', {})")
    expected = engine.evaluate(
        "(() => { const d = new Date(); return [d.getFullYear(),"
        " String(d.getMonth() + 1).padStart(2, '0'), String(d.getDate()).padStart(2, '0')]"
        ".join('-'); })()"
    )
    assert found == expected


# -- generated input: the browser agrees with the server -------------------------------------
BROWSER_PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@BROWSER_PROPERTY
@given(
    text=st.one_of(strategies.expressions, strategies.texts),
    values=strategies.field_values(allow_non_finite=False),
    current=strategies.currents(allow_non_finite=False),
    today=strategies.dates,
)
def test_generated_expressions_agree(engine, text, values, current, today):
    vector = {"expr": text, "values": values, "current": current, "today": today}
    [javascript] = run_js(engine, [vector])
    assert differences(run_python(vector, today), javascript) == []


def _random_double(rng):
    while True:
        x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if x == x and abs(x) != float("inf"):
            return x


def _random_number(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return rng.uniform(-1e6, 1e6)
    if kind == 1:
        return rng.randrange(-(10**7), 10**7) / 1000  # exact halves and near-halves
    if kind == 2:
        return _random_double(rng)
    if kind == 3:
        return rng.choice([0.5, 1.5, 2.5, 1.005, 2.675, 9.995, 1.25, 0.125]) * 10.0 ** rng.randint(
            -12, 22
        )
    if kind == 4:
        return round(rng.uniform(-100, 100), rng.randint(0, 8))
    return float(rng.randrange(-(2**60), 2**60))


def _random_datetime(rng):
    text = (
        f"{rng.randint(0, 9999):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 31):02d}"
        f"{rng.choice('T ')}{rng.randint(0, 24):02d}:{rng.randint(0, 59):02d}"
    )
    if rng.random() < 0.7:
        text += f":{rng.randint(0, 60):02d}"
        if rng.random() < 0.5:
            text += "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 6)))
    return text + rng.choice(["", "Z", "+08:00", "-05:30", "+0845", "-23:59", "+24:00"])


def test_seeded_numbers_and_dates_agree(engine):
    """Number printing, rounding, arithmetic and the calendar, on thousands of inputs."""
    rng = random.Random(20260315)
    vectors = []
    for _ in range(1500):
        x, y = _random_number(rng), _random_number(rng)
        values = {"x": x, "y": y, "p": rng.randint(-4, 9)}
        for expr in (
            "string(${x})",
            "round(${x}, ${p})",
            "round(${x})",
            "int(${x})",
            "${x} mod ${y}",
            "${x} div ${y}",
            "${x} * ${y} + ${x}",
            "string(number(string(${x}))) = string(${x})",
        ):
            vectors.append({"expr": expr, "values": values})
    for _ in range(1500):
        values = {
            "d": rng.uniform(-800_000, 3_000_000),
            "s": _random_datetime(rng),
            "t": f"{rng.randint(0, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}",
        }
        for expr in (
            "date(${d})",
            "decimal-date-time(${s})",
            "date(${s})",
            "${t} < ${s}",
            "${t} = ${s}",
            "date(${t})",
            "${t} - ${s}",
        ):
            vectors.append({"expr": expr, "values": values})
    found = run_js(engine, vectors)
    mismatches = [
        (v["expr"], v["values"], diff)
        for v, js in zip(vectors, found, strict=True)
        for diff in differences(run_python(v, TODAY), js)
    ]
    assert mismatches[:10] == [], f"{len(mismatches)} of {len(vectors)} differ"
