"""objgraph views: most common types, growth since the last call, a type's back-reference chain,
and the objects that own a type's instances (the nearest object of a class that is not a
container, a frame or a module, and the attribute that holds it).

Each call walks every object the GC tracks, so these are "expensive" endpoints (one at a time).
Frozen objects are not walked (gc.get_objects and gc.get_referrers skip the permanent
generation): after the service's start-up freeze, counts are of what was made since.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import shutil
import sys
import tempfile
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import objgraph
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leaky_app.debug.endpoints import BadParam, Endpoint, choice_param, error, int_param


class ObjectsView:
    def __init__(self) -> None:
        self._peak: dict[str, int] = {}

    def most_common(self, limit: int) -> list[dict[str, Any]]:
        return [
            {"type": name, "count": count}
            for name, count in objgraph.most_common_types(limit=limit, shortnames=False)
        ]

    def growth(self, limit: int) -> list[dict[str, Any]]:
        """Types whose count rose above their previous peak since the last call."""
        rows = objgraph.growth(limit=limit, peak_stats=self._peak, shortnames=False)
        return [{"type": name, "count": count, "delta": delta} for name, count, delta in rows]

    def backref_chain(self, type_name: str, max_depth: int) -> list[Any] | None:
        objects = objgraph.by_type(type_name)
        if not objects:
            return None
        target = objects[-1]
        del objects
        chain: list[Any] = objgraph.find_backref_chain(
            target, objgraph.is_proper_module, max_depth=max_depth
        )
        return chain

    def owners(self, type_name: str, sample: int, max_depth: int) -> list[dict[str, Any]] | None:
        """Who keeps up to ``sample`` of the newest objects of ``type_name``: for each, the
        nearest object of a class of the program's own (objgraph's shortest back-reference
        chain to it), counted by class and by the first hop from it."""
        objects = objgraph.by_type(type_name)
        if not objects:
            return None
        picked = objects[-sample:]
        del objects
        ignore = [id(picked)]
        counts: collections.Counter[tuple[str, str]] = collections.Counter()
        for target in picked:
            chain = objgraph.find_backref_chain(
                target, _owner_of(target), max_depth=max_depth, extra_ignore=ignore
            )
            if len(chain) > 1:
                kind = type(chain[0])
                counts[f"{kind.__module__}.{kind.__qualname__}", _attribute(chain)] += 1
            del chain
        return [
            {"owner": owner, "via": via, "count": count}
            for (owner, via), count in counts.most_common()
        ]

    @staticmethod
    def describe_chain(chain: list[Any]) -> list[str]:
        """One line per hop, from the module that keeps the object alive down to the object."""
        lines = []
        for i, obj in enumerate(chain):
            label = _type_name(obj)
            if i + 1 < len(chain):
                label += f" --{_edge(obj, chain[i + 1])}-->"
            lines.append(label)
        return lines

    @staticmethod
    def frozen_note(chain: list[Any]) -> str | None:
        """Why a chain may stop short of a module: gc.get_referrers, which objgraph walks,
        skips the permanent generation, so frozen containers (the service's start-up
        freeze) hold objects invisibly."""
        frozen = gc.get_freeze_count()
        if not frozen or objgraph.is_proper_module(chain[0]):
            return None
        return (
            f"the chain stops short of a module: {frozen} objects are frozen (gc.freeze) and "
            "referrers among them are invisible; POST /debug/gc/unfreeze and ask again "
            "(full collections then walk them again)"
        )

    @staticmethod
    def chain_png(chain: list[Any]) -> bytes | None:
        if shutil.which("dot") is None:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "chain.png"
            objgraph.show_chain(chain, filename=str(path))  # type: ignore[call-arg]
            return path.read_bytes()


_NOT_OWNERS = (types.FrameType, types.ModuleType, types.FunctionType, types.MethodType, type)


def _owner_of(target: Any) -> Callable[[Any], bool]:
    """objgraph's predicate: an owner other than ``target`` itself (where the search starts)."""
    return lambda obj: obj is not target and _is_owner(obj)


_HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement


def _is_owner(obj: Any) -> bool:
    """An object of a class the program defines (a class statement outside the standard
    library), which holds what it refers to on purpose; not a container, a frame, a module,
    a function, a class, or an object of the standard library's (a file, a task handle)."""
    kind = type(obj)
    if isinstance(obj, _NOT_OWNERS) or not kind.__flags__ & _HEAP_TYPE:
        return False
    return kind.__module__.partition(".")[0] not in sys.stdlib_module_names


