"""A pprof-like debug surface for any asyncio service: Go's ``net/http/pprof``, for Python.

Self-contained (it imports nothing else from ``leaky_app``), so another service can mount it::

    from leaky_app.debug import DebugConfig, DebugServer

    server = DebugServer(DebugConfig(token_file=Path("run/debug.token")),
                         loop=asyncio.get_running_loop())
    server.start()
    # curl -H "Authorization: Bearer $(cat run/debug.token)" http://127.0.0.1:6060/debug/

It runs on its own thread and event loop, listens on loopback only, needs a bearer token,
bounds every duration and runs one expensive profile at a time. The index at ``/debug/``
lists every endpoint.
"""

from leaky_app.debug.endpoints import Endpoint
from leaky_app.debug.server import DEFAULT_PORT, DebugConfig, DebugServer

__all__ = ["DEFAULT_PORT", "DebugConfig", "DebugServer", "Endpoint"]
