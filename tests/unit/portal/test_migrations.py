"""The Alembic migrations build exactly the schema the models describe."""

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.models import Base, get_engine
from portal.services.setup import migrate


# SQLite's reflection skips expression indexes (migration 0008's record-number index), with
# this warning; the test that the index is used is tests/unit/portal/test_person_key_index.py.
@pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index "
    "ix_submissions_form_name_org_code_record_no"
)
def test_migrations_match_models(tmp_path):
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{tmp_path}/m.sqlite"})
    migrate(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert "alembic_version" in sqlalchemy.inspect(engine).get_table_names()
    engine.dispose()
