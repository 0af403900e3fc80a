"""Probes of the Python runtime itself: GC pauses and event-loop lag."""
