"""The workflow engine: definitions checked when loaded, and every shipped definition's
transitions decided for every state, capacity and level, from tables written out here."""

import copy
import datetime as dt

import pytest

from workflows import engine
from workflows import submission as wf

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
    assert definition.name == name and definition.states[definition.initial]
    assert engine.reachable(definition) == set(definition.states)
    assert all(t.title.get("zh") and t.title.get("en") for t in definition.transitions)
    assert all(s.title.get("zh") and s.title.get("en") for s in definition.states.values())
    assert engine.load_builtin(name) is definition  # read once


def test_the_shipped_titles_are_the_agreed_words():
    assert {t.name: t.title["zh"] for t in REVIEW.transitions} == {
        "submit": "提交",
        "approve": "审核通过",
        "return": "退回",
        "resubmit": "重新提交",
        "reopen": "撤销审核",
    }
    assert {t.name: t.title["zh"] for t in REFERRAL.transitions} == {
        "accept": "接收",
        "reject": "拒绝",
        "treat": "已诊治",
        "return": "回转",
        "close": "确认接回",
    }


def test_an_unknown_builtin_is_refused():
    with pytest.raises(engine.DefinitionError, match="'audit'"):
        engine.load_builtin("audit")


def _small_data() -> dict:
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
        (
            lambda d: d["transitions"][0].update(capacity=["reviewr"]),
            "transition 'finish' names unknown capacity 'reviewr'",
        ),
        (
            lambda d: d["states"].update(archived={}),
            "state 'archived' cannot be reached from 'draft'",
        ),
        (lambda d: d["transitions"][0].update(guards=["whim"]), "unknown guard 'whim'"),
        (lambda d: d["transitions"][0].update(to="nowhere"), "unknown state 'nowhere'"),
        (lambda d: d["transitions"][0].update(**{"from": ["limbo"]}), "unknown state 'limbo'"),
        (lambda d: d["transitions"].append(dict(d["transitions"][0])), "'finish' is defined twice"),
        (lambda d: d.pop("initial"), "no initial state"),
        (lambda d: d.update(initial="start"), "'start'"),
        (lambda d: d["states"]["draft"].update(edit=["owner"]), "unknown capacity 'owner'"),
        (lambda d: d["transitions"][0].update(effect="teleport"), "unknown effect 'teleport'"),
        (lambda d: d["transitions"][0].update(capacity=[]), "'finish' names no capacity"),
        (lambda d: d["states"].update(done="final"), "state 'done' is not an object"),
    ],
)
def test_a_broken_definition_is_refused_naming_the_culprit(change, named):
    data = _small_data()
    engine.load(copy.deepcopy(data))  # the base loads
    change(data)
    with pytest.raises(engine.DefinitionError) as error:
        engine.load(data)
    assert named in str(error.value)


def test_every_reason_has_words_in_both_languages():
    reasons = {reason for _test, reason in engine.GUARDS.values()}
    reasons |= {"unknown", "state", "capacity", "comment", "approved"}
    assert reasons <= set(engine.REASONS)
    for words in engine.REASONS.values():
        assert words["zh"] and words["en"]
    assert engine.REASONS["open_queries"]["zh"] == "该记录有未解决的质疑，解决后才能审核通过。"


# -- every transition, state and caller, from explicit tables -----------------------------------
DRAFT = engine.RecordState("draft")
SUBMITTED = engine.RecordState("submitted")
AT_CENTRE = engine.RecordState("submitted", ("centre",))
AT_DISTRICT = engine.RecordState("submitted", ("centre", "district"))
FINAL = engine.RecordState("approved", CHAIN)
RETURNED = engine.RecordState("returned")

AUTHOR = caller("owner", "staff", login="author")
STAFF = caller("staff")
CENTRE = caller("reviewer", levels=("centre",))
DISTRICT = caller("reviewer", levels=("district",))
CITY = caller("reviewer", levels=("city",))
DESK = caller("desk")
SENDER = caller("sender")
NOBODY = caller()
CALLERS = (AUTHOR, STAFF, CENTRE, DISTRICT, CITY, DESK, SENDER, NOBODY)

