"""The workflow engine: definitions checked when loaded, and every shipped definition's
transitions decided for every capacity, level and state."""

import copy
import datetime as dt

import pytest

from workflows import engine

NOW = dt.datetime(2026, 11, 2, 8, 0)
CHAIN = ("centre", "district", "city")
REVIEW = engine.load_builtin("review")
REFERRAL = engine.load_builtin("referral")


def caller(*capacities, levels=(), login="someone"):
    return engine.Caller(login, frozenset(capacities), frozenset(levels))


def facts(chain=CHAIN, author="author", **more):
    return engine.Facts(author=author, chain=chain, **more)


def option(definition, state, who, name, **fact_changes):
    found = {o.name: o for o in engine.options(definition, state, who, facts(**fact_changes))}
    return found[name]


# -- loading ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", engine.BUILTIN)
def test_every_shipped_definition_loads_and_reaches_every_state(name):
    definition = engine.load_builtin(name)
    assert engine.reachable(definition) == set(definition.states)
    assert all(t.title.get("zh") and t.title.get("en") for t in definition.transitions)


def _review_data() -> dict:
    return {
        "name": "t",
        "capacities": ["staff", "reviewer"],
        "initial": "draft",
        "states": {"draft": {"edit": ["staff"]}, "done": {"final": True}},
        "transitions": [
            {"name": "finish", "from": ["draft"], "to": "done", "capacity": ["staff"]},
        ],
    }


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d["transitions"][0].update(capacity=["reviewr"]), "'reviewr'"),
        (lambda d: d["states"].update(archived={}), "'archived'"),
        (lambda d: d["transitions"][0].update(guards=["whim"]), "'whim'"),
        (lambda d: d["transitions"][0].update(to="nowhere"), "'nowhere'"),
        (lambda d: d["transitions"].append(dict(d["transitions"][0])), "'finish'"),
        (lambda d: d.update(initial="start"), "'start'"),
        (lambda d: d["states"]["draft"].update(edit=["owner"]), "'owner'"),
        (lambda d: d["transitions"][0].update(effect="teleport"), "'teleport'"),
    ],
)
def test_a_broken_definition_is_refused_naming_the_culprit(change, named):
    data = _review_data()
    engine.load(copy.deepcopy(data))  # the base loads
    change(data)
    with pytest.raises(engine.DefinitionError) as error:
        engine.load(data)
    assert named in str(error.value)


# -- the review definition, table-driven -------------------------------------------------------
SUBMITTED = engine.RecordState("submitted")
AT_CENTRE = engine.RecordState("submitted", ("centre",))
AT_DISTRICT = engine.RecordState("submitted", ("centre", "district"))
FINAL = engine.RecordState("approved", CHAIN)
RETURNED = engine.RecordState("returned")
DRAFT = engine.RecordState("draft")

AUTHOR = caller("owner", "staff", login="author")
STAFF = caller("staff")
CENTRE = caller("reviewer", levels=("centre",))
DISTRICT = caller("reviewer", levels=("district",))
CITY = caller("reviewer", levels=("city",))
DESK = caller("desk")
NOBODY = caller()

# (state, caller, transition) → the reason it is refused, None when it is open.
TABLE = [
    (DRAFT, AUTHOR, "submit", None),
    (DRAFT, STAFF, "submit", None),
    (DRAFT, CENTRE, "submit", "capacity"),
    (DRAFT, CENTRE, "approve", "state"),
    (SUBMITTED, AUTHOR, "submit", "state"),
    (SUBMITTED, CENTRE, "approve", None),
    (SUBMITTED, DISTRICT, "approve", "level"),
    (SUBMITTED, CITY, "approve", "level"),
    (SUBMITTED, STAFF, "approve", "capacity"),
    (SUBMITTED, DESK, "approve", "capacity"),
    (SUBMITTED, NOBODY, "approve", "capacity"),
    (SUBMITTED, AUTHOR, "approve", "capacity"),
    (SUBMITTED, AUTHOR, "return", "capacity"),
    (AT_CENTRE, AUTHOR, "reopen", "capacity"),
    (SUBMITTED, CENTRE, "return", None),
    (SUBMITTED, DISTRICT, "return", None),
    (SUBMITTED, CITY, "return", None),
    (SUBMITTED, STAFF, "return", "capacity"),
    (SUBMITTED, CENTRE, "reopen", "state"),
    (SUBMITTED, STAFF, "resubmit", "state"),
    (AT_CENTRE, CENTRE, "approve", "level"),
    (AT_CENTRE, DISTRICT, "approve", None),
    (AT_CENTRE, CENTRE, "return", "level"),  # passed up: reopen instead
    (AT_CENTRE, DISTRICT, "return", None),
    (AT_CENTRE, CENTRE, "reopen", None),
    (AT_CENTRE, DISTRICT, "reopen", "level"),
    (AT_DISTRICT, CENTRE, "reopen", "level"),
    (AT_DISTRICT, DISTRICT, "reopen", None),
    (AT_DISTRICT, CITY, "approve", None),
    (FINAL, CITY, "approve", "state"),
    (FINAL, CITY, "reopen", None),
    (FINAL, DISTRICT, "reopen", "level"),
    (FINAL, CITY, "return", "state"),
    (RETURNED, STAFF, "resubmit", None),
    (RETURNED, AUTHOR, "resubmit", None),
    (RETURNED, CENTRE, "resubmit", "capacity"),
    (RETURNED, CENTRE, "approve", "state"),
]


