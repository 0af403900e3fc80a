"""Fault hooks: every fault of the catalogue reaches its component, capped by the settings,
and switching it off releases what it held."""

import asyncio
from pathlib import Path

from prometheus_client import CollectorRegistry

from leaky_app import fault_hooks
from leaky_app.faults import BY_ID, Switchboard
from leaky_app.links.click_stream import ClickStream
from leaky_app.links.service import ClickFeatures
from leaky_app.metrics import NotifyMetrics, WebsocketMetrics
from leaky_app.notify.mailer import Mailer, MailerConfig
from tests.conftest import make_settings


def test_every_fault_has_a_hook_and_nothing_else_does(tmp_path: Path) -> None:
    mailer = Mailer(MailerConfig(), NotifyMetrics.create(CollectorRegistry()))
    stream = ClickStream(10, 4, WebsocketMetrics.create(CollectorRegistry()))
    settings = make_settings(tmp_path)
    connected = fault_hooks.connect(Switchboard(), ClickFeatures(), mailer, settings, stream)
    assert connected == set(BY_ID)


async def test_a_fault_switched_on_and_off_leaves_nothing_held(tmp_path: Path) -> None:
    mailer = Mailer(MailerConfig(), NotifyMetrics.create(CollectorRegistry()))
    stream = ClickStream(10, 4, WebsocketMetrics.create(CollectorRegistry()))
    settings = make_settings(tmp_path, fault_max_tasks=40)
    features, board = ClickFeatures(), Switchboard()
    fault_hooks.connect(board, features, mailer, settings, stream)
    before = len(asyncio.all_tasks())
    board.apply({"task_leak": "10x"})
    for n in range(50):
        features.events.publish("abc", float(n))
    features.activity.fold(features.events.take())
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) - before == 40  # the settings' cap, not 49
    board.apply({})
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) == before
