"""A drill's faults, sealed in the flags file so that the file does not name them.

In a drill the flags file holds ``"drill": true`` and ``"sealed_faults"``: the faults as a
Fernet token (AES-128-CBC with an HMAC, from the ``cryptography`` package) whose key is derived
from the operator's token. The service opens it when it loads the file; a trainee who reads
``run/flags.json`` sees that a drill runs, not which fault. The operator's token is kept
across restarts, so a restarted service opens the drill it was running.

Usage::

    seal = DrillSeal(operator_token)
    text = seal.seal({"cpu_hotloop": "10x"})
    seal.opened(config)          # the RuntimeConfig with its sealed faults in ``faults``
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken

from leaky_app.faults import check_faults
from leaky_app.settings import ConfigError, RuntimeConfig

_CONTEXT = b"leaky-app flags: sealed faults\0"  # this key seals nothing else


class DrillSeal:
    def __init__(self, operator_token: str) -> None:
        digest = hashlib.sha256(_CONTEXT + operator_token.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, faults: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(faults, sort_keys=True).encode()).decode()

    def opened(self, config: RuntimeConfig) -> RuntimeConfig:
        """``config`` with its sealed faults opened (as is when it has none); raises
        :class:`ConfigError` when they do not open with this operator token."""
        if config.sealed_faults is None:
            return config
        try:
            faults = json.loads(self._fernet.decrypt(config.sealed_faults.encode()))
        except (InvalidToken, ValueError):
            raise ConfigError(
                "sealed_faults do not open with this service's operator token"
                " (run/operator.token): sealed by another service, or edited"
            ) from None
        if not isinstance(faults, dict):
            raise ConfigError("sealed_faults hold no fault map")
        try:
            check_faults(faults)
        except ValueError as exc:
            raise ConfigError(f"sealed_faults: {exc}") from exc
        return config.model_copy(update={"faults": faults, "sealed_faults": None})
