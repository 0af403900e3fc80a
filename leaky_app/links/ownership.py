"""A link's management key: returned once when the link is made, kept only as a hash, and
needed to delete the link (or to change it, should a route ever allow that).

The key is 192 random bits, so a plain SHA-256 of it is as strong as a slow password hash
would be (nobody can guess the input), and checking it costs a request nothing.

Usage::

    key, digest = new_key()         # the key goes to the creator, the digest to the store
    check_key(given, digest)        # raises KeyRequired (401) or WrongKey (403)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


class KeyRequired(Exception):
    """No management key came with a request that changes a link (401)."""


class WrongKey(Exception):
    """The key is not this link's (403)."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    key = secrets.token_urlsafe(24)
    return key, hash_key(key)


def check_key(given: str | None, digest: str | None) -> None:
    if not given:
        raise KeyRequired(
            "this needs the link's management key (returned when it was created): "
            "send 'Authorization: Bearer <key>'"
        )
    if digest is None:
        raise WrongKey("this link was made before management keys existed; only its key opens this")
    if not hmac.compare_digest(hash_key(given), digest):
        raise WrongKey("that is not this link's management key")


def bearer(authorization: str | None) -> str | None:
    """The key from an ``Authorization: Bearer <key>`` header value."""
    if authorization is None:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