@pytest.mark.parametrize(("state", "who", "name", "reason"), TABLE)
def test_review_transitions_by_state_capacity_and_level(state, who, name, reason):
    found = option(REVIEW, state, who, name)
    assert found.allowed is (reason is None)
    assert found.reason == reason
    if reason is not None:
        assert found.message["zh"] and found.message["en"]


def test_every_review_transition_and_capacity_is_in_the_table():
    covered = {(name, who.capacities) for _s, who, name, _r in TABLE}
    for transition in REVIEW.transitions:
        for capacity in REVIEW.capacities:
            assert any(name == transition.name and capacity in caps for name, caps in covered), (
                transition.name,
                capacity,
            )


def test_the_chain_is_climbed_one_level_at_a_time():
    state = SUBMITTED
    for who, level in ((CENTRE, "centre"), (DISTRICT, "district"), (CITY, "city")):
        state, entry = engine.execute(REVIEW, state, "approve", who, facts(), None, NOW)
        assert entry.level == level and entry.actor == "someone"
    assert state == FINAL
    assert entry.from_status == "submitted" and entry.to_status == "approved"


def test_a_chain_of_one_level_is_final_at_once():
    state, entry = engine.execute(
        REVIEW, SUBMITTED, "approve", CENTRE, facts(("centre",)), None, NOW
    )
    assert state == engine.RecordState("approved", ("centre",)) and entry.to_status == "approved"


def test_nobody_approves_their_own_record():
    me = caller("reviewer", levels=("centre",), login="author")
    assert option(REVIEW, SUBMITTED, me, "approve").reason == "own_record"


def test_open_queries_block_approval_but_not_return():
    assert option(REVIEW, SUBMITTED, CENTRE, "approve", open_queries=1).reason == "open_queries"
    assert option(REVIEW, SUBMITTED, CENTRE, "return", open_queries=1).allowed


@pytest.mark.parametrize("name", ["approve", "return", "reopen", "resubmit"])
def test_an_approved_period_locks_every_transition(name):
    state = {"reopen": AT_CENTRE, "resubmit": RETURNED}.get(name, SUBMITTED)
    who = STAFF if name == "resubmit" else CENTRE
    assert option(REVIEW, state, who, name).allowed
    assert option(REVIEW, state, who, name, period_locked=True).reason == "period_locked"


def test_return_clears_the_levels_and_needs_a_comment():
    with pytest.raises(engine.Refusal) as refusal:
        engine.execute(REVIEW, AT_CENTRE, "return", DISTRICT, facts(), "  ", NOW)
    assert refusal.value.reason == "comment"
    state, entry = engine.execute(REVIEW, AT_CENTRE, "return", DISTRICT, facts(), "改", NOW)
    assert state == RETURNED and entry.level == "district" and entry.comment == "改"


def test_reopen_takes_the_last_level_off():
    state, entry = engine.execute(REVIEW, FINAL, "reopen", CITY, facts(), "复核", NOW)
    assert state == AT_DISTRICT and entry.level == "city" and entry.to_status == "submitted"


def test_an_unknown_transition_is_refused():
    with pytest.raises(engine.Refusal) as refusal:
        engine.execute(REVIEW, SUBMITTED, "fly", CENTRE, facts(), None, NOW)
    assert refusal.value.reason == "unknown"


@pytest.mark.parametrize(
    ("state", "capacities", "reason"),
    [
        (DRAFT, {"owner"}, None),
        (DRAFT, {"staff"}, "state"),
        (SUBMITTED, {"staff"}, None),
        (RETURNED, {"staff"}, None),
        (AT_CENTRE, {"staff"}, "approved"),  # locked once any level approved
        (FINAL, {"staff"}, "state"),
        (SUBMITTED, {"reviewer"}, "capacity"),
    ],
)
def test_who_edits_in_which_state(state, capacities, reason):
    assert engine.edit_reason(REVIEW, state, capacities) == reason
    assert engine.may_edit(REVIEW, state, capacities) is (reason is None)


# -- the referral definition --------------------------------------------------------------------
SENDER = caller("sender")

REFERRAL_TABLE = [
    ("sent", DESK, "accept", None),
    ("sent", DESK, "reject", None),
    ("sent", SENDER, "accept", "capacity"),
    ("sent", CENTRE, "accept", "capacity"),
    ("sent", DESK, "treat", "state"),
    ("accepted", DESK, "treat", None),
    ("treated", DESK, "return", None),
    ("treated", SENDER, "return", "capacity"),
    ("returned", SENDER, "close", None),
    ("returned", DESK, "close", "capacity"),
    ("closed", SENDER, "close", "state"),
    ("rejected", DESK, "accept", "state"),
]


@pytest.mark.parametrize(("status", "who", "name", "reason"), REFERRAL_TABLE)
def test_referral_transitions(status, who, name, reason):
    found = option(REFERRAL, engine.RecordState(status), who, name, chain=())
    assert found.reason == reason


def test_a_rejection_needs_a_reason():
    with pytest.raises(engine.Refusal) as refusal:
        engine.execute(REFERRAL, engine.RecordState("sent"), "reject", DESK, facts(()), "", NOW)
    assert refusal.value.reason == "comment"
    state, _entry = engine.execute(
        REFERRAL, engine.RecordState("sent"), "reject", DESK, facts(()), "床位已满", NOW
    )
    assert state.status == "rejected" and REFERRAL.states["rejected"].final