OK, CAP, ST, LV = None, "capacity", "state", "level"

# Capacity is refused first (403 whatever the state), then the state (409), then the guards.
# fmt: off
REVIEW_TABLE = [
    # state        transition   AUTHOR STAFF CENTRE DISTRICT CITY DESK SENDER NOBODY
    (DRAFT,       "submit",   [OK,  OK,  CAP, CAP, CAP, CAP, CAP, CAP]),
    (SUBMITTED,   "submit",   [ST,  ST,  CAP, CAP, CAP, CAP, CAP, CAP]),
    (AT_CENTRE,   "submit",   [ST,  ST,  CAP, CAP, CAP, CAP, CAP, CAP]),
    (AT_DISTRICT, "submit",   [ST,  ST,  CAP, CAP, CAP, CAP, CAP, CAP]),
    (FINAL,       "submit",   [ST,  ST,  CAP, CAP, CAP, CAP, CAP, CAP]),
    (RETURNED,    "submit",   [ST,  ST,  CAP, CAP, CAP, CAP, CAP, CAP]),
    (DRAFT,       "approve",  [CAP, CAP, ST,  ST,  ST,  CAP, CAP, CAP]),
    (SUBMITTED,   "approve",  [CAP, CAP, OK,  LV,  LV,  CAP, CAP, CAP]),
    (AT_CENTRE,   "approve",  [CAP, CAP, LV,  OK,  LV,  CAP, CAP, CAP]),
    (AT_DISTRICT, "approve",  [CAP, CAP, LV,  LV,  OK,  CAP, CAP, CAP]),
    (FINAL,       "approve",  [CAP, CAP, ST,  ST,  ST,  CAP, CAP, CAP]),
    (RETURNED,    "approve",  [CAP, CAP, ST,  ST,  ST,  CAP, CAP, CAP]),
    # Returned by the level it waits at or any above it; a level that passed it up reopens.
    (DRAFT,       "return",   [CAP, CAP, ST,  ST,  ST,  CAP, CAP, CAP]),
    (SUBMITTED,   "return",   [CAP, CAP, OK,  OK,  OK,  CAP, CAP, CAP]),
    (AT_CENTRE,   "return",   [CAP, CAP, LV,  OK,  OK,  CAP, CAP, CAP]),
    (AT_DISTRICT, "return",   [CAP, CAP, LV,  LV,  OK,  CAP, CAP, CAP]),
    (FINAL,       "return",   [CAP, CAP, ST,  ST,  ST,  CAP, CAP, CAP]),
    (RETURNED,    "return",   [CAP, CAP, ST,  ST,  ST,  CAP, CAP, CAP]),
    (DRAFT,       "resubmit", [ST,  ST,  CAP, CAP, CAP, CAP, CAP, CAP]),
    (SUBMITTED,   "resubmit", [ST,  ST,  CAP, CAP, CAP, CAP, CAP, CAP]),
    (AT_CENTRE,   "resubmit", [ST,  ST,  CAP, CAP, CAP, CAP, CAP, CAP]),
    (AT_DISTRICT, "resubmit", [ST,  ST,  CAP, CAP, CAP, CAP, CAP, CAP]),
    (FINAL,       "resubmit", [ST,  ST,  CAP, CAP, CAP, CAP, CAP, CAP]),
    (RETURNED,    "resubmit", [OK,  OK,  CAP, CAP, CAP, CAP, CAP, CAP]),
    # Nothing approved yet: nothing to reopen (the state, not the caller, is wrong).
    (DRAFT,       "reopen",   [CAP, CAP, ST,  ST,  ST,  CAP, CAP, CAP]),
    (SUBMITTED,   "reopen",   [CAP, CAP, ST,  ST,  ST,  CAP, CAP, CAP]),
    (AT_CENTRE,   "reopen",   [CAP, CAP, OK,  LV,  LV,  CAP, CAP, CAP]),
    (AT_DISTRICT, "reopen",   [CAP, CAP, LV,  OK,  LV,  CAP, CAP, CAP]),
    (FINAL,       "reopen",   [CAP, CAP, LV,  LV,  OK,  CAP, CAP, CAP]),
    (RETURNED,    "reopen",   [CAP, CAP, ST,  ST,  ST,  CAP, CAP, CAP]),
]

