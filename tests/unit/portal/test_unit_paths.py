"""portal.services.unit_paths: the SQL copy of the units' paths that submissions read (on
SQLite here; the functional tests run it on the configured backend, PostgreSQL included,
and race a submission against a move)."""

import pytest
from sqlalchemy import select

from portal.models import Base, UnitPath, get_engine, get_session_factory
from portal.services import unit_paths


@pytest.fixture
def dbsession(tmp_path):
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{tmp_path}/p.sqlite"})
    Base.metadata.create_all(engine)
    session = get_session_factory(engine)()
    yield session
    session.close()
    engine.dispose()


def table(session) -> dict[str, str]:
    return dict(session.execute(select(UnitPath.code, UnitPath.path)).all())


def tree(site) -> dict[str, str]:
    return {code: unit.path for code, unit in site.units.items()}


def test_sync_makes_the_table_the_tree(site, dbsession):
    assert unit_paths.sync(dbsession, site) == len(site.units)
    dbsession.commit()
    assert table(dbsession) == tree(site) and len(tree(site)) > 50
    # In line already: nothing to do.
    assert unit_paths.sync(dbsession, site) == 0
    # A wrong path, a missing row and a unit no longer in the tree are each put right.
    dbsession.execute(
        UnitPath.__table__.update().where(UnitPath.code == "110101001").values(path="/wrong/")
    )
    dbsession.execute(UnitPath.__table__.delete().where(UnitPath.code == "110101001001"))
    dbsession.add(UnitPath(code="999999", path="/999999/"))
    dbsession.commit()
    assert unit_paths.sync(dbsession, site) == 3
    dbsession.commit()
    assert table(dbsession) == tree(site)


def test_record_adds_and_updates(site, dbsession):
    centre = site.unit_by_code("110101001")
    assert unit_paths.record(dbsession, [centre]) == 1
    assert unit_paths.record(dbsession, []) == 0
    district = site.unit_by_code("110102")
    centre.__parent__.remove(centre.code)
    district.add(centre.code, centre)
    assert unit_paths.record(dbsession, centre.walk()) == len(list(centre.walk()))
    dbsession.commit()
    assert table(dbsession) == {unit.code: unit.path for unit in centre.walk()}
    assert table(dbsession)["110101001"] == "/110000/110102/110101001/"


def test_path_of_reads_the_row_and_falls_back_to_the_tree(dbsession):
    dbsession.add(UnitPath(code="110101001", path="/110000/110102/110101001/"))
    dbsession.commit()

    def path(code, fallback):
        return dbsession.execute(select(unit_paths.path_of(code, fallback))).scalar_one()

    assert path("110101001", "/110000/110101/110101001/") == "/110000/110102/110101001/"
    assert path("110101002", "/110000/110101/110101002/") == "/110000/110101/110101002/"
