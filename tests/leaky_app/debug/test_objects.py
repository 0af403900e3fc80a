"""``/debug/objects``: growth names the type, backrefs the chain that keeps it."""

import gc

from tests.leaky_app.debug.conftest import DebugHandle


class Widget:
    def __init__(self) -> None:
        self.payload = [0] * 4


widget_registry: dict[int, Widget] = {}


async def test_objects_growth_and_backrefs_name_the_type(debug: DebugHandle) -> None:
    await debug.client.get("/debug/objects/growth?limit=50")  # baseline
    for i in range(5000):
        widget_registry[i] = Widget()
    try:
        growth = (await debug.client.get("/debug/objects/growth?limit=50")).json()["growth"]
        row = next(r for r in growth if r["type"].endswith("Widget"))
        assert row["delta"] >= 5000
        common = (await debug.client.get("/debug/objects?limit=100")).json()["most_common"]
        assert any(r["type"].endswith("Widget") for r in common)
        backrefs = f"/debug/objects/backrefs?type={row['type']}&max_depth=10"
        body = (await debug.client.get(backrefs)).json()
        chain = body["chain"]
        assert chain[0].startswith("builtins.module")
        assert any("widget_registry" in hop for hop in chain)
        assert chain[-1].endswith("Widget")
        assert "note" not in body
        missing = await debug.client.get("/debug/objects/backrefs?type=NoSuchType")
        assert missing.status_code == 404
        # The registry frozen (as the service's start-up freeze does), widgets added after:
        # gc.get_referrers no longer sees who holds them, and the answer says so.
        widget_registry.clear()
        gc.freeze()
        try:
            for i in range(100):
                widget_registry[i] = Widget()
            frozen = (await debug.client.get(backrefs)).json()
        finally:
            gc.unfreeze()
        assert not frozen["chain"][0].startswith("builtins.module")
        assert "gc/unfreeze" in frozen["note"]
    finally:
        widget_registry.clear()


class Shelf:
    def __init__(self) -> None:
        self.by_name: dict[str, Widget] = {}


async def test_owners_name_the_class_and_attribute_that_hold_a_types_objects(
    debug: DebugHandle,
) -> None:
    shelf = Shelf()
    shelf.by_name.update((f"w{i}", Widget()) for i in range(30))
    type_name = f"{Widget.__module__}.Widget"
    try:
        owners = f"/debug/objects/owners?type={type_name}&sample=30"
        body = (await debug.client.get(owners)).json()
        top = body["owners"][0]
        assert top["owner"].endswith(".Shelf") and top["via"] == ".by_name"
        assert top["count"] == 30
    finally:
        shelf.by_name.clear()
    for bad in (
        "",
        "type=" + "x" * 201,
        f"type={type_name}&sample=0",
        f"type={type_name}&sample=101",
    ):
        refused = await debug.client.get(f"/debug/objects/owners?{bad}")
        assert refused.status_code == 400 and refused.json()["message"]
    missing = await debug.client.get("/debug/objects/owners?type=NoSuchType")
    assert missing.status_code == 404 and "NoSuchType" in missing.json()["message"]
