"""Hypothesis strategies for the expression language: arbitrary text, well-formed expressions
and field values (shared by the unit tests and the browser parity test)."""

import re

from hypothesis import strategies as st

FIELDS = ["a", "b", "dob", "m", "x-y", "n.1", "_z"]
SAFE_PATTERNS = ["^[0-9]{3}$", "a|b", "^1[3-9]\\d{9}$", "(ab)*c?", "\\bx", "[^a-c]+$", ""]
OPERATORS = ["+", "-", "*", "div", "/", "mod", "=", "!=", "<", "<=", ">", ">=", "and", "or"]
# name -> (min, max) arguments drawn; regex is built separately (its pattern must be valid).
CALLS = {
    "if": (3, 3), "coalesce": (2, 3), "selected": (2, 2), "count-selected": (1, 1),
    "selected-at": (2, 2), "count": (1, 1), "not": (1, 1), "boolean": (1, 1),
    "number": (1, 1), "string": (1, 1), "concat": (1, 3), "int": (1, 1), "round": (1, 2),
    "floor": (1, 1), "ceiling": (1, 1), "abs": (1, 1), "min": (1, 3), "max": (1, 3),
    "string-length": (1, 1), "substr": (2, 3), "contains": (2, 2), "starts-with": (2, 2),
    "ends-with": (2, 2), "date": (1, 1), "decimal-date-time": (1, 1),
}  # fmt: skip
REF_RE = re.compile(r"\$\{([^}]*)\}")

# Characters the language uses, plus a few that it must refuse cleanly.
EXPRESSION_ALPHABET = st.sampled_from(
    list("${}()., '\"+-*/=!<>0123456789abcdivmodnrt_\t\n") + ["和", "😀", "\u3000", "#", "\\"]
)
texts = st.one_of(
    st.text(EXPRESSION_ALPHABET, max_size=60),
    st.text(max_size=30),
)

plain_strings = st.text(
    st.characters(blacklist_characters="'$", blacklist_categories=("Cs",)), max_size=8
)
dates = st.dates().map(lambda d: d.isoformat())
numeric_strings = st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str)

leaves = st.one_of(
    st.integers(-10_000, 10_000).map(str),
    st.decimals(0, 100_000, places=3).map(str),
    plain_strings.map(lambda s: f"'{s}'"),
    dates.map(lambda s: f"'{s}'"),
    st.sampled_from(FIELDS).map(lambda f: "${" + f + "}"),
    st.sampled_from([".", "today()", "true()", "false()"]),
)


def _extend(children):
    def call(name):
        low, high = CALLS[name]
        return st.lists(children, min_size=low, max_size=high).map(
            lambda args: f"{name}({', '.join(args)})"
        )

    return st.one_of(
        st.tuples(children, st.sampled_from(OPERATORS), children).map(" ".join),
        children.map(lambda c: f"({c})"),
        children.map(lambda c: f"-{c}"),
        st.sampled_from(sorted(CALLS)).flatmap(call),
        st.tuples(children, st.sampled_from(SAFE_PATTERNS)).map(
            lambda t: f"regex({t[0]}, '{t[1]}')"
        ),
    )


expressions = st.recursive(leaves, _extend, max_leaves=25)


def references_in(text: str) -> set[str]:
    return set(REF_RE.findall(text))


def _scalars(allow_non_finite: bool):
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**60), 2**60),
        st.floats(allow_nan=allow_non_finite, allow_infinity=allow_non_finite),
        plain_strings,
        numeric_strings,
        dates,
        st.datetimes().map(lambda d: d.isoformat(timespec="seconds") + "Z"),
    )


def field_values(allow_non_finite: bool = True):
    """Values as the API's data holds them (JSON-safe unless allow_non_finite)."""
    scalar = _scalars(allow_non_finite)
    value = st.one_of(scalar, st.lists(st.text("abc123", min_size=1, max_size=3), max_size=4))
    return st.dictionaries(st.sampled_from(FIELDS), value, max_size=len(FIELDS))


def currents(allow_non_finite: bool = True):
    return _scalars(allow_non_finite)
