"""Benchmarks of the portal, each set against a baseline measured in the same run.

Run with `make bench` (or `python -m benchmarks [login|api|demo-data]`; `--million` times
`portal demo-data` with a million records instead; `--postgresql DSN` runs login and api on
PostgreSQL, in a database made for the run on that server). Everything runs on a fresh demo
portal in a temporary directory (and that database); the developer's var/ is never touched.
"""
