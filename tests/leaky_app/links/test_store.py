from pathlib import Path

import pytest

from leaky_app.links.store import ClickBatch, CodeTaken, Link, LinkStore, StoreUnavailable
from leaky_app.outbox import Outbox


async def test_insert_get_delete(tmp_path: Path) -> None:
    store = await LinkStore.open(tmp_path / "s.db")
    try:
        link = Link.new("abc1234", "https://example.org", ttl_seconds=60, now=1000.0)
        await store.insert(link)
        got = await store.get("abc1234")
        assert got == link
        assert got is not None and got.expires_at == 1060.0
        assert await store.delete("abc1234") is True
        assert await store.get("abc1234") is None
        assert await store.delete("abc1234") is False
    finally:
        await store.close()


async def test_duplicate_code_is_refused_and_original_kept(tmp_path: Path) -> None:
    store = await LinkStore.open(tmp_path / "s.db")
    try:
        await store.insert(Link.new("dup", "https://first.example", None))
        with pytest.raises(CodeTaken):
            await store.insert(Link.new("dup", "https://second.example", None))
        got = await store.get("dup")
        assert got is not None and got.url == "https://first.example"
    finally:
        await store.close()


async def test_add_clicks_accumulates(tmp_path: Path) -> None:
    store = await LinkStore.open(tmp_path / "s.db")
    try:
        await store.insert(Link.new("c1", "https://example.org", None))
        await store.add_clicks({"c1": ClickBatch(3, 50.0)})
        await store.add_clicks({"c1": ClickBatch(2, 40.0), "missing": ClickBatch(1, 1.0)})
        got = await store.get("c1")
        assert got is not None
        assert (got.clicks, got.last_click_at) == (5, 50.0)
    finally:
        await store.close()


async def test_wal_mode_and_data_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = await LinkStore.open(path)
    await store.insert(Link.new("keep", "https://example.org", None))
    await store.close()
    reopened = await LinkStore.open(path)
    try:
        assert await reopened.get("keep") is not None
        assert (tmp_path / "s.db-wal").exists() or path.stat().st_size > 0
    finally:
        await reopened.close()


async def test_ping_reports_missing_file_and_closed_connection(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = await LinkStore.open(path)
    await store.ping()
    path.unlink()
    with pytest.raises(StoreUnavailable, match="missing"):
        await store.ping()
    await store.close()
    path.touch()
    with pytest.raises(StoreUnavailable, match="query failed"):
        await store.ping()


async def test_an_owned_link_and_its_notice_commit_together(tmp_path: Path) -> None:
    store = await LinkStore.open(tmp_path / "s.db")
    outbox = Outbox(store.db)
    try:
        await store.insert(Link.new("own", "https://e.org", None, owner_email="o@example.org"))
        await store.insert(Link.new("anon", "https://e.org", None))  # no owner, no notice
        with pytest.raises(CodeTaken):  # the refused insert stages nothing either
            await store.insert(Link.new("own", "https://x.org", None, owner_email="x@e.org"))
        rows = await outbox.pending(limit=10)
        assert [(r.kind, r.recipient, r.payload["code"]) for r in rows] == [
            ("link_created", "o@example.org", "own")
        ]
    finally:
        await store.close()


async def test_click_milestones_are_staged_once_as_counts_cross_them(tmp_path: Path) -> None:
    store = await LinkStore.open(tmp_path / "s.db")
    outbox = Outbox(store.db)
    try:
        await store.insert(Link.new("m", "https://e.org", None, owner_email="o@example.org"))
        await store.insert(Link.new("anon", "https://e.org", None))
        assert await store.add_clicks({"m": ClickBatch(9, 1.0), "anon": ClickBatch(50, 1.0)}) == 0
        assert await store.add_clicks({"m": ClickBatch(95, 2.0)}) == 2  # 9 -> 104: 10 and 100
        assert await store.add_clicks({"m": ClickBatch(1, 3.0)}) == 0
        rows = await outbox.pending(limit=10)
        milestones = [r.payload["clicks"] for r in rows if r.kind == "click_milestone"]
        assert milestones == [10, 100]
    finally:
        await store.close()
