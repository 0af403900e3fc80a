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


def test_a_differential_graph_is_red_where_a_share_grew_and_blue_where_it_shrank() -> None:
    main, parse, render = (Location(n, APP, i) for i, n in enumerate(("main", "parse", "render")))
    base, new = Stacks(), Stacks()
    base.counts[(main, parse)] += 80  # 100 samples: parse 80 %, render 20 %
    base.counts[(main, render)] += 20
    new.counts[(main, parse)] += 200  # 1000 samples: parse 20 %, render 80 %
    new.counts[(main, render)] += 800
    tree = ElementTree.fromstring(render_svg(new, "diff", base=base))  # noqa: S314
    ns = "{http://www.w3.org/2000/svg}"
    fill = {
        str(g.findtext(f"{ns}title")).split(" ")[0]: str(g.find(f"{ns}rect").get("fill"))  # type: ignore[union-attr]
        for g in tree.iter(f"{ns}g")
    }
    assert fill["render"].startswith("hsl(0,"), fill  # grew from 20 % to 80 % of samples
    assert fill["parse"].startswith("hsl(220,"), fill  # shrank from 80 % to 20 %
    assert fill["main"] == "hsl(0, 0%, 88%)", fill  # 100 % in both: unchanged, by share
    hover = [t.text for t in tree.iter(f"{ns}title")]
    assert "render (/srv/app/orders.py): 800 samples, 80.0%, +60.0 points against the base" in hover
