"""`portal demo-data` and `portal init --demo` on real storage, and the API serving the rows;
the demo population's indicators, and the report aggregates kept exact."""

import collections
import datetime as dt
import re

import pytest
import webtest
from sqlalchemy import select

from portal import make_config
from portal.models import ReferenceValue, Submission
from portal.scripts import cli
from tests.conftest import api_token, bearer, close_app_registry, login, write_ini


def submissions(settings, *conditions):
    """The stored submissions (read after the command has closed its storage)."""
    config = make_config(settings)
    try:
        with config.registry.dbsession_factory() as s:
            return list(s.scalars(select(Submission).where(*conditions)))
    finally:
        close_app_registry(config.registry)


def references(settings) -> dict:
    config = make_config(settings)
    try:
        with config.registry.dbsession_factory() as s:
            return {
                (r.org_code, r.year, r.kind): r.value for r in s.scalars(select(ReferenceValue))
            }
    finally:
        close_app_registry(config.registry)


def added(out: str) -> int:
    return int(re.search(r"Added ([\d,]+) demo submissions", out).group(1).replace(",", ""))


def test_demo_data_adds_records_the_api_serves(settings, tmp_path, capsys):
    ini = write_ini(tmp_path / "portal.ini", settings)
    assert cli.main(["demo-data", ini, "--records", "600", "--seed", "5"]) == 0
    out = capsys.readouterr()
    # A population's records: about as many as asked (the population is sized for them).
    first = added(out.out)
    assert "(seed 5)" in out.out and 480 <= first <= 720
    assert "100% (" in out.err  # progress on stderr
    rows = submissions(settings)
    assert len(rows) == first and {r.author for r in rows} == {"demo-data"}
    assert len({r.form_name for r in rows}) >= 10
    population = references(settings)
    people = sum(r.form_name == "personal_info" for r in rows)
    assert population[("110000", TODAY_YEAR, "population")] == people

    # The same seed would make the same client_ids: refused, nothing added.
    assert cli.main(["demo-data", ini, "--records", "600", "--seed", "5"]) == 1
    assert "seed 5 are there already" in capsys.readouterr().err
    assert len(submissions(settings)) == first
    assert references(settings) == population

    # Another seed adds more, here only at a centre and its stations: more residents, whose
    # record numbers follow the first run's, and no second questionnaire for a year.
    assert (
        cli.main(["demo-data", ini, "--records", "300", "--seed", "6", "--org", "110101001"]) == 0
    )
    second = added(capsys.readouterr().out)
    centre = "/110000/110101/110101001/"
    under = submissions(settings, Submission.org_path.startswith(centre))
    everything = submissions(settings)
    assert len(everything) == first + second and len(under) >= second > 0
    registered = collections.Counter(
        (r.org_code, r.data["record_no"]) for r in everything if r.form_name == "personal_info"
    )
    assert max(registered.values()) == 1
    for r in everything:
        if r.form_name != "personal_info" and "record_no" in r.data:
            assert (r.org_code, r.data["record_no"]) in registered
    surveys = collections.Counter(
        (r.org_code, r.period) for r in everything if r.form_name == "baseline_institution"
    )
    assert max(surveys.values()) == 1
    more = references(settings)
    new_people = len(registered) - people
    assert more[("110000", TODAY_YEAR, "population")] == people + new_people
    assert (
        more[("110101001", TODAY_YEAR, "population")]
        == population.get(("110101001", TODAY_YEAR, "population"), 0) + new_people
    )
    assert (
        more[("110102", TODAY_YEAR, "population")]
        == population[("110102", TODAY_YEAR, "population")]
    )
    assert cli.main(["demo-data", ini, "--records", "5", "--org", "999"]) == 1
    assert "no organisation unit with code 999" in capsys.readouterr().err

    # The app lists and reads them like any submission.
    config = make_config(settings)
    try:
        app = webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})
        auth = bearer(api_token(app, "staff"))  # centre staff at 110101001
        listed = app.get("/api/v1/forms/hypertension_followup/submissions", headers=auth).json
        expected = [r for r in under if r.form_name == "hypertension_followup"]
        assert listed["total"] == len(expected) > 0
        first = listed["items"][0]
        read = app.get(f"/api/v1/submissions/{first['id']}", headers=auth).json
        stored = next(r for r in expected if r.id == first["id"])
        assert read["form_version"] == stored.form_version and read["period"] == stored.period
        assert read["data"].keys() == stored.data.keys() and read["data"]["sbp"] > 0

        # The list page names the units, stations (folders without children) included.
        login(app, "staff")
        page = app.get("/110000/110101/110101001/submissions?unit=110101001001")
        rows = page.html.select("table tbody tr")
        assert rows and all(
            r.select("td")[1].get_text(strip=True) == "东城光明第1社区卫生服务站" for r in rows
        )
        # Pages of 50 with first and last links; the summary counts the whole scope.
        everything = app.get("/110000/110101/110101001/submissions?period=")
        summary = everything.html.find(id="page-summary").get_text(" ", strip=True)
        assert str(len(under)) in summary
        pages = -(-len(under) // 50)
        links = {a["href"].rsplit("page=", 1)[1] for a in everything.html.select("a.page-link")}
        assert links == {str(n) for n in range(1, min(pages, 4) + 1)} | (
            {str(pages)} if pages > 4 else set()
        )
    finally:
        close_app_registry(config.registry)


def test_demo_data_refuses_bad_arguments(settings, tmp_path, capsys):
    ini = write_ini(tmp_path / "portal.ini", settings)
    assert cli.main(["demo-data", ini, "--records", "-1"]) == 1
    assert "cannot be negative" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["demo-data", ini])  # --records is required


