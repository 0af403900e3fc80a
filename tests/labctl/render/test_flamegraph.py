"""The flamegraph SVG: one box per frame, as wide as its share, well-formed whatever the names."""

from xml.etree import ElementTree

from labctl.records.call_stacks import Stacks
from labctl.records.location import Location
from labctl.render.flamegraph import render_svg

APP = "/srv/app/orders.py"


def test_each_frame_is_a_box_with_its_share() -> None:
    stacks = Stacks()
    a, b = Location("a", APP, 1), Location("b", APP, 2)
    stacks.counts[(a, b)] += 2
    stacks.counts[(a,)] += 1
    svg = render_svg(stacks, "t")
    assert svg.count("<rect") == 2
    assert "b (/srv/app/orders.py): 2 samples, 66.7%" in svg


def test_svg_stays_well_formed_when_a_label_is_cut_to_fit() -> None:
    stacks = Stacks()
    # Boxes 14 to 140 px wide: labels cut after 1 to 19 characters, through "&lt;" and "&gt;"
    # if they were escaped before being cut.
    for n in range(1, 11):
        stacks.counts[(Location(f"<lambda>.<locals>.f{n}", APP, n),)] += n
    svg = render_svg(stacks, "cut <labels> & all")
    ElementTree.fromstring(svg)  # noqa: S314 - our own output; raises on a broken entity
