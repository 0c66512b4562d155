"""Serve the portal, or a bare Pyramid JSON view, with waitress on loopback: the server
process of the API benchmark.

    python -m benchmarks.serve portal CONFIG PORT
    python -m benchmarks.serve portal-without-aggregates CONFIG PORT
    python -m benchmarks.serve bare - PORT

`portal-without-aggregates` is the portal with the report aggregates' listener taken off the
record seam: what a submission costs without keeping them (for the benchmark only).
"""

import logging
import sys
import uuid

import waitress
from pyramid.config import Configurator
from pyramid.paster import get_app

# As development.ini serves the portal.
THREADS = 4


def bare_app():
    """One JSON view at the submissions URL: it parses the body and answers 201, like the
    portal, with nothing behind it."""

    def accept(request):
        request.json_body  # noqa: B018 - parsing the body is part of the work
        request.response.status_int = 201
        return {"id": str(uuid.uuid4()), "status": "submitted", "form_version": 1}

    config = Configurator()
    config.add_route("submissions", "/api/v1/forms/{name}/submissions")
    config.add_view(accept, route_name="submissions", request_method="POST", renderer="json")
    return config.make_wsgi_app()


def main(argv):
    kind, config_uri, port = argv
    app = get_app(config_uri) if kind.startswith("portal") else bare_app()
    if kind == "portal-without-aggregates":
        from portal.services import aggregates

        listeners = app.registry.record_listeners.items
        listeners[:] = [f for f in listeners if f is not aggregates._listener]
    # More clients than threads keep requests queued, by design: waitress would log a warning
    # for each one, a cost of the benchmark rather than of what it measures.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    waitress.serve(app, host="127.0.0.1", port=int(port), threads=THREADS, _quiet=True)


if __name__ == "__main__":
    main(sys.argv[1:])
