"""The submission workflow seen by status alone: its states, who may change a record's values
in each, and the transitions between states.

The states and their editors are those of the `review` definition (definitions/review.json);
the engine (workflows/engine.py) decides transitions with the review chain, guards and
reasons. This module answers the simpler questions the portal asks of a status: the portal
decides which capacities (`Actor`) a caller holds for a record and asks what that allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from workflows import engine

REVIEW = engine.load_builtin("review")

DRAFT = "draft"
SUBMITTED = "submitted"
RETURNED = "returned"  # sent back by a reviewer for correction
APPROVED = "approved"
STATES = tuple(REVIEW.states)
if set(STATES) != {DRAFT, SUBMITTED, RETURNED, APPROVED}:
    # The portal stores and filters these names: a definition that renames one is an error.
    raise engine.DefinitionError(f"review states {STATES} are not the portal's statuses")


class Actor(StrEnum):
    """A capacity someone holds for one record."""

    # Survey staff of the record's unit, or of a unit above it that may fill in for it.
    STAFF = "staff"
    # The staff member who started the record (a draft is theirs alone until submitted).
    OWNER = "owner"
    # A manager above the record's unit: reads and (later) reviews, never edits staff data.
    REVIEWER = "reviewer"


# Who may change the values in each state (each state's `edit` in review.json). Edits of a
# record that has been submitted keep the values they replace (REVISED); a draft is just saved
# again. Once a reviewer approves, nobody edits (by status here; the engine also locks a
# submitted record once any level of its chain has approved it).
EDITORS: dict[str, frozenset[Actor]] = {
    name: frozenset(Actor(capacity) for capacity in state.edit)
    for name, state in REVIEW.states.items()
}
REVISED = frozenset({SUBMITTED, RETURNED})


@dataclass(frozen=True)
class Transition:
    name: str
    source: str
    target: str
    actors: frozenset[Actor]


# By status and capacity only, without the chain and the guards: the portal takes transitions
# through the engine.
TRANSITIONS = (
    Transition("submit", DRAFT, SUBMITTED, frozenset({Actor.OWNER})),
    Transition("approve", SUBMITTED, APPROVED, frozenset({Actor.REVIEWER})),
    Transition("return", SUBMITTED, RETURNED, frozenset({Actor.REVIEWER})),
    Transition("resubmit", RETURNED, SUBMITTED, frozenset({Actor.STAFF})),
)


class Decision(StrEnum):
    ALLOWED = "allowed"
    # The caller could edit the record in another state, not in this one: HTTP 409.
    STATE = "state"
    # The caller edits no record like this in any state (a reviewer): HTTP 403.
    ACTOR = "actor"


class UnknownState(ValueError):
    pass


def _check(state: str) -> None:
    if state not in EDITORS:
        raise UnknownState(state)


def edit_decision(state: str, actors: set[Actor] | frozenset[Actor]) -> Decision:
    """May someone holding `actors` change a record's values in `state`?"""
    _check(state)
    if EDITORS[state] & actors:
        return Decision.ALLOWED
    if any(editors & actors for editors in EDITORS.values()):
        return Decision.STATE
    return Decision.ACTOR


def may_edit(state: str, actors: set[Actor] | frozenset[Actor]) -> bool:
    return edit_decision(state, actors) is Decision.ALLOWED


def keeps_revisions(state: str) -> bool:
    """Whether an edit in `state` keeps the values it replaces (the record was submitted)."""
    _check(state)
    return state in REVISED


def transitions(state: str, actors: set[Actor] | frozenset[Actor]) -> list[Transition]:
    """The transitions someone holding `actors` may take from `state`."""
    _check(state)
    return [t for t in TRANSITIONS if t.source == state and t.actors & actors]


class TransitionRefused(ValueError):
    pass


def transition(state: str, name: str, actors: set[Actor] | frozenset[Actor]) -> str:
    """The state after taking transition `name` from `state`; TransitionRefused when there is
    no such transition from there or the actors may not take it."""
    for t in transitions(state, actors):
        if t.name == name:
            return t.target
    raise TransitionRefused(f"{name} from {state}")
