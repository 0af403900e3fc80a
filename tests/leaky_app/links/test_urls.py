"""The target URL rule: verbatim when accepted, a reason when refused, and exactly the rule
the OpenAPI spec publishes (``URL_PATTERN``), checked as a property."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leaky_app.links.urls import URL_PATTERN, check_target_url, url_schema


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org",
        "http://example.org/a/b?q=1#frag",
        "HTTPS://EXAMPLE.ORG/",
        "http://127.0.0.1:8080/",
        "https://xn--bcher-kva.example/",
    ],
)
def test_accepted_urls_are_stored_verbatim(url: str) -> None:
    assert check_target_url(url) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/file", "http or https"),
        ("javascript:alert(1)", "http or https"),
        ("example.org", "http or https"),
        ("https://", "host"),
        ("https://user:pw@example.org/", "credentials"),
        ("https://user@example.org/", "credentials"),
        ("https://example.org/a\r\nSet-Cookie: x=1", "control"),
        ("https://example.org/\x00", "control"),
        ("https://example.org/a b", "whitespace"),
        ("https://example.org:99999/", "port"),
        ("https://example.org:080/", "a port of 0-65535"),
        ("https://[2001:db8::1]:8443/x", "http\\(s\\)://host"),  # no IP-literal: see URL_PATTERN
        ("https://bücher.example/", "punycode"),
        ("https://example.org/" + "a" * 2048, "longer than 2048"),
    ],
)
def test_refused_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_target_url(url)


LIMIT = url_schema(2048)["maxLength"]


def _spec_allows(url: str) -> bool:
    # JSON Schema patterns are ECMA-262, where "$" ends the string; Python's fullmatch is that.
    return (
        len(url) <= LIMIT
        and re.fullmatch(URL_PATTERN.removeprefix("^").removesuffix("$"), url) is not None
    )


@given(st.from_regex(URL_PATTERN.removeprefix("^").removesuffix("$"), fullmatch=True))
def test_every_url_the_spec_allows_is_accepted_verbatim(url: str) -> None:
    if len(url) <= LIMIT:
        assert check_target_url(url) == url


_near_urls = st.builds(
    lambda scheme, rest: scheme + rest,
    st.sampled_from(["http://", "https://", "HTTPS://", "ftp://", "https:/", ""]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
    | st.from_regex(r"[a-z0-9.:@\[\]%/?#-]{0,30}", fullmatch=True),
)


@given(_near_urls)
def test_the_validator_accepts_exactly_what_the_spec_allows(url: str) -> None:
    try:
        check_target_url(url)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == _spec_allows(url)
