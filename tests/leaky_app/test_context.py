import pytest

from leaky_app.context import accept_or_generate


def test_safe_incoming_id_is_kept() -> None:
    assert accept_or_generate("req-123.abc:9") == "req-123.abc:9"


@pytest.mark.parametrize(
    "bad", [None, "", "has space", "line\nbreak", "x" * 129, '{"json":1}', "é"]
)
def test_unsafe_or_missing_id_is_replaced(bad: str | None) -> None:
    minted = accept_or_generate(bad)
    assert minted != bad
    assert len(minted) == 32
    assert set(minted) <= set("0123456789abcdef")
