"""Randomized: sequences of creates, edits, period changes, status changes and unit moves,
each written the way the portal writes it (the row, then the record-change seam, in one
transaction), and after every step the kept aggregates equal a full recomputation from the
raw rows. At the end of each sequence, every built-in report read from the kept aggregates
equals the same report after `rebuild` recomputed them from nothing."""

import datetime as dt
import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from portal.models import Submission, UnitPath
from portal.services import aggregates, record_changes
from reports import builtin
from tests.conftest import login, sql

UNITS = {  # code: path at the start
    "110101001": "/110000/110101/110101001/",
    "110101001001": "/110000/110101/110101001/110101001001/",
    "110102001": "/110000/110102/110102001/",
}
FORMS = [
    "hypertension_followup",
    "diabetes_followup",
    "health_check",
    "personal_info",
    "prenatal_first",
    "newborn_visit",
    "baseline_institution",
]
PERSONS = ["A", "B", "C", "D"]
STATUSES = ["submitted", "draft", "returned", "approved"]
MOVED_CENTRE = "110101001"  # moves between 东城区 and 西城区, with its station


def period_for(form: str, month: int) -> str | None:
    if form == "personal_info":
        return None  # counted by the day it was made
    if form == "baseline_institution":
        return "2026"
    return f"2026-{month:02d}"


values = st.fixed_dictionaries(
    {
        "record_no": st.sampled_from(PERSONS),
        "visit_mode": st.sampled_from(["1", "2", "3"]),
        "visit_date": st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)).map(str),
        "sbp": st.one_of(st.just(""), st.integers(100, 190)),
        "dbp": st.one_of(st.just(""), st.integers(60, 115)),
        "age": st.one_of(st.just(""), st.integers(0, 90)),
        "sex": st.sampled_from(["", "1", "2", "9"]),
        "birth_date": st.dates(dt.date(1930, 1, 1), dt.date(2026, 6, 30)).map(str),
        "mgmt_status": st.sampled_from(["", "1", "2", "3", "4"]),
        "fbg": st.one_of(st.just(""), st.floats(4, 12).map(lambda x: round(x, 1))),
        "gest_weeks": st.integers(6, 20),
        "discharge_date": st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)).map(str),
        "staff_total": st.integers(0, 80),
        "beds": st.integers(0, 30),
        "income_total": st.floats(0, 1e6).map(lambda x: round(x, 2)),
    }
)


def run(testapp, city_token, machine_settings):
    registry = testapp.app.registry
    login(testapp, "admin")

    def session_site():
        conn = registry.zodb.open()
        return conn, conn.root()["site"]

    class Changes(RuleBasedStateMachine):
        records = Bundle("records")

        def __init__(self):
            super().__init__()
            with sql(testapp) as s:
                path = s.get(UnitPath, MOVED_CENTRE).path
            self.parent = path.split("/")[2]  # /110000/<district>/<centre>/

        def _write(self, change) -> None:
            """One transaction: the row changed by `change(session)`, which returns the
            (before, after) pair, then the seam; committed together."""
            conn, site = session_site()
            try:
                with sql(testapp) as s, s.begin():
                    before, after = change(s)
                    record_changes.bulk_changed(s, site, registry, [(before, after)])
            finally:
                conn.close()

        @rule(
            target=records,
            form=st.sampled_from(FORMS),
            org=st.sampled_from(sorted(UNITS)),
            month=st.integers(1, 12),
            status=st.sampled_from(STATUSES),
            data=values,
        )
        def create(self, form, org, month, status, data):
            row_id = str(uuid.uuid4())

            def change(s):
                path = s.get(UnitPath, org).path
                row = Submission(
                    id=row_id,
                    form_name=form,
                    form_version=1,
                    org_code=org,
                    org_path=path,
                    period=period_for(form, month),
                    status=status,
                    author="staff",
                    created=dt.datetime(2026, month, 3, 2, 0),
                    updated=dt.datetime(2026, month, 3, 2, 0),
                    client_id=str(uuid.uuid4()),
                    data=data,
                )
                s.add(row)
                s.flush()
                return None, record_changes.snapshot(row)

            self._write(change)
            return row_id

        def _update(self, row_id, apply) -> None:
            def change(s):
                row = s.get(Submission, row_id)
                before = record_changes.snapshot(row)
                apply(row)
                s.flush()
                return before, record_changes.snapshot(row)

            self._write(change)

        @rule(row_id=records, data=values)
        def edit(self, row_id, data):
            def apply(row):
                row.data = {**row.data, **data}

            self._update(row_id, apply)

        @rule(row_id=records, month=st.integers(1, 12))
        def change_period(self, row_id, month):
            def apply(row):
                row.period = period_for(row.form_name, month)

            self._update(row_id, apply)

        @rule(row_id=records, status=st.sampled_from(STATUSES))
        def change_status(self, row_id, status):
            def apply(row):
                row.status = status

            self._update(row_id, apply)

        @rule(row_id=consumes(records))
        def delete(self, row_id):
            def change(s):
                row = s.get(Submission, row_id)
                before = record_changes.snapshot(row)
                s.delete(row)
                s.flush()
                return before, None

            self._write(change)

        @rule()
        def move_centre(self):
            """The centre moves to the other district through the admin's page (ZODB tree,
            unit_paths and submissions in one request)."""
            target = "110102" if self.parent == "110101" else "110101"
            page = testapp.get(f"/110000/{self.parent}/{MOVED_CENTRE}/move")
            form = page.forms["org-move"]
            form["parent"] = target
            form.submit("save", status=303)
            self.parent = target

        @invariant()
        def aggregates_equal_a_full_recomputation(self):
            conn, site = session_site()
            try:
                with sql(testapp) as s:
                    found = aggregates.differences(s, aggregates.catalogue_of(site, registry))
            finally:
                conn.close()
            assert found == []

        def teardown(self):
            reports = [r["name"] for r in builtin.REPORTS]
            kept = {name: self._report(name) for name in reports}
            conn, site = session_site()
            try:
                with sql(testapp) as s, s.begin():
                    aggregates.rebuild(s, aggregates.catalogue_of(site, registry))
            finally:
                conn.close()
            for name in reports:
                assert kept[name] == self._report(name), name

        def _report(self, name):
            url = f"/api/v1/reports/{name}?org=110000&period=2026"
            return testapp.get(url, headers=city_token).json

    run_state_machine_as_test(Changes, settings=machine_settings)


def test_random_changes_keep_every_report_equal_to_a_full_recomputation(testapp, tokens):
    run(
        testapp,
        tokens["city"],
        settings(
            max_examples=12,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
