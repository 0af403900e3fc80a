import pytest

from leaky_app.links.urls import check_target_url


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org",
        "http://example.org/a/b?q=1#frag",
        "HTTPS://EXAMPLE.ORG/",
        "https://[2001:db8::1]:8443/x",
        "http://127.0.0.1:8080/",
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
        ("https://example.org/" + "a" * 2048, "longer than 2048"),
    ],
)
def test_refused_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_target_url(url)
