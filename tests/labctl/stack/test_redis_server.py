"""Debian's redis-server on a loopback port, and a sentence when it is not installed."""

from pathlib import Path

import pytest
import redis

from labctl.contract import RunLayout
from labctl.stack.ports import free_port
from labctl.stack.redis_server import RedisMissing, command, start_redis
from tests.live import LiveRedis


def test_the_lab_redis_saves_nothing_and_listens_on_loopback(tmp_path: Path) -> None:
    cmd = command(tmp_path, 6380)
    assert cmd[cmd.index("--bind") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--save") + 1] == "" and cmd[cmd.index("--appendonly") + 1] == "no"


def test_without_redis_server_the_sentence_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no redis-server on it
    with pytest.raises(RedisMissing, match="apt-get install redis-server") as missing:
        start_redis(RunLayout(tmp_path), free_port())
    assert missing.value.exit_code == 3


@pytest.mark.integration
def test_a_started_redis_answers_at_its_url(live_redis: LiveRedis) -> None:
    with redis.Redis.from_url(live_redis.url) as client:
        assert client.ping() is True
        client.set("lab:probe", "1", px=1000)
        assert client.get("lab:probe") == b"1"
