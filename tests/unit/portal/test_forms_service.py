"""Form definitions in ZODB (drafts, immutable versions), their compiled cache, periods and
the subtree condition on SQL."""

import datetime as dt
import io
import uuid

import openpyxl
import pytest
from sqlalchemy import select

from forms.model import Field, Text
from forms.periods import period_start
from forms.xlsform import export_xlsform
from portal.evolve import evolve
from portal.models import Base, Submission, get_engine, in_subtrees, utcnow
from portal.resources import FormResource, Site
from portal.services import forms as form_service
from portal.services.submissions import client_id_of, period_problem
from tests.functional.form_samples import bp_form


@pytest.fixture
def site():
    site = Site()
    evolve(site)
    return site


def test_drafts_are_numbered_as_the_next_version_and_versions_are_kept(site):
    form, created = form_service.save_draft(site, bp_form(version=9))
    assert created and site["forms"]["bp_check"] is form and form.__parent__ is site["forms"]
    assert form.status == "draft" and form.draft().version == 1 and form.latest is None
    version, changes = form_service.publish(form, "admin")
    assert (version.number, version.published_by, changes) == (1, "admin", [])
    assert form.status == "published" and not form.has_draft

    changed = bp_form()
    changed.fields.append(Field("weight", "decimal", label=Text("体重", "Weight")))
    same_form, created = form_service.save_draft(site, changed)
    assert same_form is form and not created and form.draft().version == 2
    assert [c.kind for c in form_service.pending_changes(form)] == ["field_added"]
    form_service.publish(form, "admin")
    assert [v.number for v in form.versions] == [1, 2]
    assert form.version(1).definition() == bp_form(version=1)
    assert form.version(0) is None and form.version(3) is None


def test_what_is_handed_out_cannot_change_a_published_version(site):
    form, _ = form_service.save_draft(site, bp_form())
    version, _ = form_service.publish(form, None)
    definition = version.definition()
    definition.fields.clear()
    definition.title = Text("改了")
    assert version.definition() == bp_form(version=1)


def test_publishing_needs_a_draft_without_problems(site):
    form, _ = form_service.save_draft(site, bp_form(levels=()))
    with pytest.raises(form_service.PublishRefused) as refused:
        form_service.publish(form, None)
    assert [p.message.id for p in refused.value.problems] == ["definition.levels_missing"]
    assert form.has_draft and form.latest is None
    form_service.save_draft(site, bp_form())
    form_service.publish(form, None)
    with pytest.raises(form_service.NoDraft):
        form_service.publish(form, None)
    with pytest.raises(ValueError):
        form.save_draft(bp_form(name="other"))


def test_an_import_may_use_the_shared_code_sets(site):
    definition = bp_form()
    definition.fields.append(Field("sex", "select_one", label=Text("性别"), choices="gb_sex"))
    data = export_xlsform(definition)  # writes gb_sex into the choices sheet…
    outcome = form_service.import_xlsform(site, _without_list(data, "gb_sex"))  # …drop it
    assert outcome.ok and outcome.created and outcome.changes == []
    assert [c.code for c in outcome.form.draft().choice_lists["gb_sex"]][:2] == ["0", "1"]


def _without_list(data: bytes, list_name: str) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(data))
    choices = book["choices"]
    for row in range(choices.max_row, 1, -1):
        if choices.cell(row, 1).value == list_name:
            choices.delete_rows(row)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def test_a_bad_import_changes_nothing(site):
    outcome = form_service.import_xlsform(site, b"not a workbook", "x.xlsx")
    assert not outcome.ok and outcome.errors and len(site["forms"]) == 0


def test_compiled_versions_are_kept_only_once_committed():
    cache = form_service.CompiledForms(size=2)
    forms = {}
    for name in ("a", "b", "c"):
        form = forms[name] = FormResource(name)
        form.save_draft(bp_form(name=name))
        form.publish_draft(None)
    version = forms["a"].latest
    # Not yet stored (no oid): compiled afresh each time, since the transaction may abort.
    assert cache.get(forms["a"], version) is not cache.get(forms["a"], version)
    for number, form in enumerate(forms.values(), start=1):
        form.latest._p_oid = number.to_bytes(8, "big")
    first = cache.get(forms["a"], version)
    assert cache.get(forms["a"], version) is first
    assert first.has_pii and first.validator.validate({"sbp": 1})[1]
    cache.get(forms["b"], forms["b"].latest)
    cache.get(forms["c"], forms["c"].latest)  # the oldest, a, goes
    assert cache.get(forms["a"], version) is not first


@pytest.mark.parametrize(
    "period_type, period, start, problem",
    [
        ("month", "2026-10", dt.date(2026, 10, 1), None),
        ("month", "2026-1", None, "submission_period_format"),
        ("month", "2026-11", dt.date(2026, 11, 1), "submission_period_future"),
        ("month", None, None, "submission_period_required"),
        ("quarter", "2026-Q3", dt.date(2026, 7, 1), None),
        ("quarter", "2026-Q4", dt.date(2026, 10, 1), None),
        ("quarter", "2026-Q5", None, "submission_period_format"),
        ("year", "2026", dt.date(2026, 1, 1), None),
        ("year", "2026-10", None, "submission_period_format"),
        ("none", None, None, None),
        ("none", "2026", None, "submission_period_none"),
    ],
)
def test_periods(period_type, period, start, problem):
    today = dt.date(2026, 10, 31)
    if period_type != "none":
        assert period_start(period_type, period) == start
    found = period_problem(period_type, period, today)
    assert (found if found is None else str(found)) == problem


def test_client_ids_are_uuids_in_one_form():
    value = uuid.uuid4()
    assert client_id_of(str(value).upper()) == client_id_of(value.hex) == str(value)
    assert client_id_of("abc") is None and client_id_of(42) is None


def test_subtree_condition_matches_exactly_the_subtree(tmp_path):
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{tmp_path}/s.sqlite"})
    Base.metadata.create_all(engine)
    paths = [
        "/110000/110101/",
        "/110000/110101/110101001/",
        "/110000/1101010/",
        "/110000/110102/",
        "/110000/",
    ]
    with engine.begin() as connection:
        connection.execute(
            Submission.__table__.insert(),
            [
                {
                    "id": str(i),
                    "form_name": "f",
                    "form_version": 1,
                    "org_code": p.split("/")[-2],
                    "org_path": p,
                    "status": "submitted",
                    "author": "a",
                    "created": utcnow(),
                    "updated": utcnow(),
                    "client_id": str(i),
                    "data": {},
                }
                for i, p in enumerate(paths)
            ],
        )

    def matching(scopes, dialect):
        query = select(Submission.org_path).where(in_subtrees(Submission.org_path, scopes, dialect))
        with engine.connect() as connection:
            return sorted(connection.scalars(query))

    for dialect in ("sqlite", "postgresql"):  # SQLite evaluates the LIKE form too
        assert matching(["/110000/110101/"], dialect) == paths[:2]
        assert matching(["/110000/110101/", "/110000/110102/"], dialect) == sorted(
            paths[:2] + ["/110000/110102/"]
        )
        assert matching([], dialect) == []
    engine.dispose()