TODAY_YEAR = dt.date.today().year


def test_init_demo_fills_an_empty_portal_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("portal.demo_data.DEMO_RECORDS", 200)
    var = tmp_path / "var"
    settings = {
        "zodbconn.uri": f"file://{var}/Data.fs?blobstorage_dir={var}/blobs",
        "sqlalchemy.url": f"sqlite:///{var}/portal.sqlite",
        "portal.secret_file": f"{var}/secret",
    }
    ini = write_ini(tmp_path / "test.ini", settings)
    assert cli.main(["init", ini, "--demo"]) == 0
    out = capsys.readouterr().out
    made = int(re.search(r"Added ([\d,]+) synthetic demo submissions", out).group(1))
    # A population sized to give about the number asked for: how many records its people
    # make varies with the day the demo is made for.
    assert "over the last 24 months (a population of" in out and 100 <= made <= 300
    rows = submissions(settings)
    assert len(rows) == made
    # Stored as the models read them: timestamps and values parse.
    assert all(isinstance(r.created, dt.datetime) and isinstance(r.data, dict) for r in rows)
    assert cli.main(["init", ini, "--demo"]) == 0
    assert "Demo submissions are there already" in capsys.readouterr().out
    assert len(submissions(settings)) == made


# -- the demo population's indicators --------------------------------------------------------
KPI_TODAY = dt.date(2026, 11, 28)
KPI_NOW = dt.datetime(2026, 11, 28, 4, 0)  # UTC: noon in Beijing
# The KPIs the issue names and the wide bounds they must land in: the for 规范管理率,
# 控制率 and 早孕建册率 (whose registrations and births are of different cohorts: it may pass
# 100%), plausible ones for the others.
KPI_BOUNDS = {
    "hypertension_managed": ("高血压规范管理率", 60, 85),
    "diabetes_managed": ("糖尿病规范管理率", 60, 85),
    "hypertension_controlled": ("高血压控制率", 50, 70),
    "diabetes_controlled": ("糖尿病控制率", 50, 70),
    "early_pregnancy": ("早孕建册率", 80, 130),
    "newborn_visit": ("新生儿访视率", 80, 110),
    "elderly_managed": ("老年人健康管理率", 50, 90),
}


def test_the_demo_population_s_kpis_are_believable_and_the_aggregates_exact(
    settings, tmp_path, capsys
):
    """A demo tree's records (`portal init --demo` makes them so), the public health KPIs
    computed by the report engine for the city over the last full year, printed (run with
    -s), within wide bounds; and `portal reports-check` finds the aggregates exact.

    A fixed day and seed make it the same every run. At this size a year has some 20 births
    (Beijing's birth rate), so 早孕建册率 varies from seed to seed far more than the others
    (60-115% over seeds 1-8; the schedule alone gives about 95%)."""
    from portal.demo_data import fill_demo

    ini = write_ini(tmp_path / "portal.ini", settings)
    with cli._env(ini) as env:
        request = env["request"]
        with request.tm:
            assert fill_demo(request, 10_000, seed=8, today=KPI_TODAY, now=KPI_NOW)
    assert cli.main(["reports-check", ini]) == 0
    assert "agree with a full recomputation" in capsys.readouterr().out

    config = make_config(settings)
    try:
        app = webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})
        auth = bearer(api_token(app, "city"))
        report = app.get(
            "/api/v1/reports/public-health-kpi",
            params={"org": "110000", "period": "2025"},
            headers=auth,
        ).json
    finally:
        close_app_registry(config.registry)
    total = dict(zip((c["key"] for c in report["columns"]), report["total"], strict=True))
    lines = []
    for name, (label, low, high) in KPI_BOUNDS.items():
        lines.append(
            f"{label}\t{total[f'{name}.num']:>6} / {total[f'{name}.den']:>6} = "
            f"{total[f'{name}.rate']}%\t(bounds {low}-{high}%)"
        )
    print("\nDemo KPIs, city, 2025:\n" + "\n".join(lines))
    for name, (_label, low, high) in KPI_BOUNDS.items():
        assert total[f"{name}.den"], name  # a denominator: the population figures are there
        assert low <= total[f"{name}.rate"] <= high, name
    assert total["health_records.rate"] > 90  # nearly everyone has their record