def _attribute(chain: list[Any]) -> str:
    """The first hop from the owner: its attribute, through its ``__dict__`` if the chain
    passes there (Python makes one once anything has asked for it)."""
    owner, held = chain[0], chain[1]
    attributes = _attributes(owner)
    if attributes is not None and held is attributes and len(chain) > 2:
        for name, value in list(attributes.items()):
            if value is chain[2]:
                return f".{name}"
    return _edge(owner, held)


def _attributes(obj: Any) -> dict[str, Any] | None:
    """``obj``'s instance dictionary, if it has one to read."""
    try:
        attributes = getattr(obj, "__dict__", None)
    except Exception:  # a proxy may raise anything: then it has none to read
        return None
    return attributes if isinstance(attributes, dict) else None


def _type_name(obj: Any) -> str:
    kind = type(obj)
    name = f"{kind.__module__}.{kind.__qualname__}"
    if hasattr(obj, "__name__") and isinstance(obj.__name__, str):
        name += f" {obj.__name__!r}"
    elif isinstance(obj, dict | list | set | tuple):
        name += f" (len {len(obj)})"
    return name


def _edge(parent: Any, child: Any) -> str:
    """How ``parent`` refers to ``child``: a dict key, an attribute, an index, or a reference."""
    if isinstance(parent, dict):
        for key, value in parent.items():
            if value is child:
                return f"[{key!r:.60}]"
            if key is child:
                return "(key)"
    if isinstance(parent, list | tuple):
        for i, value in enumerate(parent):
            if value is child:
                return f"[{i}]"
    for name, value in list((_attributes(parent) or {}).items()):
        if value is child:
            return f".{name}"
    for name in dir(type(parent)):
        if name.startswith("__"):
            continue
        try:
            if getattr(parent, name, None) is child:
                return f".{name}"
        except Exception:  # noqa: S112 - properties may raise; any edge label will do
            continue
    return "ref" if child in gc.get_referents(parent) else "?"


def object_endpoints(objects: ObjectsView) -> list[Endpoint]:
    """``/debug/objects``: objgraph's counts by type, growth, and the chain that keeps one."""

    async def most_common(request: Request) -> Response:
        limit = int_param(request, "limit", 20, 1, 1000)
        return JSONResponse({"most_common": await asyncio.to_thread(objects.most_common, limit)})

    async def growth(request: Request) -> Response:
        limit = int_param(request, "limit", 20, 1, 1000)
        return JSONResponse({"growth": await asyncio.to_thread(objects.growth, limit)})

    async def backrefs(request: Request) -> Response:
        type_name = request.query_params.get("type")
        if not type_name or len(type_name) > 200:
            raise BadParam("type is required (a type name as /debug/objects lists it)")
        depth = int_param(request, "max_depth", 20, 1, 50)
        fmt = choice_param(request, "format", ["text", "png"])
        chain = await asyncio.to_thread(objects.backref_chain, type_name, depth)
        if chain is None:
            return error(404, "not_found", f"no live object of type {type_name!r}")
        if fmt == "png":
            image = await asyncio.to_thread(objects.chain_png, chain)
            if image is None:
                return error(501, "no_graphviz", "graphviz 'dot' is not installed; use format=text")
            return Response(image, media_type="image/png")
        body: dict[str, Any] = {"type": type_name, "chain": objects.describe_chain(chain)}
        note = objects.frozen_note(chain)
        if note:
            body["note"] = note
        return JSONResponse(body)

    async def owners(request: Request) -> Response:
        type_name = request.query_params.get("type")
        if not type_name or len(type_name) > 200:
            raise BadParam("type is required (a type name as /debug/objects lists it)")
        # Each chain runs a full collection and scans the heap (objgraph): a few will do.
        sample = int_param(request, "sample", 10, 1, 100)
        depth = int_param(request, "max_depth", 6, 1, 20)
        rows = await asyncio.to_thread(objects.owners, type_name, sample, depth)
        if rows is None:
            return error(404, "not_found", f"no live object of type {type_name!r}")
        return JSONResponse({"type": type_name, "sample": sample, "owners": rows})

    return [
        Endpoint("/debug/objects", ("GET",), "most common object types (objgraph)", "limit",
                 most_common, expensive=True),
        Endpoint("/debug/objects/owners", ("GET",), "the objects that keep a type's instances",
                 "type, sample, max_depth", owners, expensive=True),
        Endpoint("/debug/objects/growth", ("GET",), "types that grew since the last call", "limit",
                 growth, expensive=True),
        Endpoint("/debug/objects/backrefs", ("GET",), "what keeps an object of a type alive",
                 "type, max_depth, format=text|png", backrefs, expensive=True),
    ]  # fmt: skip
