"""What a target URL must look like before we store it.

Written by hand rather than with pydantic's ``HttpUrl`` because that type accepts
``user:pass@`` credentials and rewrites the URL (adds a trailing slash, punycodes the host);
a shortener must store and redirect to exactly what it was given.

The rule is one regular expression, :data:`URL_PATTERN`, which the OpenAPI spec publishes
(``url_schema``), so a client generated from the spec accepts what the service accepts and
nothing else: http or https, a host of RFC 3986 registered-name characters (an IDN as its
punycode; no IP-literal in brackets), an optional port up to 65535 with no leading zero, then
anything without whitespace or control characters. The checks before it only say why a URL
fails it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})
_PORT = (  # 0-65535, no leading zero
    r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]|0)"
)
URL_PATTERN = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://"
    r"[A-Za-z0-9._~%!$&'()*+,;=-]+"  # the host (reg-name); no "@": no credentials
    rf"(?::{_PORT})?"
    r"(?:[/?#][^\x00-\x20\x7f]*)?$"
)
_URL = re.compile(URL_PATTERN)


def url_schema(max_length: int) -> dict[str, Any]:
    """The JSON Schema keywords of a target URL, for the OpenAPI spec."""
    return {"pattern": URL_PATTERN, "maxLength": max_length, "minLength": 1}


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
    if not _URL.fullmatch(url):
        raise ValueError(
            "url must be http(s)://host[:port][/path]: a host of letters, digits and"
            " -._~%!$&'()*+,;= (an international name as its punycode), a port of 0-65535"
        )
    return url