REFERRAL_TABLE = [
    # status      transition  AUTHOR STAFF CENTRE DISTRICT CITY DESK SENDER NOBODY
    ("sent",     "accept",  [CAP, CAP, CAP, CAP, CAP, OK,  CAP, CAP]),
    ("accepted", "accept",  [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("rejected", "accept",  [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("treated",  "accept",  [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("returned", "accept",  [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("closed",   "accept",  [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("sent",     "reject",  [CAP, CAP, CAP, CAP, CAP, OK,  CAP, CAP]),
    ("accepted", "reject",  [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("rejected", "reject",  [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("treated",  "reject",  [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("returned", "reject",  [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("closed",   "reject",  [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("sent",     "treat",   [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("accepted", "treat",   [CAP, CAP, CAP, CAP, CAP, OK,  CAP, CAP]),
    ("rejected", "treat",   [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("treated",  "treat",   [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("returned", "treat",   [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("closed",   "treat",   [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("sent",     "return",  [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("accepted", "return",  [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("rejected", "return",  [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("treated",  "return",  [CAP, CAP, CAP, CAP, CAP, OK,  CAP, CAP]),
    ("returned", "return",  [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("closed",   "return",  [CAP, CAP, CAP, CAP, CAP, ST,  CAP, CAP]),
    ("sent",     "close",   [CAP, CAP, CAP, CAP, CAP, CAP, ST,  CAP]),
    ("accepted", "close",   [CAP, CAP, CAP, CAP, CAP, CAP, ST,  CAP]),
    ("rejected", "close",   [CAP, CAP, CAP, CAP, CAP, CAP, ST,  CAP]),
    ("treated",  "close",   [CAP, CAP, CAP, CAP, CAP, CAP, ST,  CAP]),
    ("returned", "close",   [CAP, CAP, CAP, CAP, CAP, CAP, OK,  CAP]),
    ("closed",   "close",   [CAP, CAP, CAP, CAP, CAP, CAP, ST,  CAP]),
]
# fmt: on
# The referral's reviewers (managers above the sender) only read: they are refused everything.
REFERRAL_REVIEWER = caller("reviewer")


def _reasons(definition, state, name, chain=CHAIN, **more):
    found = []
    for who in CALLERS:
        got = option(definition, state, who, name, chain=chain, **more)
        assert got.allowed is (got.reason is None)
        assert (got.message is None) is (got.reason is None)
        if got.message is not None:
            assert got.message == engine.REASONS[got.reason]
        found.append(got.reason)
    return found


@pytest.mark.parametrize(("state", "name", "reasons"), REVIEW_TABLE)
def test_review_transitions_by_state_capacity_and_level(state, name, reasons):
    assert _reasons(REVIEW, state, name) == reasons


@pytest.mark.parametrize(("status", "name", "reasons"), REFERRAL_TABLE)
def test_referral_transitions_by_state_and_capacity(status, name, reasons):
    state = engine.RecordState(status)
    assert _reasons(REFERRAL, state, name, chain=()) == reasons
    assert option(REFERRAL, state, REFERRAL_REVIEWER, name, chain=()).reason == "capacity"


@pytest.mark.parametrize(
    ("definition", "table", "states"),
    [
        (REVIEW, REVIEW_TABLE, [DRAFT, SUBMITTED, AT_CENTRE, AT_DISTRICT, FINAL, RETURNED]),
        (REFERRAL, REFERRAL_TABLE, [engine.RecordState(s) for s in REFERRAL.states]),
    ],
)
def test_the_tables_cover_every_transition_in_every_state(definition, table, states):
    rows = {
        (state if isinstance(state, engine.RecordState) else engine.RecordState(state), name)
        for state, name, _reasons in table
    }
    assert {state.status for state in states} == set(definition.states)
    assert rows == {(state, t.name) for state in states for t in definition.transitions}


def test_available_names_the_open_transitions():
    assert engine.available(REVIEW, AT_CENTRE, DISTRICT, facts()) == ["approve", "return"]
    assert engine.available(REVIEW, AT_CENTRE, CENTRE, facts()) == ["reopen"]
    assert engine.available(REVIEW, FINAL, CITY, facts()) == ["reopen"]
    assert engine.available(REVIEW, RETURNED, AUTHOR, facts()) == ["resubmit"]
    assert engine.available(REVIEW, FINAL, STAFF, facts()) == []
    sent = engine.RecordState("sent")
    assert engine.available(REFERRAL, sent, DESK, facts(())) == ["accept", "reject"]


@pytest.mark.parametrize(
    ("state", "who"),
    [
        (state, who)
        for state, _name, reasons in REVIEW_TABLE
        for who, reason in zip(CALLERS, reasons, strict=True)
        if reason is OK
    ],
)
def test_an_approved_period_locks_every_review_transition(state, who):
    open_now = engine.available(REVIEW, state, who, facts())
    assert open_now
    assert engine.available(REVIEW, state, who, facts(period_locked=True)) == []
    for name in open_now:
        assert option(REVIEW, state, who, name, period_locked=True).reason == "period_locked"


def test_open_queries_block_approval_only():
    assert option(REVIEW, SUBMITTED, CENTRE, "approve", open_queries=2).reason == "open_queries"
    assert option(REVIEW, SUBMITTED, CENTRE, "return", open_queries=2).allowed
    assert option(REVIEW, AT_CENTRE, CENTRE, "reopen", open_queries=2).allowed


def test_nobody_approves_their_own_record():
    me = caller("reviewer", levels=("centre",), login="author")
    assert option(REVIEW, SUBMITTED, me, "approve").reason == "own_record"
    assert option(REVIEW, SUBMITTED, me, "approve", author="other").allowed


# -- the guards, each passing and failing --------------------------------------------------------
GUARD_CASES = [
    ("next_level", SUBMITTED, CENTRE, {}, None),
    ("next_level", SUBMITTED, DISTRICT, {}, "level"),
    ("next_level", FINAL, CITY, {}, "level"),  # nothing left to approve
    ("last_approver", AT_DISTRICT, DISTRICT, {}, None),
    ("last_approver", AT_DISTRICT, CITY, {}, "level"),
    ("last_approver", SUBMITTED, CENTRE, {}, "level"),
    ("any_reviewer", AT_DISTRICT, CENTRE, {}, None),
    ("any_reviewer", SUBMITTED, caller("reviewer", levels=("province",)), {}, "level"),
    ("any_reviewer", SUBMITTED, CITY, {"chain": ("centre",)}, "level"),
    ("waiting_at_or_below", AT_CENTRE, CITY, {}, None),
    ("waiting_at_or_below", AT_CENTRE, CENTRE, {}, "level"),
    ("waiting_at_or_below", FINAL, CITY, {}, "level"),
    ("has_approvals", AT_CENTRE, CENTRE, {}, None),
    ("has_approvals", SUBMITTED, CENTRE, {}, "state"),
    ("not_author", SUBMITTED, CENTRE, {}, None),
    ("not_author", SUBMITTED, CENTRE, {"author": "someone"}, "own_record"),
    ("no_open_queries", SUBMITTED, CENTRE, {}, None),
    ("no_open_queries", SUBMITTED, CENTRE, {"open_queries": 1}, "open_queries"),
    ("not_period_locked", SUBMITTED, CENTRE, {}, None),
    ("not_period_locked", SUBMITTED, CENTRE, {"period_locked": True}, "period_locked"),
    ("chain_started_empty", SUBMITTED, CENTRE, {}, None),
    ("chain_started_empty", AT_CENTRE, CENTRE, {}, "approved"),
]


def _guarded(guard: str) -> engine.Definition:
    return engine.load(
        {
            "name": "guarded",
            "capacities": ["reviewer"],
            "initial": "submitted",
            "states": {"submitted": {}, "approved": {"final": True}},
            "transitions": [
                {
                    "name": "act",
                    "from": ["submitted", "approved"],
                    "to": "approved",
                    "capacity": ["reviewer"],
                    "guards": [guard],
                }
            ],
        }
    )


@pytest.mark.parametrize(("guard", "state", "who", "more", "reason"), GUARD_CASES)
def test_each_guard(guard, state, who, more, reason):
    assert option(_guarded(guard), state, who, "act", **more).reason == reason


def test_every_guard_is_seen_passing_and_failing():
    seen = {(guard, reason is None) for guard, _s, _w, _m, reason in GUARD_CASES}
    assert seen == {(guard, passes) for guard in engine.GUARDS for passes in (True, False)}


# -- executing -----------------------------------------------------------------------------------
def test_the_chain_is_climbed_one_level_at_a_time():
    state, statuses = SUBMITTED, []
    for who, level in ((CENTRE, "centre"), (DISTRICT, "district"), (CITY, "city")):
        state, entry = engine.execute(REVIEW, state, "approve", who, facts(), None, NOW)
        assert entry.level == level and entry.actor == "someone" and entry.at == NOW
        statuses.append(entry.to_status)
    assert statuses == ["submitted", "submitted", "approved"]
    assert state == FINAL and REVIEW.states[state.status].final
    assert entry.from_status == "submitted" and entry.transition == "approve"


def test_a_district_reviewer_waits_for_the_centre():
    with pytest.raises(engine.Refusal) as refusal:
        engine.execute(REVIEW, SUBMITTED, "approve", DISTRICT, facts(), None, NOW)
    assert refusal.value.reason == "level" and refusal.value.name == "approve"
    assert refusal.value.message == engine.REASONS["level"]


def test_a_chain_of_one_level_is_final_at_once():
    state, entry = engine.execute(
        REVIEW, SUBMITTED, "approve", CENTRE, facts(("centre",)), None, NOW
    )
    assert state == engine.RecordState("approved", ("centre",))
    assert entry.to_status == "approved" and entry.level == "centre"


def test_return_clears_the_levels_and_needs_a_comment():
    for blank in (None, "", "  \n"):
        with pytest.raises(engine.Refusal) as refusal:
            engine.execute(REVIEW, AT_DISTRICT, "return", CITY, facts(), blank, NOW)
        assert refusal.value.reason == "comment"
    state, entry = engine.execute(REVIEW, AT_DISTRICT, "return", CITY, facts(), " 请核对 ", NOW)
    assert state == RETURNED and state.approved == ()
    assert entry.level == "city" and entry.comment == "请核对" and entry.to_status == "returned"


def test_return_is_recorded_at_the_callers_highest_level():
    both = caller("reviewer", levels=("centre", "district"))
    _state, entry = engine.execute(REVIEW, SUBMITTED, "return", both, facts(), "改", NOW)
    assert entry.level == "district"


def test_reopen_takes_the_last_level_off_and_needs_a_comment():
    with pytest.raises(engine.Refusal) as refusal:
        engine.execute(REVIEW, FINAL, "reopen", CITY, facts(), None, NOW)
    assert refusal.value.reason == "comment"
    state, entry = engine.execute(REVIEW, FINAL, "reopen", CITY, facts(), "复核", NOW)
    assert state == AT_DISTRICT and entry.level == "city"
    assert (entry.from_status, entry.to_status) == ("approved", "submitted")
    state, entry = engine.execute(REVIEW, state, "reopen", DISTRICT, facts(), "复核", NOW)
    assert state == AT_CENTRE and entry.level == "district"


def test_a_refusal_for_who_comes_before_the_missing_comment():
    with pytest.raises(engine.Refusal) as refusal:
        engine.execute(REVIEW, AT_CENTRE, "reopen", DISTRICT, facts(), None, NOW)
    assert refusal.value.reason == "level"


def test_a_transition_without_effect_keeps_the_levels_and_names_none():
    state, entry = engine.execute(REVIEW, DRAFT, "submit", AUTHOR, facts(), "", NOW)
    assert state == SUBMITTED
    assert entry.level is None and entry.comment is None and entry.actor == "author"
    state, entry = engine.execute(REVIEW, RETURNED, "resubmit", STAFF, facts(), "已改", NOW)
    assert state == SUBMITTED and entry.comment == "已改" and entry.level is None


def test_an_unknown_transition_is_refused():
    with pytest.raises(engine.Refusal) as refusal:
        engine.execute(REVIEW, SUBMITTED, "fly", CENTRE, facts(), None, NOW)
    assert refusal.value.reason == "unknown" and refusal.value.message["zh"]


def test_a_referral_runs_its_course_and_a_rejection_needs_a_reason():
    sent = engine.RecordState("sent")
    with pytest.raises(engine.Refusal) as refusal:
        engine.execute(REFERRAL, sent, "reject", DESK, facts(()), " ", NOW)
    assert refusal.value.reason == "comment"
    state, _entry = engine.execute(REFERRAL, sent, "reject", DESK, facts(()), "床位已满", NOW)
    assert state.status == "rejected" and REFERRAL.states["rejected"].final
    state = sent
    for name, who in (("accept", DESK), ("treat", DESK), ("return", DESK), ("close", SENDER)):
        state, entry = engine.execute(REFERRAL, state, name, who, facts(()), None, NOW)
        assert entry.level is None and state.approved == ()
    assert state.status == "closed" and REFERRAL.states["closed"].final


# -- editing -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("state", "capacities", "reason"),
    [
        (DRAFT, {"owner"}, None),
        (DRAFT, {"owner", "staff"}, None),
        (DRAFT, {"staff"}, "state"),
        (SUBMITTED, {"staff"}, None),
        (RETURNED, {"staff"}, None),
        (AT_CENTRE, {"staff"}, "approved"),  # locked once any level approved
        (AT_DISTRICT, {"owner", "staff"}, "approved"),
        (FINAL, {"staff"}, "state"),
        (SUBMITTED, {"reviewer"}, "capacity"),
        (SUBMITTED, set(), "capacity"),
    ],
)
def test_who_edits_in_which_state(state, capacities, reason):
    assert engine.edit_reason(REVIEW, state, capacities) == reason
    assert engine.may_edit(REVIEW, state, capacities) is (reason is None)


def test_reopening_to_no_approved_level_unlocks_editing():
    state, _entry = engine.execute(REVIEW, AT_CENTRE, "reopen", CENTRE, facts(), "补充", NOW)
    assert state == SUBMITTED and engine.may_edit(REVIEW, state, {"staff"})


# -- the submission module's status view agrees with review.json --------------------------------
def test_the_submission_states_and_editors_are_the_review_definitions():
    assert wf.STATES == (wf.DRAFT, wf.SUBMITTED, wf.RETURNED, wf.APPROVED) == tuple(REVIEW.states)
    for name, state in REVIEW.states.items():
        assert {str(actor) for actor in wf.EDITORS[name]} == set(state.edit)
    for t in wf.TRANSITIONS:
        shipped = REVIEW.transition(t.name)
        assert shipped is not None and t.source in shipped.sources and t.target == shipped.target
        assert {str(actor) for actor in t.actors} <= shipped.capacities
