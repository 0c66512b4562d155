"""The `portal` command, run on a real .ini file like an operator would."""

import io

import pytest
import transaction
from sqlalchemy import create_engine, delete, select

from forms.xlsform import export_xlsform, import_xlsform
from portal import make_config
from portal.models import UnitPath
from portal.scripts import cli
from tests.conftest import write_ini
from tests.functional.form_samples import bad_workbook, bp_form


@pytest.fixture
def ini(tmp_path):
    var = tmp_path / "var"
    return write_ini(
        tmp_path / "test.ini",
        {
            "zodbconn.uri": f"file://{var}/Data.fs?blobstorage_dir={var}/blobs",
            "sqlalchemy.url": f"sqlite:///{var}/portal.sqlite",
            "portal.secret_file": f"{var}/secret",
        },
    )


def site_of(ini_path, tmp_path):
    """Open the storage the .ini names and return (site, cleanup)."""
    var = tmp_path / "var"
    config = make_config(
        {
            "zodbconn.uri": f"file://{var}/Data.fs?blobstorage_dir={var}/blobs",
            "sqlalchemy.url": f"sqlite:///{var}/portal.sqlite",
            "portal.secret": "x",
        }
    )
    tm = transaction.TransactionManager(explicit=True)
    tm.begin()
    conn = config.registry.zodb.open(transaction_manager=tm)

    def cleanup():
        tm.abort()
        conn.close()
        config.registry.zodb.close()
        config.registry.sql_engine.dispose()

    return conn.root()["site"], cleanup


def test_init_without_demo_loads_divisions_only(ini, tmp_path, capsys):
    assert cli.main(["init", ini]) == 0
    site, cleanup = site_of(ini, tmp_path)
    try:
        assert site.unit_by_code("110101").name == "东城区"
        assert site.unit_by_code("110101001") is None
        assert len(site["accounts"]) == 0
    finally:
        cleanup()
    # Running it again changes nothing and says so.
    assert cli.main(["init", ini]) == 0
    assert cli.main(["evolve", ini]) == 0
    assert "up to date" in capsys.readouterr().out
    assert cli.main(["migrate", ini]) == 0


def test_init_and_migrate_copy_the_units_paths_to_sql(ini, tmp_path):
    """Submissions read their unit's path from unit_paths: `portal init` fills it, and
    `portal migrate` (which an upgrade runs) puts it back in line with the tree."""
    assert cli.main(["init", ini, "--demo"]) == 0
    site, cleanup = site_of(ini, tmp_path)
    try:
        tree = {code: unit.path for code, unit in site.units.items()}
    finally:
        cleanup()  # the command opens the FileStorage itself
    engine = create_engine(f"sqlite:///{tmp_path}/var/portal.sqlite")
    try:
        with engine.begin() as connection:
            assert dict(connection.execute(select(UnitPath.code, UnitPath.path)).all()) == tree
            connection.execute(delete(UnitPath).where(UnitPath.code == "110101001"))
        assert cli.main(["migrate", ini]) == 0
        with engine.connect() as connection:
            assert dict(connection.execute(select(UnitPath.code, UnitPath.path)).all()) == tree
    finally:
        engine.dispose()


