"""A management key: random, kept as a hash, and the only way to change its link."""

from __future__ import annotations

import pytest

from leaky_app.links.ownership import KeyRequired, WrongKey, bearer, check_key, hash_key, new_key


def test_a_key_checks_against_its_own_digest_only() -> None:
    key, digest = new_key()
    other, _ = new_key()
    assert key != other and len(key) >= 32 and digest == hash_key(key) and key not in digest
    check_key(key, digest)
    with pytest.raises(WrongKey, match="not this link's"):
        check_key(other, digest)
    with pytest.raises(KeyRequired, match="Authorization: Bearer"):
        check_key(None, digest)
    with pytest.raises(WrongKey, match="before management keys"):
        check_key(key, None)


@pytest.mark.parametrize(
    ("header", "key"),
    [("Bearer abc", "abc"), ("bearer abc ", "abc"), ("Basic abc", None), ("Bearer ", None),
     (None, None), ("abc", None)],
)  # fmt: skip
def test_the_key_is_read_from_a_bearer_header_only(header: str | None, key: str | None) -> None:
    assert bearer(header) == key
