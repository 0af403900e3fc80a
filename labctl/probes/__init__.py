"""Drivers of external profilers. Each returns typed records and writes its artefacts."""
