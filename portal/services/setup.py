"""Creating and upgrading storage: SQL migrations and the ZODB site with its evolve steps."""

import os

from alembic import command
from alembic.config import Config as AlembicConfig

from portal import evolve
from portal.resources import Site

ALEMBIC_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "alembic")


def alembic_config(engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", ALEMBIC_DIR)
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def migrate(engine, revision: str = "head") -> None:
    """Bring the SQL schema to `revision` (its own transaction: DDL is not rolled back on
    every database)."""
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def ensure_site(zodb_root) -> tuple[Site, list[str]]:
    """The site root, created if missing, with every evolve step applied."""
    site = zodb_root.get("site")
    if site is None:
        site = zodb_root["site"] = Site()
    applied = evolve.evolve(site)
    return site, applied
