"""workflows.submission: who may edit a record in which state, and the transitions."""

import ast
import pathlib

import pytest

from workflows import submission as wf
from workflows.history import changed_keys

STAFF, OWNER, REVIEWER = wf.Actor.STAFF, wf.Actor.OWNER, wf.Actor.REVIEWER


@pytest.mark.parametrize(
    "state, actors, decision",
    [
        # A draft is its owner's alone; other staff would have to wait until it is submitted.
        (wf.DRAFT, {OWNER, STAFF}, wf.Decision.ALLOWED),
        (wf.DRAFT, {STAFF}, wf.Decision.STATE),
        # Submitted and returned records: any staff of the unit (or above it) corrects them.
        (wf.SUBMITTED, {STAFF}, wf.Decision.ALLOWED),
        (wf.RETURNED, {STAFF}, wf.Decision.ALLOWED),
        (wf.SUBMITTED, {STAFF, OWNER}, wf.Decision.ALLOWED),
        # Approved: nobody, but staff are refused for the state, not for who they are.
        (wf.APPROVED, {STAFF, OWNER}, wf.Decision.STATE),
        # Managers review; they never edit staff data, in any state.
        (wf.SUBMITTED, {REVIEWER}, wf.Decision.ACTOR),
        (wf.RETURNED, {REVIEWER}, wf.Decision.ACTOR),
        (wf.APPROVED, {REVIEWER}, wf.Decision.ACTOR),
        (wf.DRAFT, set(), wf.Decision.ACTOR),
    ],
)
def test_edit_decision(state, actors, decision):
    assert wf.edit_decision(state, frozenset(actors)) is decision
    assert wf.may_edit(state, frozenset(actors)) is (decision is wf.Decision.ALLOWED)


def test_every_state_has_editors_and_only_submitted_records_keep_revisions():
    assert set(wf.EDITORS) == set(wf.STATES)
    assert [s for s in wf.STATES if wf.keeps_revisions(s)] == [wf.SUBMITTED, wf.RETURNED]
    assert not any(REVIEWER in editors for editors in wf.EDITORS.values())


def test_unknown_states_are_refused_not_guessed():
    with pytest.raises(wf.UnknownState):
        wf.edit_decision("archived", {STAFF})
    with pytest.raises(wf.UnknownState):
        wf.keeps_revisions("")


def test_transitions_follow_the_table():
    assert wf.transition(wf.DRAFT, "submit", {OWNER}) == wf.SUBMITTED
    assert wf.transition(wf.SUBMITTED, "approve", {REVIEWER}) == wf.APPROVED
    assert wf.transition(wf.SUBMITTED, "return", {REVIEWER}) == wf.RETURNED
    assert wf.transition(wf.RETURNED, "resubmit", {STAFF}) == wf.SUBMITTED
    assert [t.name for t in wf.transitions(wf.SUBMITTED, {REVIEWER})] == ["approve", "return"]
    assert wf.transitions(wf.SUBMITTED, {STAFF}) == []
    assert wf.transitions(wf.APPROVED, {STAFF, OWNER, REVIEWER}) == []


@pytest.mark.parametrize(
    "state, name, actors",
    [
        (wf.SUBMITTED, "approve", {STAFF}),  # staff do not approve their own data
        (wf.DRAFT, "approve", {REVIEWER}),  # nothing to review before it is submitted
        (wf.APPROVED, "return", {REVIEWER}),
        (wf.SUBMITTED, "submit", {OWNER}),
        (wf.SUBMITTED, "no-such", {STAFF, OWNER, REVIEWER}),
    ],
)
def test_transitions_refused(state, name, actors):
    with pytest.raises(wf.TransitionRefused):
        wf.transition(state, name, actors)


def test_every_transition_joins_known_states():
    for t in wf.TRANSITIONS:
        assert t.source in wf.STATES and t.target in wf.STATES and t.actors


def test_changed_keys_in_the_given_order_absent_same_as_none():
    before = {"a": 1, "b": [1, 2], "c": "x", "d": None}
    after = {"a": 1, "b": [2, 1], "e": 5, "z": 0}
    assert changed_keys(before, after, order=["e", "b", "a", "c"]) == ["e", "b", "c", "z"]
    assert changed_keys(before, before) == []
    assert changed_keys({"a": None}, {}) == []
    assert changed_keys({"a": 0}, {}) == ["a"]


def test_the_library_never_imports_portal():
    package = pathlib.Path(wf.__file__).parent
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n == "portal" or n.startswith("portal.") for n in names), source
