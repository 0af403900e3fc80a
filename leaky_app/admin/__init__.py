"""The service's own endpoints on its debug port (bearer token, loopback): fault switches and
drills, dead letters, recent traces. Each module returns a list of
:class:`leaky_app.debug.Endpoint` that ``create_app`` hands the debug surface."""
