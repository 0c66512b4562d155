"""The look-up of a unit's records by health record number (person_links) uses the index
that migration 0008 makes, and finds what it should."""

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Submission, get_engine
from portal.services.person_links import record_no_of
from portal.services.setup import migrate


def row(n, form, org, record_no):
    return Submission(
        id=f"s{n}",
        form_name=form,
        form_version=1,
        org_code=org,
        org_path=f"/110000/110101/{org}/",
        period=None,
        status="submitted",
        author="staff",
        created=dt.datetime(2026, 11, 2),
        updated=dt.datetime(2026, 11, 2),
        client_id=f"c{n}",
        data={"record_no": record_no, "name": "张三"},
    )


def test_records_are_found_by_number_through_the_index(tmp_path):
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{tmp_path}/k.sqlite"})
    migrate(engine)
    try:
        with Session(engine) as session:
            session.add_all(
                [
                    row(1, "personal_info", "110101001", "11010100100100001"),
                    row(2, "personal_info", "110101002", "11010100100100002"),
                    row(3, "hypertension_followup", "110101001", "11010100100100002"),
                ]
            )
            session.commit()

            def found(form, org, number):
                query = select(Submission.id).where(
                    Submission.form_name == form,
                    Submission.org_code == org,
                    record_no_of(session) == number,
                )
                compiled = query.compile(engine)
                plan = (
                    session.connection()
                    .exec_driver_sql(
                        f"EXPLAIN QUERY PLAN {compiled}", tuple(compiled.params.values())
                    )
                    .all()
                )
                assert "ix_submissions_form_name_org_code_record_no" in repr(plan), plan
                return session.scalars(query).all()

            assert found("personal_info", "110101001", "11010100100100001") == ["s1"]
            assert found("personal_info", "110101001", "11010100100100002") == []
            assert found("personal_info", "110101002", "11010100100100002") == ["s2"]
    finally:
        engine.dispose()
