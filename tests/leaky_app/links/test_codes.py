import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leaky_app.links.codes import (
    ALIAS_SCHEMA,
    BASE62_ALPHABET,
    CODE_LENGTH,
    RESERVED,
    check_alias,
    decode_base62,
    encode_base62,
    new_code,
)


@pytest.mark.parametrize("number", [0, 1, 61, 62, 3843, 62**7 - 1, 2**63])
def test_base62_round_trips(number: int) -> None:
    assert decode_base62(encode_base62(number)) == number


def test_base62_known_values() -> None:
    assert encode_base62(0) == "0"
    assert encode_base62(61) == "z"
    assert encode_base62(62) == "10"


def test_base62_refuses_negative_and_foreign_digits() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        encode_base62(-1)
    with pytest.raises(ValueError, match="not a base62 digit"):
        decode_base62("ab-c")


def test_new_codes_are_fixed_length_base62_and_distinct() -> None:
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == CODE_LENGTH and set(c) <= set(BASE62_ALPHABET) for c in codes)


@pytest.mark.parametrize("alias", ["abc", "my-link", "Promo_2026", "a" * 32])
def test_good_aliases(alias: str) -> None:
    assert check_alias(alias) == alias


@pytest.mark.parametrize(
    ("alias", "reason"),
    [
        ("ab", "3-32"),
        ("a" * 33, "3-32"),
        ("-abc", "starting"),
        ("has space", "3-32"),
        ("slash/x", "3-32"),
        ("api", "reserved"),
        ("LIVEZ", "reserved"),
        ("metrics", "reserved"),
    ],
)
def test_bad_aliases(alias: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_alias(alias)


def _spec_allows(alias: str) -> bool:
    """The OpenAPI spec's verdict: ``pattern``, and not the ``not`` schema's pattern."""
    shape = ALIAS_SCHEMA["pattern"].removeprefix("^").removesuffix("$")
    reserved = ALIAS_SCHEMA["not"]["pattern"].removeprefix("^").removesuffix("$")
    return re.fullmatch(shape, alias) is not None and re.fullmatch(reserved, alias) is None


_aliases = st.text(alphabet="abcXYZ019-_.!/ ", max_size=40) | st.sampled_from(
    sorted(RESERVED)
).flatmap(
    lambda word: st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda upper: "".join(c.upper() if u else c for c, u in zip(word, upper, strict=True))
    )
)


@given(_aliases)
def test_check_alias_accepts_exactly_what_the_spec_allows(alias: str) -> None:
    try:
        check_alias(alias)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == _spec_allows(alias)
