"""Creating and upgrading storage: SQL migrations and the ZODB site with its evolve steps."""

import os

import sqlalchemy
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


def populate(site, demo: bool = False) -> list[str]:
    """What `portal init` puts in the site: Beijing's divisions, the shipped forms (and the
    new versions of shipped forms whose files changed), and with `demo` the demo units and
    accounts. Each part only when missing. Returns what was done."""
    from portal.demo import load_demo, load_divisions
    from portal.services.forms import load_shipped_forms

    done = []
    if site.unit_by_code("110000") is None:
        load_divisions(site)
        done.append("Loaded Beijing's divisions (city and districts).")
    shipped = load_shipped_forms(site)
    if shipped.added:
        done.append(f"Published {len(shipped.added)} shipped forms: {', '.join(shipped.added)}.")
    for name, (number, changes) in shipped.updated.items():
        done.append(f"Published version {number} of the shipped form {name}:")
        done.extend(
            f"  {'(data loss) ' if c.data_loss else ''}{c.message.render('en')}" for c in changes
        )
    if shipped.kept:
        done.append(
            "Left alone, as an administrator has changed them since they were shipped "
            f"(their shipped files are newer): {', '.join(shipped.kept)}."
        )
    if demo and load_demo(site):
        done.append(
            "Loaded the demo tree and demo accounts (password Demo@Portal2026; admin, "
            "security and auditor log in with a second factor, the demo-only TOTP secret "
            "JBSWY3DPEHPK3PXP)."
        )
    return done


def mirror_units(zodb_root, dbsession) -> int:
    """Bring the SQL copy of the units' paths (unit_paths) in line with the tree, in the
    session's transaction; nothing while there is no site yet or the SQL schema predates
    the table (`portal migrate` fills it then). Returns how many rows changed."""
    from portal.services import unit_paths

    site = zodb_root.get("site")
    if site is None or not sqlalchemy.inspect(dbsession.connection()).has_table("unit_paths"):
        return 0
    return unit_paths.sync(dbsession, site)
