"""The `portal` command, run on a real .ini file like an operator would."""

import io
import textwrap

import pytest
import transaction

from portal import make_config
from portal.scripts import cli

INI = """\
[app:main]
use = egg:bjch-portal
zodbconn.uri = file://{dir}/Data.fs?blobstorage_dir={dir}/blobs
sqlalchemy.url = sqlite:///{dir}/portal.sqlite
portal.secret_file = {dir}/secret

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)s %(message)s
"""


@pytest.fixture
def ini(tmp_path):
    path = tmp_path / "test.ini"
    path.write_text(textwrap.dedent(INI.format(dir=tmp_path / "var")))
    return str(path)


def site_of(ini_path, tmp_path):
    """Open the storage the .ini names and return (site, cleanup)."""
    var = tmp_path / "var"
    config = make_config({
        "zodbconn.uri": f"file://{var}/Data.fs?blobstorage_dir={var}/blobs",
        "sqlalchemy.url": f"sqlite:///{var}/portal.sqlite",
        "portal.secret": "x",
    })
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


def test_init_demo_then_user_add(ini, tmp_path, monkeypatch, capsys):
    assert cli.main(["init", ini, "--demo"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("A-long-Passw0rd!\n"))
    assert cli.main(["user-add", ini, "li", "--role", "district_manager", "--org", "110105",
                     "--name", "李明"]) == 0
    site, cleanup = site_of(ini, tmp_path)
    try:
        account = site["accounts"]["li"]
        assert account.name == "李明" and list(account.grants) == [("district_manager", "110105")]
        assert site.unit_by_code("110105").local_roles["li"] == {"district_manager"}
        assert site["accounts"]["admin"].grants[0] == ("sysadmin", "110000")
    finally:
        cleanup()


@pytest.mark.parametrize("args, password, message", [
    (["li", "--role", "district_manager", "--org", "999999"], "A-long-Passw0rd!", "999999"),
    (["li", "--role", "district_manager", "--org", "110000"], "A-long-Passw0rd!", "角色"),
    (["li", "--role", "city_manager", "--org", "110000"], "short", "12"),
])
def test_user_add_refuses_bad_input(ini, tmp_path, monkeypatch, capsys, args, password,
                                    message):
    assert cli.main(["init", ini]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    assert cli.main(["user-add", ini, *args]) == 1
    assert message in capsys.readouterr().err
    site, cleanup = site_of(ini, tmp_path)
    try:
        assert "li" not in site["accounts"]  # nothing half-created
    finally:
        cleanup()
