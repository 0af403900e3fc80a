"""What a target URL must look like before we store it.

Written by hand rather than with pydantic's ``HttpUrl`` because that type accepts
``user:pass@`` credentials and rewrites the URL (adds a trailing slash, punycodes the host);
a shortener must store and redirect to exactly what it was given.
"""

from __future__ import annotations

from urllib.parse import urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})


def check_target_url(url: str, max_length: int = 2048) -> str:
    """Return ``url`` unchanged if it is safe to redirect to, else raise ValueError."""
    if len(url) > max_length:
        raise ValueError(f"url is longer than {max_length} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise ValueError("url contains whitespace or control characters (CR, LF, tab, ...)")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise ValueError("url must use http or https")
    if "@" in parts.netloc:
        raise ValueError("url must not contain credentials (user:password@)")
    if not parts.hostname:
        raise ValueError("url must name a host")
    try:
        parts.port  # noqa: B018 - urllib validates the port lazily, on access
    except ValueError as exc:
        raise ValueError("url has an invalid port") from exc
    return url
