"""The Alembic migrations build exactly the schema the models describe."""

import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.models import Base, get_engine
from portal.services.setup import migrate


def test_migrations_match_models(tmp_path):
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{tmp_path}/m.sqlite"})
    migrate(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert "alembic_version" in sqlalchemy.inspect(engine).get_table_names()
    engine.dispose()
