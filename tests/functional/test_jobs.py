"""Background jobs: work done within the wait is answered at once; longer work becomes a job
whose URL answers with its progress, then its file, to its owner only; failures and limits
are answered, not raised."""

import datetime as dt
import threading
import time

import pytest
import webtest
from sqlalchemy import func, select, update

from portal.models import Job
from portal.security import Permission
from portal.services import jobs
from portal.views.jobs import answer_api
from tests.conftest import api_token, bearer


@pytest.fixture
def gate():
    event = threading.Event()
    yield event
    event.set()  # never leave a worker waiting


@pytest.fixture
def app(app_config, gate):
    """The test app with a probe that runs work through the jobs service: ?work=fast|slow|
    fail, ?wait=seconds."""

    def fast(request, progress):
        progress(0.5)
        # The worker has a request of its own, with the site and SQL at hand.
        units = len(list(request.root_site["110000"].keys()))
        return jobs.Output(f"units={units}".encode(), "text/plain", "报表-fast.txt")

    def slow(request, progress):
        progress(0.25)
        gate.wait(10)
        progress(0.75)
        return jobs.Output(b"slow result", "text/plain", "slow.txt")

    def fail(request, progress):
        raise ValueError("a value that must not reach the log: 13812345678")

    works = {"fast": fast, "slow": slow, "fail": fail}

    def probe(request):
        work = works[request.GET["work"]]
        wait = float(request.GET.get("wait", 2))
        try:
            outcome = jobs.jobs_of(request).run(request, "probe", "探针", work, wait=wait)
        except jobs.JobFailed:
            request.response.status_int = 500
            return {"error": "failed"}
        except jobs.JobLimit as limit:
            request.response.status_int = 429
            return {"error": "per user" if limit.per_user else "process"}
        return answer_api(request, outcome)

    app_config.add_route("probe_job", "/_probe/job")
    app_config.add_view(probe, route_name="probe_job", renderer="json", permission=Permission.HOME)
    return webtest.TestApp(app_config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})


@pytest.fixture
def auth(app):
    return {login: bearer(api_token(app, login)) for login in ("dongcheng", "xicheng")}


def job_rows(app) -> int:
    with app.app.registry.dbsession_factory() as s:
        return s.scalar(select(func.count()).select_from(Job))


def wait_for(app, url, headers, status=200, seconds=10):
    deadline = time.monotonic() + seconds
    while True:
        response = app.get(url, headers=headers, expect_errors=True)
        if response.status_int == status or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_work_done_within_the_wait_is_the_answer_and_leaves_no_job(app, auth):
    response = app.get("/_probe/job?work=fast", headers=auth["dongcheng"])
    assert response.status_int == 200
    assert response.body.startswith(b"units=") and response.body != b"units=0"
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''%E6%8A%A5%E8%A1%A8-fast.txt" in disposition
    assert job_rows(app) == 0


def test_longer_work_becomes_a_job_with_progress_then_its_file(app, auth, gate):
    response = app.get("/_probe/job?work=slow&wait=0.05", headers=auth["dongcheng"])
    assert response.status_int == 202
    url = response.json["job"]
    assert response.headers["Location"] == url
    assert job_rows(app) == 1
    running = app.get(url, headers=auth["dongcheng"])
    assert running.status_int == 202 and running.json["status"] == "running"
    assert running.json["progress"] == 0.25
    status = app.get(url + "/status", headers=auth["dongcheng"]).json
    assert status["status"] == "running" and "download" not in status
    # Someone else cannot see it exists.
    app.get(url, headers=auth["xicheng"], status=404)
    app.get(url + "/status", headers=auth["xicheng"], status=404)

    gate.set()
    done = wait_for(app, url, auth["dongcheng"])
    assert done.status_int == 200 and done.body == b"slow result"
    assert 'filename="slow.txt"' in done.headers["Content-Disposition"]
    status = app.get(url + "/status", headers=auth["dongcheng"]).json
    assert status["status"] == "done" and status["progress"] == 1 and status["download"] == url


def test_the_job_page_shows_progress_then_the_download_link(app, auth, gate):
    from tests.conftest import login

    login(app, "dongcheng")
    response = app.get("/_probe/job?work=slow&wait=0.05")
    page_url = response.json["page"]
    page = app.get(page_url)
    assert page.headers["Refresh"] == "2"
    assert 'aria-valuenow="25"' in page.text
    gate.set()
    wait_for(app, response.json["job"], {})
    page = app.get(page_url)
    assert "Refresh" not in page.headers
    assert page.html.find(id="job-download")["href"] == response.json["job"]


def test_a_failure_is_answered_and_its_message_stays_out_of_the_log(app, auth, gate, caplog):
    response = app.get("/_probe/job?work=fail", headers=auth["dongcheng"], expect_errors=True)
    assert response.status_int == 500 and response.json == {"error": "failed"}
    assert "ValueError" in caplog.text
    assert "13812345678" not in caplog.text
    # Failing after it was detached: the job's URL says so.
    registry = app.app.registry
    registry.jobs.wait = 0.0
    response = app.get("/_probe/job?work=fail&wait=0", headers=auth["dongcheng"])
    url = response.json["job"]
    failed = wait_for(app, url, auth["dongcheng"], status=500)
    assert failed.status_int == 500 and failed.json["status"] == "failed"


def test_a_job_whose_process_died_is_reported_failed_after_its_time(app, auth, gate):
    url = app.get("/_probe/job?work=slow&wait=0.01", headers=auth["dongcheng"]).json["job"]
    registry = app.app.registry
    job_id = url.rsplit("/", 1)[1]
    registry.jobs._jobs.pop(job_id)  # as if another process, now gone, had run it
    with registry.dbsession_factory() as s, s.begin():
        old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=2)
        s.execute(update(Job).where(Job.id == job_id).values(created=old))
    response = app.get(url, headers=auth["dongcheng"], expect_errors=True)
    assert response.status_int == 500 and response.json["status"] == "failed"


def test_each_user_has_a_few_jobs_at_once(app, auth, gate):
    limit = app.app.registry.jobs.per_user
    assert limit < app.app.registry.jobs.workers
    for _ in range(limit):
        assert app.get("/_probe/job?work=slow&wait=0", headers=auth["dongcheng"]).status_int == 202
    refused = app.get("/_probe/job?work=slow&wait=0", headers=auth["dongcheng"], status=429)
    assert refused.json == {"error": "per user"}
    # Another user is not held up by them.
    assert app.get("/_probe/job?work=fast", headers=auth["xicheng"]).status_int == 200


def test_a_job_url_that_is_not_a_job_is_not_found(app, auth):
    app.get("/api/v1/jobs/not-a-uuid", headers=auth["dongcheng"], status=404)
    app.get(
        "/api/v1/jobs/00000000-0000-0000-0000-000000000000", headers=auth["dongcheng"], status=404
    )
