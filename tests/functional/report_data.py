"""Records for the report tests, written as the bulk writers write them: the rows, then the
record seam, in one transaction (no form version has to accept them)."""

import datetime as dt
import uuid

from portal.models import Submission, UnitPath
from portal.services import record_changes
from tests.conftest import sql


def add_records(testapp, rows: list[dict]) -> None:
    """Rows written as the bulk writers write them: the rows, then the record seam. A row
    is {"form", "org", "data"} and optionally "period" and "created" (UTC, naive)."""
    registry = testapp.app.registry
    conn = registry.zodb.open()
    try:
        with sql(testapp) as s, s.begin():
            made = []
            for row in rows:
                submission = Submission(
                    id=str(uuid.uuid4()),
                    form_version=1,
                    org_path=s.get(UnitPath, row["org"]).path,
                    org_code=row["org"],
                    form_name=row["form"],
                    period=row.get("period"),
                    status="submitted",
                    author="staff",
                    created=row.get("created", dt.datetime(2026, 11, 2, 2, 0)),
                    updated=row.get("created", dt.datetime(2026, 11, 2, 2, 0)),
                    client_id=str(uuid.uuid4()),
                    data=row["data"],
                )
                s.add(submission)
                made.append(submission)
            s.flush()
            changes = [(None, record_changes.snapshot(m)) for m in made]
            record_changes.bulk_changed(s, conn.root()["site"], registry, changes)
    finally:
        conn.close()


def visits(person: str, org: str, age: int, sbp: int) -> list[dict]:
    return [
        {
            "form": "hypertension_followup",
            "org": org,
            "period": f"2026-{month}",
            "data": {
                "record_no": person,
                "visit_mode": "1",
                "visit_date": f"2026-{month}-10",
                "age": age,
                "mgmt_status": "1",
                "sbp": sbp,
                "dbp": 80,
            },
        }
        for month in ("02", "05", "08", "11")
    ]
