"""``/debug/profile``: the in-process sampler names the hot function."""

import threading

from tests.leaky_app.debug.conftest import DebugHandle


def checksum_catalogue(stop: threading.Event) -> None:
    """Busy CPU work in a named function, for the sampler to find."""
    total = 0
    while not stop.is_set():
        for i in range(10_000):
            total = (total * 31 + i) % 1_000_003


async def test_profile_finds_the_hot_function(debug: DebugHandle) -> None:
    stop = threading.Event()
    worker = threading.Thread(target=checksum_catalogue, args=(stop,), name="busy")
    worker.start()
    try:
        body = (await debug.client.get("/debug/profile?seconds=1&hz=200")).json()
        speedscope = (await debug.client.get("/debug/profile?seconds=0.5&format=speedscope")).json()
    finally:
        stop.set()
        worker.join()
    top = body["top"][0]
    assert top["function"] == "checksum_catalogue"
    assert top["self_pct"] > 50
    assert "checksum_catalogue" in body["collapsed"]
    assert body["samples"] > 50
    frames = speedscope["shared"]["frames"]
    profile = speedscope["profiles"][0]
    assert profile["type"] == "sampled"
    assert len(profile["samples"]) == len(profile["weights"])
    assert any(f["name"] == "checksum_catalogue" for f in frames)
    assert all(i < len(frames) for s in profile["samples"] for i in s)
