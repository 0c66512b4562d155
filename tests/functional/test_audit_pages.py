"""The audit log pages: who may read them, the subtree they show, filters, paging and CSV."""

import csv
import datetime as dt
import io

from sqlalchemy import select

from portal import models
from tests.conftest import enrol, login


def sql(testapp):
    return testapp.app.registry.dbsession_factory()


def shown(res) -> list[tuple[str, str, str]]:
    """(event, outcome, target) of each row on the page, top to bottom."""
    return [
        (tr["data-event"], tr["data-outcome"], tr.find_all("td")[6].get_text(strip=True))
        for tr in res.html.select("#audit-events tr[data-event]")
    ]


def add_events(testapp, *events):
    with sql(testapp) as s:
        s.add_all(events)
        s.commit()


def event(name="login", outcome="success", ts=None, org_path=None, **kw):
    code = org_path.strip("/").split("/")[-1] if org_path else None
    return models.AuditEvent(
        event=name,
        outcome=outcome,
        ts=ts or models.utcnow(),
        org_path=org_path,
        org_code=code,
        **kw,
    )


def grant(testapp, login_name, role, org):
    form = testapp.get(f"/accounts/{login_name}/roles").forms["grant-form"]
    form["role"], form["org"] = role, org
    form.submit("grant", status=303)


def test_auditor_sees_failed_logins_by_filtering(testapp):
    login(testapp, "xicheng", "Wrong-password-1", status=200)
    login(testapp, "xicheng", "Wrong-password-2", status=200)
    login(testapp, "ghost", "Wrong-password-3", status=200)  # no such login: no unit
    login(testapp, "auditor")
    everything = testapp.get("/110000/audit")
    assert ("login", "success", "auditor") in shown(everything)

    res = testapp.get("/110000/audit", {"event": "login", "outcome": "failure"})
    assert shown(res) == [
        ("login", "failure", "ghost"),
        ("login", "failure", "xicheng"),
        ("login", "failure", "xicheng"),
    ]  # newest first
    assert res.html.find(id="event").find("option", selected=True)["value"] == "login"
    assert "3" in res.html.find(id="page-summary").get_text()

    res = testapp.get("/110000/audit", {"event": "login", "outcome": "failure", "target": "XiCh"})
    assert [row[2] for row in shown(res)] == ["xicheng", "xicheng"]
    res = testapp.get("/110000/audit", {"actor": "auditor"})
    assert {row[0] for row in shown(res)} == {"login"}
    assert shown(testapp.get("/110000/audit", {"outcome": "denied"})) == []


def test_only_audit_admins_read_the_audit_log(testapp):
    for name in ("admin", "dongcheng", "security", "city"):
        testapp.reset()
        login(testapp, name)
        testapp.get("/110000/audit", status=403)
        testapp.get("/110000/110101/audit", status=403)
        testapp.get("/110000/audit.csv", status=403)
        assert testapp.get("/").html.find(attrs={"data-nav": "audit"}) is None
    testapp.reset()
    login(testapp, "auditor")
    assert testapp.get("/").html.find(attrs={"data-nav": "audit"})["href"] == (
        "http://localhost/110000/audit"
    )


def test_a_district_audit_admin_sees_only_the_district(testapp):
    login(testapp, "security")
    grant(testapp, "staff", "auditor", "110101")
    testapp.reset()
    enrol(testapp, "staff")  # administrators log in with a second factor
    login(testapp, "xicheng", "Wrong-password-1", status=200)  # 110102
    login(testapp, "ghost", "Wrong-password-1", status=200)  # no unit
    login(testapp, "station")  # 110101001001, below 东城区
    testapp.reset()
    login(testapp, "staff")
    res = testapp.get("/110000/110101/audit", {"event": "login"})
    targets = {row[2] for row in shown(res)}
    assert {"station", "staff"} <= targets
    assert not targets & {"xicheng", "ghost", "security", "auditor"}
    testapp.get("/110000/audit", status=403)
    testapp.get("/110000/110102/audit", status=403)


