"""Tiny target scripts named for the behaviour they produce; profilers are pointed at them."""

from pathlib import Path

TARGETS = Path(__file__).parent
