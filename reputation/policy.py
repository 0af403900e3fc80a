"""Who may call what: the parties of the reputation service and the methods each needs.

The lab's PKI (``labctl/stack/pki.py``) issues a certificate and a token to each caller named
here; the server's interceptor lets a caller use only its own methods, and only with a token
whose subject is the certificate's own name.
"""

from __future__ import annotations

SERVER_NAME = "reputation"  # the server certificate's DNS name, which every client checks
AUDIENCE = "reputation"  # the tokens' "aud"
ISSUER = "labctl"  # the tokens' "iss"
SERVICE = "lab.reputation.v1.Reputation"

# Caller -> the methods it may call. The patient checks URLs and hosts; only an operator's
# tool changes the blocklist.
ALLOWED: dict[str, frozenset[str]] = {
    "leaky-app": frozenset({"CheckUrl", "CheckHost"}),
    "labctl": frozenset({"CheckUrl", "CheckHost", "BlockHost"}),
}
CALLERS = tuple(ALLOWED)