def test_filters_by_beijing_calendar_day(testapp):
    # 2026-03-01 in Beijing runs from 2026-02-28 16:00 to 2026-03-01 16:00 UTC.
    add_events(
        testapp,
        event(target="before", ts=dt.datetime(2026, 2, 28, 15, 59, 59), org_path="/110000/"),
        event(target="first", ts=dt.datetime(2026, 2, 28, 16, 0, 0), org_path="/110000/"),
        event(target="last", ts=dt.datetime(2026, 3, 1, 15, 59, 59), org_path="/110000/"),
        event(target="after", ts=dt.datetime(2026, 3, 1, 16, 0, 0), org_path="/110000/"),
    )
    login(testapp, "auditor")
    res = testapp.get("/110000/audit", {"date_from": "2026-03-01", "date_to": "2026-03-01"})
    assert [row[2] for row in shown(res)] == ["last", "first"]
    first_row = res.html.select_one("#audit-events tr[data-event] td").get_text(strip=True)
    assert first_row == "2026-03-01 23:59:59"
    res = testapp.get("/110000/audit", {"date_to": "2026-02-28"})
    assert [row[2] for row in shown(res)] == ["before"]


def test_bad_filters_are_reported_at_the_field(testapp):
    add_events(testapp, event(target="kept", org_path="/110000/", actor="someone"))
    login(testapp, "auditor")
    res = testapp.get(
        "/110000/audit", {"date_from": "yesterday", "event": "no.such", "actor": "someone"}
    )
    assert res.html.select("#date_from.is-invalid") and res.html.select("#event.is-invalid")
    assert res.html.find(id="date_from")["value"] == "yesterday"  # what was typed stays
    assert [row[2] for row in shown(res)] == ["kept"]  # the good filter still applies
    assert res.html.find(id="audit-csv") is None
    res = testapp.get("/110000/audit", {"date_from": "2026-03-02", "date_to": "2026-03-01"})
    assert res.html.select("#date_to.is-invalid")
    testapp.get("/110000/audit.csv", {"outcome": "maybe"}, status=400)


def test_event_groups_match_by_prefix(testapp):
    add_events(
        testapp,
        event("role.grant", target="a", org_path="/110000/"),
        event("role.revoke", target="b", org_path="/110000/"),
        event("roles.other", target="c", org_path="/110000/"),
        event("org.move", target="d", org_path="/110000/110101/"),
    )
    login(testapp, "auditor")
    assert {r[2] for r in shown(testapp.get("/110000/audit", {"event": "role.*"}))} == {"a", "b"}
    assert [r[2] for r in shown(testapp.get("/110000/audit", {"event": "org.*"}))] == ["d"]


def test_audit_log_pages_fifty_at_a_time(testapp):
    base = dt.datetime(2026, 1, 1, 0, 0)
    add_events(
        testapp,
        *(
            event(
                "account.update",
                target=f"t{n:03d}",
                org_path="/110000/110105/",
                ts=base + dt.timedelta(minutes=n),
            )
            for n in range(120)
        ),
    )
    login(testapp, "auditor")
    query = {"event": "account.update"}
    first = testapp.get("/110000/audit", query)
    assert len(shown(first)) == 50 and shown(first)[0][2] == "t119"
    assert "120" in first.html.find(id="page-summary").get_text()
    last_link = first.html.select(".pagination a")[-1]["href"]
    assert "event=account.update" in last_link and "page=3" in last_link
    third = testapp.get(last_link)
    assert [r[2] for r in shown(third)] == [f"t{n:03d}" for n in range(19, -1, -1)]


def test_csv_download_holds_the_filtered_rows(testapp):
    login(testapp, "=cmd|' /C calc'!A0", "Wrong-password-1", status=200)
    login(testapp, "xicheng", "Wrong-password-1", status=200)
    login(testapp, "auditor")
    page = testapp.get("/110000/audit", {"event": "login", "outcome": "failure"})
    res = testapp.get(page.html.find(id="audit-csv")["href"])
    assert res.content_type == "text/csv"
    assert res.headers["Content-Disposition"].startswith('attachment; filename="audit-110000-')
    assert res.body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(res.body.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert len(header) == 8
    assert [(r[1], r[2]) for r in body] == [("login", "failure")] * 2
    assert [r[6] for r in body] == ["xicheng", "'=cmd|' /c calc'!a0"]  # no formula
    assert body[0][0].endswith("+08:00")
    with sql(testapp) as s:
        [export] = s.scalars(select(models.AuditEvent).filter_by(event="audit.export")).all()
    assert (export.actor, export.org_code) == ("auditor", "110000")
    assert export.detail == {"filters": {"event": "login", "outcome": "failure"}}
