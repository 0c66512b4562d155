"""Small throughput benchmarks of the portal, each set against a bare Pyramid baseline.

Run with `make bench` (or `python -m benchmarks`). Figures are requests per second through
the WSGI application in this process, without a network, so they compare code paths, not
servers.
"""
