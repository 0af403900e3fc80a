"""Short codes: random base62 strings, and the rules for caller-chosen aliases."""

from __future__ import annotations

import re
import secrets
from typing import Any

BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CODE_LENGTH = 7  # 62**7 = 3.5e12 codes: collisions stay rare for billions of links
ALIAS_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{2,31}")
# Paths the service owns at the top level; an alias must never shadow them.
RESERVED = frozenset(
    {"api", "livez", "readyz", "metrics", "docs", "redoc", "openapi.json", "ws", "debug",
     "admin", "static", "favicon.ico", "robots.txt"}
)  # fmt: skip


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


# The same rule as JSON Schema keywords, for the OpenAPI spec: a client generated from it
# sends only aliases that check_alias accepts. "not" holds the reserved words in any case.
ALIAS_SCHEMA: dict[str, Any] = {
    "pattern": f"^{ALIAS_PATTERN.pattern}$",
    "not": {
        "type": "string",
        "pattern": "^(?:" + "|".join(_any_case(w) for w in sorted(RESERVED)) + ")$",
    },
}


def encode_base62(number: int) -> str:
    """Base62 of a non-negative integer: ``encode_base62(61) == "z"``."""
    if number < 0:
        raise ValueError("base62 encodes non-negative integers")
    digits = []
    while True:
        number, rest = divmod(number, 62)
        digits.append(BASE62_ALPHABET[rest])
        if number == 0:
            return "".join(reversed(digits))


def decode_base62(text: str) -> int:
    number = 0
    for char in text:
        index = BASE62_ALPHABET.find(char)
        if index < 0:
            raise ValueError(f"not a base62 digit: {char!r}")
        number = number * 62 + index
    return number


def new_code(length: int = CODE_LENGTH) -> str:
    """A random code, unguessable so links cannot be enumerated."""
    return encode_base62(secrets.randbelow(62**length)).rjust(length, "0")


def check_alias(alias: str) -> str:
    """Return the alias if acceptable, else raise ValueError saying why."""
    if not ALIAS_PATTERN.fullmatch(alias):
        raise ValueError(
            "alias must be 3-32 characters of letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    if alias.lower() in RESERVED:
        raise ValueError(f"alias {alias!r} is reserved")
    return alias
