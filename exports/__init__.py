"""Tabular and exchange formats: CSV and Excel readers/writers, streaming.
A library: it never imports `portal`."""
