"""A flamegraph SVG from :class:`labctl.records.call_stacks.Stacks`.

Written here because py-spy writes one format per recording (we record speedscope JSON for
the table and for speedscope.app) and no maintained collapsed-stacks-to-SVG converter is
packaged on PyPI or Debian; Brendan Gregg's layout is simple enough: one row per depth,
width proportional to samples, hover text with the share.

With a ``base``, the graph is differential (Gregg's "differential flame graphs"): the new
capture's layout, each frame coloured by how its share of samples changed against the same
stack in the base, red where it grew and blue where it shrank, each capture's share taken of
its own sample count. Frames gone from the new capture have no box: the diff table lists them.
"""

from __future__ import annotations

import html
import zlib
from dataclasses import dataclass, field

from labctl.records.call_stacks import Stacks
from labctl.records.location import Location

WIDTH = 1200
ROW = 16
MIN_WIDTH_PX = 0.5


@dataclass
class _Node:
    frame: Location | None
    count: int = 0
    children: dict[Location, _Node] = field(default_factory=dict)


def _tree(stacks: Stacks) -> _Node:
    root = _Node(None)
    for stack, count in stacks.counts.items():
        root.count += count
        node = root
        for frame in stack:
            key = frame.without_line()
            node = node.children.setdefault(key, _Node(key))
            node.count += count
    return root


def _color(frame: Location) -> str:
    # Warm colours for application code, cool for libraries; stable per function name.
    hue_seed = zlib.crc32(frame.function.encode()) % 60
    if frame.is_application:
        return f"hsl({hue_seed}, 80%, 60%)"
    return f"hsl({190 + hue_seed // 2}, 45%, 70%)"


def _change_color(delta_pct: float, largest_pct: float) -> str:
    """Red for a share that grew, blue for one that shrank, paler the smaller the change."""
    if abs(delta_pct) < 0.05:
        return "hsl(0, 0%, 88%)"
    strength = min(1.0, abs(delta_pct) / max(largest_pct, 0.05))
    hue = 0 if delta_pct > 0 else 220
    return f"hsl({hue}, {40 + 50 * strength:.0f}%, {88 - 33 * strength:.0f}%)"


def render_svg(stacks: Stacks, title: str, base: Stacks | None = None) -> str:
    """The flamegraph of ``stacks``; differential against ``base`` when one is given."""
    root = _tree(stacks)
    total = max(root.count, 1)
    base_root = _tree(base) if base is not None else None
    base_total = max(base_root.count, 1) if base_root is not None else 1
    rects: list[str] = []
    depth_max = 0
    # (frame, node, the base's node of the same stack, x, depth, width) of each box drawn
    boxes: list[tuple[Location, _Node, _Node | None, float, int, float]] = []

    def walk(node: _Node, before: _Node | None, x: float, depth: int) -> None:
        for child in sorted(
            node.children.values(), key=lambda n: n.frame.function if n.frame else ""
        ):
            width = WIDTH * child.count / total
            if width >= MIN_WIDTH_PX and child.frame is not None:
                was = before.children.get(child.frame) if before is not None else None
                boxes.append((child.frame, child, was, x, depth, width))
                walk(child, was, x, depth + 1)
            x += width

    walk(root, base_root, 0.0, 0)

    def delta_pct(node: _Node, was: _Node | None) -> float:
        return 100 * node.count / total - (100 * was.count / base_total if was else 0.0)

    largest = max((abs(delta_pct(n, w)) for _, n, w, *_ in boxes), default=0.0)
    for frame, child, was, x, depth, width in boxes:
        depth_max = max(depth_max, depth)
        label = html.escape(f"{frame.function} ({frame.file})")
        share = 100 * child.count / total
        hover = f"{label}: {child.count} samples, {share:.1f}%"
        color = _color(frame)
        if base_root is not None:
            change = delta_pct(child, was)
            hover += f", {change:+.1f} points against the base"
            color = _change_color(change, largest)
        text = html.escape(frame.function[: max(0, int(width / 7) - 1)])
        rects.append(
            f"<g><title>{hover}</title>"
            f'<rect x="{x:.1f}" y="{{y{depth}}}" width="{width:.1f}" height="{ROW - 1}" '
            f'fill="{color}"/>'
            f'<text x="{x + 3:.1f}" y="{{t{depth}}}">{text}</text></g>'
        )
    height = (depth_max + 3) * ROW
    body = "\n".join(rects)
    # Root at the bottom, as in Brendan Gregg's flamegraphs.
    for depth in range(depth_max + 1):
        y = height - (depth + 2) * ROW
        body = body.replace(f"{{y{depth}}}", str(y)).replace(f"{{t{depth}}}", str(y + ROW - 4))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="monospace" font-size="11">\n'
        f'<text x="4" y="14" font-size="13">{html.escape(title)} ({total} samples)</text>\n'
        f"{body}\n</svg>\n"
    )
