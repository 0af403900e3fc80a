"""The lab's CA and tokens: private files 0600, a chain that verifies, renewal only when due."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import jwt
from cryptography import x509

from labctl.stack.pki import LabPki
from reputation import policy


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_writes_every_party_and_keeps_secrets_private(tmp_path: Path) -> None:
    pki = LabPki(tmp_path / "pki")
    assert pki.ensure() == ["ca", "token signing key", "reputation", "leaky-app", "labctl"]
    assert mode(pki.directory) == 0o700
    secrets = [pki.ca_key, pki.token_key] + [
        p for name in policy.CALLERS for p in (pki.party(name).key, pki.party(name).token)
    ]
    assert {str(p.name): mode(p) for p in secrets} == {str(p.name): 0o600 for p in secrets}
    assert pki.ensure() == []  # nothing due: nothing rewritten


def test_each_certificate_is_signed_by_the_ca_for_its_use(tmp_path: Path) -> None:
    pki = LabPki(tmp_path / "pki")
    pki.ensure()
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(pki.party("reputation").cert.read_bytes())
    client = x509.load_pem_x509_certificate(pki.party("leaky-app").cert.read_bytes())
    for cert in (server, client):
        cert.verify_directly_issued_by(ca)
        assert cert.not_valid_after_utc - cert.not_valid_before_utc <= dt.timedelta(hours=25)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "reputation" in names.get_values_for_type(x509.DNSName)
    usage = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [u.dotted_string for u in usage] == ["1.3.6.1.5.5.7.3.2"]  # client auth only


def test_a_token_names_its_caller_and_only_the_public_key_is_needed_to_check_it(
    tmp_path: Path,
) -> None:
    pki = LabPki(tmp_path / "pki")
    pki.ensure()
    token = pki.party("leaky-app").token.read_text()
    claims = jwt.decode(token, pki.token_public.read_bytes(), algorithms=["ES256"],
                        audience=policy.AUDIENCE, issuer=policy.ISSUER)  # fmt: skip
    assert claims["sub"] == "leaky-app"
    assert "PRIVATE" not in pki.token_public.read_text()


def test_rotate_renews_every_certificate_under_the_same_ca(tmp_path: Path) -> None:
    pki = LabPki(tmp_path / "pki")
    pki.ensure()
    ca_before = pki.ca_cert.read_bytes()
    serials = {n: x509.load_pem_x509_certificate(pki.party(n).cert.read_bytes()).serial_number
               for n in ("reputation", *policy.CALLERS)}  # fmt: skip
    assert pki.rotate() == ["reputation", *policy.CALLERS]
    after = {n: x509.load_pem_x509_certificate(pki.party(n).cert.read_bytes()).serial_number
             for n in serials}  # fmt: skip
    assert all(after[n] != serials[n] for n in serials)
    assert pki.ca_cert.read_bytes() == ca_before


def test_an_expiring_certificate_is_renewed_by_ensure(tmp_path: Path) -> None:
    pki = LabPki(tmp_path / "pki")
    pki.ensure()
    soon = dt.datetime.now(dt.UTC) - dt.timedelta(hours=23, minutes=30)
    pki.issue("leaky-app", not_before=soon)  # 30 minutes left
    assert pki.ensure() == ["leaky-app"]