def test_init_demo_then_user_add(ini, tmp_path, monkeypatch, capsys):
    assert cli.main(["init", ini, "--demo"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("A-long-Passw0rd!\n"))
    assert (
        cli.main(
            [
                "user-add",
                ini,
                "li",
                "--role",
                "district_manager",
                "--org",
                "110105",
                "--name",
                "李明",
            ]
        )
        == 0
    )
    site, cleanup = site_of(ini, tmp_path)
    try:
        account = site["accounts"]["li"]
        assert account.name == "李明" and list(account.grants) == [("district_manager", "110105")]
        assert site.unit_by_code("110105").local_roles["li"] == {"district_manager"}
        assert site["accounts"]["admin"].grants[0] == ("sysadmin", "110000")
        # The demo administrators have the demo-only second factor; the others none.
        secrets = {login: a.totp_secret for login, a in site["accounts"].items()}
        assert {login for login, secret in secrets.items() if secret} == {
            "admin",
            "security",
            "auditor",
        }
        assert secrets["admin"] == "JBSWY3DPEHPK3PXP"
    finally:
        cleanup()
    # The operator removes a second factor when no security administrator can.
    assert cli.main(["two-factor-reset", ini, "security"]) == 0
    assert cli.main(["two-factor-reset", ini, "nobody"]) == 1
    site, cleanup = site_of(ini, tmp_path)
    try:
        assert site["accounts"]["security"].totp_secret is None
        assert site["accounts"]["admin"].totp_secret == "JBSWY3DPEHPK3PXP"
    finally:
        cleanup()


@pytest.mark.parametrize(
    "args, password, message",
    [
        (["li", "--role", "district_manager", "--org", "999999"], "A-long-Passw0rd!", "999999"),
        (["li", "--role", "district_manager", "--org", "110000"], "A-long-Passw0rd!", "角色"),
        (["li", "--role", "city_manager", "--org", "110000"], "short", "12"),
    ],
)
def test_user_add_refuses_bad_input(ini, tmp_path, monkeypatch, capsys, args, password, message):
    assert cli.main(["init", ini]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    assert cli.main(["user-add", ini, *args]) == 1
    assert message in capsys.readouterr().err
    site, cleanup = site_of(ini, tmp_path)
    try:
        assert "li" not in site["accounts"]  # nothing half-created
    finally:
        cleanup()


def test_form_import_publish_and_export(ini, tmp_path, capsys):
    assert cli.main(["init", ini]) == 0
    bad, good, unready = (tmp_path / name for name in ("bad.xlsx", "bp.xlsx", "unready.xlsx"))
    bad.write_bytes(bad_workbook())
    good.write_bytes(export_xlsform(bp_form()))
    unready.write_bytes(export_xlsform(bp_form(category=None)))
    capsys.readouterr()

    assert cli.main(["form-import", ini, str(bad)]) == 1
    err = capsys.readouterr().err
    assert "工作表“survey”第 3 行" in err and "nothing imported: 2 problem(s)" in err

    assert cli.main(["form-import", ini, str(good), "--publish"]) == 0
    assert "bp_check version 1 published." in capsys.readouterr().out
    # Refused publication: not even the draft is kept.
    assert cli.main(["form-import", ini, str(unready), "--publish"]) == 1
    err = capsys.readouterr().err
    assert "category" in err and "cannot be published" in err
    site, cleanup = site_of(ini, tmp_path)
    try:
        form = site["forms"]["bp_check"]
        assert len(form.versions) == 1 and not form.has_draft
    finally:
        cleanup()
    assert cli.main(["form-import", ini, str(unready)]) == 0
    assert "bp_check version 2 saved as a draft." in capsys.readouterr().out

    exported = tmp_path / "out.xlsx"
    assert cli.main(["form-export", ini, "bp_check", "-o", str(exported)]) == 0
    assert "version 1" in capsys.readouterr().out
    assert import_xlsform(exported.read_bytes()).definition == bp_form(version=1)
    assert cli.main(["form-export", ini, "bp_check", "--version", "2", "-o", str(exported)]) == 1
    assert cli.main(["form-export", ini, "nothing", "-o", str(exported)]) == 1
    assert "no form named nothing" in capsys.readouterr().err


def test_init_publishes_the_shipped_forms_once(ini, tmp_path, capsys):
    assert cli.main(["init", ini]) == 0
    assert "Published 15 shipped forms" in capsys.readouterr().out
    site, cleanup = site_of(ini, tmp_path)
    try:
        forms = site["forms"]
        assert len(forms) == 15
        hypertension = forms["hypertension_followup"]
        assert hypertension.latest.number == 1 and hypertension.draft() is None
    finally:
        cleanup()
    assert cli.main(["init", ini]) == 0
    assert "Published" not in capsys.readouterr().out


def test_a_command_on_the_embedded_store_the_portal_holds_says_so(ini, tmp_path, capsys):
    """FileStorage admits one process: the running portal's. The command says what to do
    instead of failing with a traceback."""
    assert cli.main(["init", ini]) == 0
    capsys.readouterr()
    site, cleanup = site_of(ini, tmp_path)  # stands in for the running portal
    try:
        assert cli.main(["attachments-clean", ini]) == 1
    finally:
        cleanup()
    err = capsys.readouterr().err
    assert "open in another process" in err and "portal.housekeeping_hours" in err
    assert cli.main(["attachments-clean", ini]) == 0


def test_evolve_rebuilds_aggregates_kept_for_other_definitions(ini, tmp_path, capsys):
    """After an upgrade changed the indicators (or their dimensions), the aggregates kept
    for the old ones are rebuilt; once current, they are left alone."""
    from sqlalchemy import create_engine, text

    assert cli.main(["init", ini]) == 0
    capsys.readouterr()
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'portal.sqlite'}")
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE report_state SET value = 'old' WHERE name = 'fingerprint'")
            )
        assert cli.main(["evolve", ini]) == 0
        assert "Rebuilt the report aggregates" in capsys.readouterr().out
        with engine.connect() as connection:
            value = connection.execute(
                text("SELECT value FROM report_state WHERE name = 'fingerprint'")
            ).scalar_one()
        assert value != "old"
    finally:
        engine.dispose()
    assert cli.main(["evolve", ini]) == 0
    assert "Rebuilt" not in capsys.readouterr().out
