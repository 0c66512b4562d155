"""portal.services.submissions.relocate: a moved unit's submissions get its new path, in one
UPDATE, and nothing else changes (on SQLite here; the functional tests run it on the
configured backend, PostgreSQL included)."""

import datetime as dt

import pytest
from sqlalchemy import select

from portal.models import Base, Submission, get_engine, get_session_factory
from portal.services.submissions import relocate

PATHS = {
    "a": "/110000/110101/110101001/",  # the centre that moves
    "b": "/110000/110101/110101001/110101001001/",  # a station below it
    "c": "/110000/110101/1101010011/",  # a code that merely starts the same
    "d": "/110000/110101/110101002/",  # a sibling
    "e": "/110000/110101/",  # the district itself
}


@pytest.fixture
def dbsession(tmp_path):
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{tmp_path}/r.sqlite"})
    Base.metadata.create_all(engine)
    session = get_session_factory(engine)()
    now = dt.datetime(2026, 1, 1)
    for key, path in PATHS.items():
        session.add(
            Submission(
                id=key,
                form_name="f",
                form_version=1,
                org_code=path.split("/")[-2],
                org_path=path,
                status="submitted",
                author="staff",
                created=now,
                updated=now,
                client_id=key,
                data={},
            )
        )
    session.commit()
    yield session
    session.close()
    engine.dispose()


def paths(session):
    return dict(session.execute(select(Submission.id, Submission.org_path)).all())


def test_the_subtree_gets_the_new_prefix_and_nothing_else_changes(dbsession):
    loaded = dbsession.get(Submission, "b")
    assert loaded.org_path == PATHS["b"]
    count = relocate(dbsession, PATHS["a"], "/110000/110102/110101001/")
    assert count == 2
    # Objects the session held show the new path too.
    assert loaded.org_path == "/110000/110102/110101001/110101001001/"
    dbsession.commit()
    assert paths(dbsession) == {
        **PATHS,
        "a": "/110000/110102/110101001/",
        "b": "/110000/110102/110101001/110101001001/",
    }


def test_a_deeper_or_shallower_new_place(dbsession):
    relocate(dbsession, PATHS["a"], "/110000/110101/110101002/110101001/")
    assert paths(dbsession)["b"] == "/110000/110101/110101002/110101001/110101001001/"
    relocate(dbsession, "/110000/110101/110101002/", "/110000/110105/110101002/")
    assert paths(dbsession)["b"] == "/110000/110105/110101002/110101001/110101001001/"
    assert paths(dbsession)["d"] == "/110000/110105/110101002/"
    assert paths(dbsession)["c"] == PATHS["c"] and paths(dbsession)["e"] == PATHS["e"]
