"""Serve the portal an .ini describes on a loopback port, with failpoints armed: the crash
tests' subprocess server (python -m tests.functional.crash_server INI PORT)."""

import os
import sys

import waitress
from pyramid.paster import get_app


def main() -> None:
    ini, port = sys.argv[1], int(sys.argv[2])
    assert os.environ.get("PORTAL_FAILPOINTS") == "1"
    app = get_app(ini, "main")
    waitress.serve(app, host="127.0.0.1", port=port, threads=4, _quiet=True)


if __name__ == "__main__":
    main()
