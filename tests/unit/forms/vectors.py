"""The shared expression vectors, and how one vector runs on the Python side: used by the unit
tests and by the browser test, which holds forms/static/expressions.js to the same outcomes."""

import json
import math
import pathlib

from forms.expressions import ExpressionError, parse

PATH = pathlib.Path(__file__).with_name("expression_vectors.json")


def load() -> dict:
    return json.loads(PATH.read_text(encoding="utf-8"))


def vector_id(index: int, vector: dict) -> str:
    text = vector["expr"].replace("\n", "\\n")
    return f"{index:03d}:{text[:40]}"


def run_python(vector: dict, today: str) -> dict:
    """The outcome of one vector: {result, refs} or {error, pos, params, message, zh}."""
    try:
        expression = parse(vector["expr"])
    except ExpressionError as e:
        return {
            "error": e.code, "pos": e.pos, "params": e.params,
            "message": e.render("en"), "zh": e.render("zh"),
        }  # fmt: skip
    result = expression.evaluate(
        vector.get("values", {}), vector.get("current"), vector.get("today", today)
    )
    return {"result": result, "refs": sorted(expression.references())}


def same(a, b) -> bool:
    """Equal values of the same kind: True is not 1, 3 is 3.0, lists item by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        # As doubles: JSON may carry a large double as an int that is not exactly it.
        return float(a) == float(b) and math.isfinite(a) and math.isfinite(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def problems(vector: dict, outcome: dict) -> list[str]:
    """How an outcome differs from what the vector expects (empty when it matches)."""
    if "error" in vector:
        found = (outcome.get("error"), outcome.get("pos"))
        if found != (vector["error"], vector["pos"]):
            return [f"expected error {vector['error']} at {vector['pos']}, got {outcome}"]
        params = outcome["params"]
        return [
            f"parameter {key}: expected {value!r}, got {params.get(key)!r}"
            for key, value in vector.items()
            if key not in ("expr", "error", "pos", "note") and params.get(key) != value
        ]
    if "result" not in outcome:
        return [f"expected {vector['result']!r}, got {outcome}"]
    found = []
    if not same(outcome["result"], vector["result"]):
        found.append(f"expected {vector['result']!r}, got {outcome['result']!r}")
    if "refs" in vector and outcome["refs"] != vector["refs"]:
        found.append(f"expected references {vector['refs']}, got {outcome['refs']}")
    return found
