import re

import pytest

from leaky_app.context import accept_or_generate

MINTED = re.compile(r"[0-9a-f]{12}-[1-9][0-9]*")  # this process's prefix, then its sequence


def test_safe_incoming_id_is_kept() -> None:
    assert accept_or_generate(b"req-123.abc:9") == "req-123.abc:9"


@pytest.mark.parametrize(
    "bad",
    [None, b"", b"has space", b"line\nbreak", b"x" * 129, b'{"json":1}', "é".encode("latin-1")],
)
def test_unsafe_or_missing_id_is_replaced(bad: bytes | None) -> None:
    minted = accept_or_generate(bad)
    assert bad is None or minted != bad.decode("latin-1")
    assert MINTED.fullmatch(minted), minted


def test_minted_ids_are_unique_and_share_the_process_prefix() -> None:
    minted = {accept_or_generate(None) for _ in range(1000)}
    assert len(minted) == 1000
    assert len({m.split("-")[0] for m in minted}) == 1
