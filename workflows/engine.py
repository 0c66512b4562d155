"""Workflows as data: states, transitions, who may take each (capacities) and named guards,
loaded from JSON definitions (workflows/definitions/*.json) and checked when loaded.

The engine knows nothing of the portal. The portal says what capacities a caller holds for
one record (`Caller`) and what it knows about the record (`Facts`); the engine says which
transitions are open, why the others are not (a reason code and words in Chinese and
English), and what taking one does: the record's next state and a history entry.

A record under review climbs a chain of levels (centre → district → city): its state is its
status and the levels that have approved it (`RecordState`). A transition's `effect` says
how it moves along the chain: `climb` adds the next level (the status becomes the target
only when that completes the chain), `descend` takes the last level off, `reset` clears
them; without an effect only the status changes.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

BUILTIN = ("review", "referral")
EFFECTS = ("climb", "descend", "reset")

# Words for every reason a transition is not open.
REASONS: dict[str, dict[str, str]] = {
    "unknown": {"zh": "没有这个操作。", "en": "There is no such action."},
    "state": {
        "zh": "该记录当前的状态不能进行此操作。",
        "en": "The record's present state does not allow this.",
    },
    "capacity": {"zh": "您无权对该记录进行此操作。", "en": "You may not do this with this record."},
    "level": {
        "zh": "该记录目前不在您这一级审核。",
        "en": "The record is not waiting for your level of review.",
    },
    "own_record": {
        "zh": "不能审核自己填报的记录。",
        "en": "Nobody approves a record they wrote.",
    },
    "open_queries": {
        "zh": "该记录有未解决的质疑，解决后才能审核通过。",
        "en": "The record has open queries: resolve them before approving it.",
    },
    "period_locked": {
        "zh": "该记录所在的报告期已审核锁定。",
        "en": "The record's period has been approved and is locked.",
    },
    "approved": {
        "zh": "该记录已有上级审核通过，不能再修改。",
        "en": "A reviewer has approved the record: it can no longer change.",
    },
    "comment": {"zh": "请填写意见。", "en": "A comment is required."},
}


class DefinitionError(ValueError):
    """A workflow definition that does not hold together; the message names the culprit."""


@dataclass(frozen=True)
class State:
    name: str
    title: dict[str, str]
    edit: frozenset[str] = frozenset()
    final: bool = False


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    target: str
    capacities: frozenset[str]
    comment_required: bool = False
    guards: tuple[str, ...] = ()
    title: dict[str, str] = field(default_factory=dict)
    effect: str | None = None


@dataclass(frozen=True)
class Definition:
    name: str
    title: dict[str, str]
    capacities: frozenset[str]
    initial: str
    states: dict[str, State]
    transitions: tuple[Transition, ...]

    def transition(self, name: str) -> Transition | None:
        return next((t for t in self.transitions if t.name == name), None)


@dataclass(frozen=True)
class RecordState:
    status: str
    approved: tuple[str, ...] = ()  # levels that have approved, in chain order


@dataclass(frozen=True)
class Caller:
    login: str
    capacities: frozenset[str]
    # The levels of the record's chain at which the caller reviews it.
    reviewer_levels: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Facts:
    author: str
    chain: tuple[str, ...] = ()
    open_queries: int = 0
    period_locked: bool = False


@dataclass(frozen=True)
class Option:
    name: str
    allowed: bool
    reason: str | None = None
    message: dict[str, str] | None = None


@dataclass(frozen=True)
class HistoryEntry:
    transition: str
    from_status: str
    to_status: str
    level: str | None
    actor: str
    at: dt.datetime
    comment: str | None


class Refusal(Exception):
    """A transition the caller may not take now: `reason` (a code of REASONS) and
    `message` ({"zh", "en"})."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason
        self.message = REASONS[reason]


# -- guards ------------------------------------------------------------------------------------
Guard = Callable[[RecordState, Caller, Facts], bool]


def _next_level(state: RecordState, facts: Facts) -> str | None:
    return next((level for level in facts.chain if level not in state.approved), None)


def _waiting_at_or_below(state: RecordState, caller: Caller, facts: Facts) -> bool:
    waiting = _next_level(state, facts)
    if waiting is None:
        return False
    mine = [facts.chain.index(level) for level in caller.reviewer_levels if level in facts.chain]
    return bool(mine) and max(mine) >= facts.chain.index(waiting)


