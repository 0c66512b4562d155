"""An existing site upgraded to version 2 of the shipped forms (issue 8): `portal init`
publishes each changed shipped form once, through the versioning with its diff warnings;
records of version 1 stay readable, editable under their own version, and counted.

forms_v1/ holds the six shipped files as they were before version 2."""

import datetime as dt
import pathlib
import shutil
import uuid

import pytest
import webtest

from forms.periods import beijing_today
from portal import make_config
from portal.scripts import cli
from portal.services import forms as form_service
from tests.conftest import api_token, bearer, close_app_registry, login, write_ini
from tests.functional.people import register_person

V1 = pathlib.Path(__file__).parent / "forms_v1"
CHANGED = sorted(path.stem for path in V1.glob("*.xlsx"))
CENTRE = "/110000/110101/110101001/"
# A record number the demo data does not use.
RECORD_NO = "11010100100199901"


@pytest.fixture
def var(tmp_path):
    return tmp_path / "var"


@pytest.fixture
def settings(var):
    return {
        "zodbconn.uri": f"file://{var}/Data.fs?blobstorage_dir={var}/blobs",
        "sqlalchemy.url": f"sqlite:///{var}/portal.sqlite",
        "portal.secret_file": f"{var}/secret",
    }


@pytest.fixture
def ini(tmp_path, settings):
    return write_ini(tmp_path / "test.ini", settings)


class App:
    """The portal on the site's storage, as a test app; close() before the next command."""

    def __init__(self, settings):
        self.config = make_config({**settings, "pyramid.default_locale_name": "zh_CN"})
        self.app = webtest.TestApp(
            self.config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"}
        )

    def close(self):
        close_app_registry(self.config.registry)


def v1_followup(**values) -> dict:
    """A hypertension follow-up as version 1 asked it: no birth date, no management."""
    return {
        "name": "张三",
        "record_no": RECORD_NO,
        "visit_date": (beijing_today() - dt.timedelta(days=1)).isoformat(),
        "visit_mode": "1",
        "sbp": 150,
        "dbp": 90,
        **values,
    }


def patients(app) -> int:
    """The centre's hypertension patients under management this year (the KPI report)."""
    report = app.get(
        "/api/v1/reports/public-health-kpi",
        params={"org": "110101", "period": str(beijing_today().year)},
        headers=bearer(api_token(app, "dongcheng")),
    ).json
    keys = [c["key"] for c in report["columns"]]
    rows = {r["org"]: r["values"] for r in report["rows"]}
    return rows["110101001"][keys.index("hypertension_managed.den")]


def test_an_upgrade_publishes_version_2_once_and_keeps_version_1_records(
    ini, settings, tmp_path, monkeypatch, capsys
):
    # A site made before version 2: the shipped files of that time.
    old = tmp_path / "shipped_v1"
    shutil.copytree(form_service.SHIPPED_FORMS_DIR, old)
    for path in V1.glob("*.xlsx"):
        shutil.copy(path, old / path.name)
    monkeypatch.setattr(form_service, "SHIPPED_FORMS_DIR", str(old))
    assert cli.main(["init", ini, "--demo"]) == 0
    assert "Published 15 shipped forms" in capsys.readouterr().out
    month = beijing_today().strftime("%Y-%m")

    app = App(settings)
    try:
        before = patients(app.app)
        register_person(app.app, RECORD_NO)
        staff = api_token(app.app, "staff")
        created = app.app.post_json(
            "/api/v1/forms/hypertension_followup/submissions",
            {
                "org": "110101001",
                "period": month,
                "client_id": str(uuid.uuid4()),
                "data": v1_followup(),
            },
            headers=bearer(staff),
            status=201,
        ).json
        assert created["form_version"] == 1
        counted = patients(app.app)
        assert counted == before + 1
    finally:
        app.close()

    # The upgrade: today's shipped files.
    monkeypatch.undo()
    assert cli.main(["init", ini]) == 0
    out = capsys.readouterr().out
    for name in CHANGED:
        assert f"Published version 2 of the shipped form {name}:" in out
    assert "Published version 2 of the shipped form personal_info" not in out
    # The versioning's diff warnings, one line each, under their form.
    hypertension = out.split("hypertension_followup:")[1].split("Published")[0]
    for field in ("birth_date", "mgmt_start_date", "mgmt_status"):
        assert f"Field “{field}” added." in hypertension
    # Run again: nothing more to publish.
    assert cli.main(["init", ini]) == 0
    assert "Published" not in capsys.readouterr().out

    app = App(settings)
    try:
        staff = api_token(app.app, "staff")
        # Version 2 is the current one: a follow-up without the patient's birth date and
        # management is refused now ...
        res = app.app.post_json(
            "/api/v1/forms/hypertension_followup/submissions",
            {
                "org": "110101001",
                "period": month,
                "client_id": str(uuid.uuid4()),
                "data": v1_followup(),
            },
            headers=bearer(staff),
            status=422,
        )
        assert {"birth_date", "mgmt_start_date", "mgmt_status"} <= set(res.json["errors"])
        # ... while the version-1 record still validates under its own version when edited,
        path = "/api/v1/submissions/" + created["id"]
        edited = app.app.put_json(
            path, {"data": v1_followup(sbp=148), "revision": 1}, headers=bearer(staff)
        ).json
        assert (edited["form_version"], edited["revision"]) == (1, 2)
        # ... is displayed with its values,
        login(app.app, "staff")
        page = app.app.get(CENTRE + "submissions/" + created["id"])
        assert "148" in page.text and "张三" in page.text
        # ... and is still counted among the centre's patients under management.
        assert patients(app.app) == counted
    finally:
        app.close()
