"""What a user's scripts rely on, recorded: every command, flag and JSON shape of ``labctl``.

Two golden files beside this module hold what a release promised:

* ``cli_surface.json``: every command path with its help and every parameter (names, type,
  default, range, help), read from the click tree that typer builds;
* ``json_shapes.json``: the shape of what each ``--json`` command printed in the suite's real
  runs (keys, and the kind of each value), merged over every run that printed it.

Tests compare against them; ``LABCTL_RECORD_SURFACE=1`` rewrites them instead (done once on
the code whose surface is the promise, and reviewed in the diff).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer

from labctl.cli import app

HERE = Path(__file__).parent
SURFACE_FILE = HERE / "cli_surface.json"
SHAPES_FILE = HERE / "json_shapes.json"
RECORDING = os.environ.get("LABCTL_RECORD_SURFACE") == "1"

# Fields whose keys are data (process names, bucket bounds, artefact names), not a schema.
MAPPINGS = frozenset({"artefacts", "buckets", "allocator", "urls", "cache_entries", "*"})

Shape = dict[str, Any]


# typer builds its tree on a click of its own (``typer._click``): read it by duck typing.
def _param(param: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": param.name,
        "kind": type(param).__name__,
        "opts": list(param.opts),
        "secondary_opts": list(param.secondary_opts),
        "type": str(param.type_descriptor.annotation),
        "required": param.required,
        "default": None if callable(param.default) else _plain(param.default),
        "multiple": param.multiple,
        "nargs": param.nargs,
        "envvar": param.envvar,
    }
    record["help"] = getattr(param, "help", None)
    if hasattr(param, "is_flag"):
        record["is_flag"] = param.is_flag
    if hasattr(param, "min"):
        record["min"], record["max"] = param.min, param.max
    return record


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def surface(app: typer.Typer) -> dict[str, Any]:
    """``{"labctl fault on": {"help": ..., "params": [...]}, ...}`` for every command."""
    root = typer.main.get_command(app)
    found: dict[str, Any] = {}

    def walk(command: Any, path: str) -> None:
        found[path] = {
            "help": command.help,
            "params": [_param(p) for p in command.params],
            "no_args_is_help": getattr(command, "no_args_is_help", False),
        }
        if hasattr(command, "commands"):
            for name, sub in sorted(command.commands.items()):
                walk(sub, f"{path} {name}")

    walk(root, "labctl")
    return found


def shape_of(value: Any, field: str = "") -> Shape:
    """The kind of a JSON value, recursively: keys of objects, the shape of list items."""
    if value is None:
        return {"types": ["null"]}
    if isinstance(value, bool):
        return {"types": ["bool"]}
    if isinstance(value, int | float):
        return {"types": ["number"]}
    if isinstance(value, str):
        return {"types": ["str"]}
    if isinstance(value, list):
        items: Shape | None = None
        for item in value:
            items = merge(items, shape_of(item, field))
        return {"types": ["list"], **({"items": items} if items else {})}
    if isinstance(value, dict):
        if field in MAPPINGS:
            values: Shape | None = None
            for item in value.values():
                values = merge(values, shape_of(item))
            return {"types": ["map"], **({"values": values} if values else {})}
        keys = {k: shape_of(v, k) for k, v in value.items()}
        return {"types": ["object"], "keys": keys, "required": sorted(keys)}
    raise TypeError(f"not JSON: {value!r}")


def merge(a: Shape | None, b: Shape) -> Shape:
    """Both shapes at once: a key seen in only one is optional; kinds are unions."""
    if a is None:
        return b
    out: Shape = {"types": sorted(set(a["types"]) | set(b["types"]))}
    for part in ("items", "values"):
        if part in a or part in b:
            out[part] = merge(a.get(part), b[part]) if part in b else a[part]
    if "keys" in a or "keys" in b:
        ka: dict[str, Shape] = a.get("keys", {})
        kb: dict[str, Shape] = b.get("keys", {})
        out["keys"] = {k: merge(ka.get(k), kb[k]) if k in kb else ka[k] for k in {*ka, *kb}}
        req_a = set(a["required"]) if "keys" in a else set(kb)
        req_b = set(b["required"]) if "keys" in b else set(ka)
        out["required"] = sorted(req_a & req_b)
    return out


def differences(golden: Shape, seen: Shape, where: str = "$") -> list[str]:
    """What in ``seen`` breaks the promise of ``golden``: a kind never printed before, a
    required key gone, a key never printed before. ``null`` is always allowed (a figure a
    window had no data for) and an empty list or map says nothing about its items."""
    problems = []
    new_types = set(seen["types"]) - set(golden["types"]) - {"null"}
    if new_types:
        problems.append(f"{where}: {sorted(new_types)} where it was {golden['types']}")
    if "keys" in seen and "keys" in golden:
        keys, gkeys = seen["keys"], golden["keys"]
        problems += [f"{where}.{k}: missing" for k in golden["required"] if k not in keys]
        problems += [f"{where}.{k}: new key" for k in keys if k not in gkeys]
        for k in keys:
            if k in gkeys:
                problems += differences(gkeys[k], keys[k], f"{where}.{k}")
    for part in ("items", "values"):
        if part in seen and part in golden:
            problems += differences(golden[part], seen[part], f"{where}[]")
    return problems


def _read(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def check_json(command: str, body: Any, *, keyed_by_data: bool = False) -> None:
    """Assert that ``body``, printed by ``labctl COMMAND --json``, keeps its recorded shape
    (or, when recording, add it to the record). ``keyed_by_data``: the top level's keys are
    data (``status`` is keyed by process name)."""
    seen = shape_of(body, "*" if keyed_by_data else "")
    shapes = _read(SHAPES_FILE)
    if RECORDING:
        shapes[command] = merge(shapes.get(command), seen)
        _write(SHAPES_FILE, shapes)
        return
    assert command in shapes, f"no recorded JSON shape for `labctl {command}`"
    problems = differences(shapes[command], seen)
    assert problems == [], f"`labctl {command} --json` changed shape: {problems}"


def command_of(args: list[str]) -> str:
    """``["profile", "gc", "--seconds", "2"]`` -> ``"profile gc"``: the command's path, the
    words that name commands in labctl's tree (an argument such as a path ends it)."""
    command: Any = typer.main.get_command(app)
    words = []
    for arg in args:
        commands = getattr(command, "commands", None)
        if not commands or arg not in commands:
            break
        words.append(arg)
        command = commands[arg]
    return " ".join(words)


def record_surface(app: typer.Typer) -> None:
    _write(SURFACE_FILE, surface(app))


def recorded_surface() -> dict[str, Any]:
    return _read(SURFACE_FILE)