GUARDS: dict[str, tuple[Guard, str]] = {
    # The caller reviews at the chain's next level that has not approved.
    "next_level": (
        lambda s, c, f: _next_level(s, f) is not None and _next_level(s, f) in c.reviewer_levels,
        "level",
    ),
    # Some level has approved (there is something to reopen).
    "has_approvals": (lambda s, c, f: bool(s.approved), "state"),
    # The caller reviews at the last level that approved (so no higher level has).
    "last_approver": (
        lambda s, c, f: bool(s.approved) and s.approved[-1] in c.reviewer_levels,
        "level",
    ),
    # The caller reviews at some level of the chain.
    "any_reviewer": (lambda s, c, f: bool(c.reviewer_levels & set(f.chain)), "level"),
    # The record waits at the caller's level or below it (a level that has passed it up
    # reopens it instead, and cannot undo what the levels above decided).
    "waiting_at_or_below": (lambda s, c, f: _waiting_at_or_below(s, c, f), "level"),
    "not_author": (lambda s, c, f: c.login != f.author, "own_record"),
    "no_open_queries": (lambda s, c, f: f.open_queries == 0, "open_queries"),
    "not_period_locked": (lambda s, c, f: not f.period_locked, "period_locked"),
    "chain_started_empty": (lambda s, c, f: not s.approved, "approved"),
}


