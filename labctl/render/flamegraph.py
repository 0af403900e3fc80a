"""A flamegraph SVG from :class:`labctl.records.call_stacks.Stacks`.

Written here because py-spy writes one format per recording (we record speedscope JSON for
the table and for speedscope.app) and no maintained collapsed-stacks-to-SVG converter is
packaged on PyPI or Debian; Brendan Gregg's layout is simple enough: one row per depth,
width proportional to samples, hover text with the share.
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


def render_svg(stacks: Stacks, title: str) -> str:
    root = _tree(stacks)
    total = max(root.count, 1)
    rects: list[str] = []
    depth_max = 0

    def walk(node: _Node, x: float, depth: int) -> None:
        nonlocal depth_max
        for child in sorted(
            node.children.values(), key=lambda n: n.frame.function if n.frame else ""
        ):
            width = WIDTH * child.count / total
            if width >= MIN_WIDTH_PX and child.frame is not None:
                depth_max = max(depth_max, depth)
                label = html.escape(f"{child.frame.function} ({child.frame.file})")
                share = 100 * child.count / total
                text = html.escape(child.frame.function[: max(0, int(width / 7) - 1)])
                rects.append(
                    f"<g><title>{label}: {child.count} samples, {share:.1f}%</title>"
                    f'<rect x="{x:.1f}" y="{{y{depth}}}" width="{width:.1f}" height="{ROW - 1}" '
                    f'fill="{_color(child.frame)}"/>'
                    f'<text x="{x + 3:.1f}" y="{{t{depth}}}">{text}</text></g>'
                )
                walk(child, x, depth + 1)
            x += width

    walk(root, 0.0, 0)
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
