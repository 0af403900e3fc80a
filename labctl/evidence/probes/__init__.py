"""Drivers of external profilers (py-spy, memray, scalene) and of /proc: each returns a record
of :mod:`labctl.records` and writes its artefacts."""
