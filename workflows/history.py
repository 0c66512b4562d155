"""What changed between two versions of a record's values: the history pages and the audit
log name the fields an edit changed (never their values)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def changed_keys(
    before: Mapping[str, Any], after: Mapping[str, Any], order: Iterable[str] = ()
) -> list[str]:
    """The keys whose values differ between `before` and `after`: those in `order` first, in
    that order, then the rest sorted. A key that is absent and one that is None are the same
    (no answer)."""
    changed = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
    ordered = [key for key in dict.fromkeys(order) if key in changed]
    return ordered + sorted(changed.difference(ordered))
