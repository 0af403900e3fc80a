"""A caller's token follows a rotation without a new channel."""

from __future__ import annotations

from pathlib import Path

from labctl.stack.pki import LabPki
from reputation.client import Identity, TokenFile


def test_the_token_is_re_read_when_a_rotation_rewrites_it(tmp_path: Path) -> None:
    pki = LabPki(tmp_path / "pki")
    pki.ensure()
    identity = Identity.of(pki.directory, "leaky-app")
    assert identity.token is not None
    plugin = TokenFile(identity.token)
    first = plugin.token()
    assert first == identity.token.read_text()
    pki.rotate()
    assert plugin.token() != first
    assert plugin.token() == identity.token.read_text()


def test_the_channel_checks_the_service_name_and_retries_only_unavailable(tmp_path: Path) -> None:
    options = dict(Identity.of(tmp_path, "leaky-app").options())
    assert options["grpc.ssl_target_name_override"] == "reputation"
    assert '"retryableStatusCodes": ["UNAVAILABLE"]' in str(options["grpc.service_config"])