# -- loading -----------------------------------------------------------------------------------
def _text(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {"zh": value, "en": value}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise DefinitionError(f"{where}: a title is a string or {{'zh': …, 'en': …}}")
    return dict(value)


def _names(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DefinitionError(f"{where}: expected a list of names")
    return list(value)


def load(data: dict) -> Definition:
    """A definition from its JSON data; DefinitionError naming what does not hold."""
    if not isinstance(data, dict):
        raise DefinitionError("a workflow definition is a JSON object")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise DefinitionError("the definition has no name")
    capacities = frozenset(_names(data.get("capacities", []), f"{name}: capacities"))
    raw_states = data.get("states")
    if not isinstance(raw_states, dict) or not raw_states:
        raise DefinitionError(f"{name}: no states")
    states = {}
    for state_name, raw in raw_states.items():
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            raise DefinitionError(f"state {state_name!r} is not an object")
        edit = frozenset(_names(raw.get("edit", []), f"state {state_name!r}: edit"))
        unknown = sorted(edit - capacities)
        if unknown:
            raise DefinitionError(f"state {state_name!r} names unknown capacity {unknown[0]!r}")
        states[state_name] = State(
            name=state_name,
            title=_text(raw.get("title"), f"state {state_name!r}"),
            edit=edit,
            final=bool(raw.get("final", False)),
        )
    initial = data.get("initial")
    if not isinstance(initial, str) or not initial:
        raise DefinitionError(f"{name}: no initial state")
    if initial not in states:
        raise DefinitionError(f"{name}: the initial state {initial!r} is not a state")
    transitions, seen = [], set()
    raw_transitions = data.get("transitions", [])
    if not isinstance(raw_transitions, list):
        raise DefinitionError(f"{name}: transitions is a list")
    for raw in raw_transitions:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise DefinitionError(f"{name}: every transition needs a name")
        t_name = raw["name"]
        if t_name in seen:
            raise DefinitionError(f"transition {t_name!r} is defined twice")
        seen.add(t_name)
        sources = tuple(_names(raw.get("from", []), f"transition {t_name!r}: from"))
        target = raw.get("to")
        for state_name in (*sources, target):
            if state_name not in states:
                raise DefinitionError(f"transition {t_name!r} names unknown state {state_name!r}")
        assert isinstance(target, str)
        if not sources:
            raise DefinitionError(f"transition {t_name!r} has no source state")
        wanted = frozenset(_names(raw.get("capacity", []), f"transition {t_name!r}: capacity"))
        unknown = sorted(wanted - capacities)
        if unknown:
            raise DefinitionError(f"transition {t_name!r} names unknown capacity {unknown[0]!r}")
        if not wanted:
            raise DefinitionError(f"transition {t_name!r} names no capacity")
        guards = tuple(_names(raw.get("guards", []), f"transition {t_name!r}: guards"))
        for guard in guards:
            if guard not in GUARDS:
                raise DefinitionError(f"transition {t_name!r} names unknown guard {guard!r}")
        effect = raw.get("effect")
        if effect is not None and effect not in EFFECTS:
            raise DefinitionError(f"transition {t_name!r} has unknown effect {effect!r}")
        transitions.append(
            Transition(
                name=t_name,
                sources=sources,
                target=target,
                capacities=wanted,
                comment_required=bool(raw.get("comment", False)),
                guards=guards,
                title=_text(raw.get("title"), f"transition {t_name!r}"),
                effect=effect,
            )
        )
    definition = Definition(
        name=name,
        title=_text(data.get("title"), name),
        capacities=capacities,
        initial=initial,
        states=states,
        transitions=tuple(transitions),
    )
    unreachable = sorted(set(states) - reachable(definition))
    if unreachable:
        raise DefinitionError(f"state {unreachable[0]!r} cannot be reached from {initial!r}")
    return definition


def reachable(definition: Definition) -> set[str]:
    """The states some sequence of transitions reaches from the initial state. A `climb`
    may also stay where it is, which adds nothing new."""
    found, todo = {definition.initial}, [definition.initial]
    while todo:
        state = todo.pop()
        for t in definition.transitions:
            if state in t.sources and t.target not in found:
                found.add(t.target)
                todo.append(t.target)
    return found


@functools.cache
def load_builtin(name: str) -> Definition:
    """A shipped definition (workflows/definitions/<name>.json)."""
    if name not in BUILTIN:
        raise DefinitionError(f"no shipped workflow {name!r}")
    text = resources.files("workflows").joinpath("definitions", f"{name}.json").read_text("utf-8")
    return load(json.loads(text))


# -- deciding ----------------------------------------------------------------------------------
def _refusal(
    state: RecordState, transition: Transition, caller: Caller, facts: Facts
) -> str | None:
    # Who first: someone who may never take it is refused for that (403), whatever the
    # record's state; then the state (409); then the guards.
    if not transition.capacities & caller.capacities:
        return "capacity"
    if state.status not in transition.sources:
        return "state"
    for guard in transition.guards:
        test, reason = GUARDS[guard]
        if not test(state, caller, facts):
            return reason
    return None


def options(
    definition: Definition, state: RecordState, caller: Caller, facts: Facts
) -> list[Option]:
    """Every transition of the definition, open or not, with why not."""
    found = []
    for transition in definition.transitions:
        reason = _refusal(state, transition, caller, facts)
        found.append(
            Option(transition.name, reason is None, reason, REASONS[reason] if reason else None)
        )
    return found


def available(
    definition: Definition, state: RecordState, caller: Caller, facts: Facts
) -> list[str]:
    return [o.name for o in options(definition, state, caller, facts) if o.allowed]


def _acting_level(caller: Caller, facts: Facts) -> str | None:
    """The caller's highest reviewing level in the chain."""
    mine = [level for level in facts.chain if level in caller.reviewer_levels]
    return mine[-1] if mine else None


def execute(
    definition: Definition,
    state: RecordState,
    name: str,
    caller: Caller,
    facts: Facts,
    comment: str | None,
    now: dt.datetime,
) -> tuple[RecordState, HistoryEntry]:
    """Take transition `name`: the record's next state and the history entry; Refusal when
    the caller may not (or gives no comment where one is required)."""
    transition = definition.transition(name)
    if transition is None:
        raise Refusal(name, "unknown")
    reason = _refusal(state, transition, caller, facts)
    if reason is not None:
        raise Refusal(name, reason)
    comment = comment.strip() if comment else None
    if transition.comment_required and not comment:
        raise Refusal(name, "comment")
    level = None
    approved = state.approved
    status = transition.target
    if transition.effect == "climb":
        level = _next_level(state, facts)
        approved = (*approved, level) if level is not None else approved
        if any(step not in approved for step in facts.chain):
            status = state.status  # more levels to climb
    elif transition.effect == "descend":
        level = approved[-1] if approved else None
        approved = approved[:-1]
    elif transition.effect == "reset":
        level = _acting_level(caller, facts)
        approved = ()
    after = RecordState(status=status, approved=tuple(approved))
    entry = HistoryEntry(
        transition=name,
        from_status=state.status,
        to_status=status,
        level=level,
        actor=caller.login,
        at=now,
        comment=comment,
    )
    return after, entry


# -- editing -----------------------------------------------------------------------------------
def edit_reason(
    definition: Definition, state: RecordState, capacities: Iterable[str]
) -> str | None:
    """Why someone holding `capacities` may not change the record's values now (None: they
    may): `capacity` (they edit no record like this), `state` (not in this state),
    `approved` (a level has approved it: nobody edits)."""
    capacities = frozenset(capacities)
    if not any(s.edit & capacities for s in definition.states.values()):
        return "capacity"
    current = definition.states.get(state.status)
    if current is None or not current.edit & capacities:
        return "state"
    if state.approved:
        return "approved"
    return None


def may_edit(definition: Definition, state: RecordState, capacities: Iterable[str]) -> bool:
    return edit_reason(definition, state, capacities) is None
