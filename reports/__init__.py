"""Indicators, aggregation queries and statistical report layouts (PDF via reportlab).
A library: it never imports `portal`."""
