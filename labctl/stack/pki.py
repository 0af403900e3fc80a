"""The lab's certificate authority and the service tokens, under ``run/pki/`` (seed Q376).

``labctl up`` calls :meth:`LabPki.ensure`: a CA, one certificate per party (the reputation
service as a server; the patient and ``labctl`` as its clients), and one signed token per
caller. Keys and tokens are written 0600, every file atomically (a reader never sees half a
certificate), so :meth:`LabPki.rotate` can renew them under a running stack: the reputation
service reloads its certificate on the next handshake, and its clients re-read theirs.

Tokens are ES256 JWTs (PyJWT): signed with a key only ``labctl`` holds, verified by the service
with the public half. An HMAC token would put the signing secret in the service too, and with it
the power to mint a token for any caller.

Usage::

    pki = LabPki(RunLayout(Path("run")).pki)
    pki.ensure()
    pki.party("leaky-app").cert, pki.party("leaky-app").token
    pki.rotate()                                     # new certificates and tokens, same CA
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labctl.stack.private_files import write_private
from reputation import policy

CA_LIFETIME = dt.timedelta(days=30)
LEAF_LIFETIME = dt.timedelta(hours=24)  # short: rotation is routine, not an event
RENEW_BEFORE = dt.timedelta(hours=1)
SERVER_NAMES = (policy.SERVER_NAME, "localhost")
PARTIES = (policy.SERVER_NAME, *policy.CALLERS)  # the server first, then its callers


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC private key")
    return key


@dataclass(frozen=True)
class Party:
    """One party's files: its certificate, its key and (for a caller) its token."""

    name: str
    cert: Path
    key: Path
    token: Path


class LabPki:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ca_cert = directory / "ca.crt"
        self.ca_key = directory / "ca.key"
        self.token_key = directory / "tokens.key"
        self.token_public = directory / "tokens.pub"

    def party(self, name: str) -> Party:
        d = self.directory
        return Party(name, d / f"{name}.crt", d / f"{name}.key", d / f"{name}.token")

    def ensure(self) -> list[str]:
        """Create what is missing or expires within the hour; the names of what was written."""
        written = self._ensure_roots()
        for name in PARTIES:
            party = self.party(name)
            needs_token = name != policy.SERVER_NAME
            if (
                "ca" in written
                or not self._fresh(party.cert)
                or (needs_token and not party.token.exists())
            ):
                self.issue(name)
                written.append(name)
        return written

    def rotate(self) -> list[str]:
        """New certificates and tokens for every party, signed by the same CA."""
        self._ensure_roots()
        for name in PARTIES:
            self.issue(name)
        return list(PARTIES)

    def _ensure_roots(self) -> list[str]:
        """The folder, the CA (when missing or due) and the token signing key (when missing)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        written = []
        if not self._fresh(self.ca_cert):
            self._new_ca()
            written.append("ca")
        if not self.token_key.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            write_private(self.token_key, _key_pem(key))
            self.token_public.write_bytes(
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
            written.append("token signing key")
        return written

    def _fresh(self, cert_path: Path) -> bool:
        if not cert_path.exists():
            return False
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        return cert.not_valid_after_utc - _now() > RENEW_BEFORE

    def _new_ca(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Python diagnostics lab CA")])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        write_private(self.ca_key, _key_pem(key))
        write_private(self.ca_cert, cert.public_bytes(serialization.Encoding.PEM))

    def issue(
        self,
        name: str,
        *,
        dns_names: tuple[str, ...] | None = None,
        not_before: dt.datetime | None = None,
        lifetime: dt.timedelta = LEAF_LIFETIME,
    ) -> Party:
        """A certificate (and, for a caller, a token) for ``name``, signed by the lab CA.

        The server's certificate names ``SERVER_NAMES`` and 127.0.0.1, which its clients check;
        tests pass ``dns_names`` and ``not_before`` to make a wrong or an expired one."""
        ca_key = _load_key(self.ca_key)
        ca_cert = x509.load_pem_x509_certificate(self.ca_cert.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        server = name == policy.SERVER_NAME
        names = dns_names if dns_names is not None else (SERVER_NAMES if server else (name,))
        alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
        if server and dns_names is None:
            alt.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
        start = not_before or _now() - dt.timedelta(minutes=5)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + lifetime)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        party = self.party(name)
        # The key first: a reader that sees the new certificate finds its key already there.
        write_private(party.key, _key_pem(key))
        write_private(party.cert, cert.public_bytes(serialization.Encoding.PEM))
        if not server:
            write_private(party.token, self.mint(name).encode())
        return party

    def mint(
        self,
        caller: str,
        *,
        audience: str = policy.AUDIENCE,
        lifetime: dt.timedelta = LEAF_LIFETIME,
        issued_at: dt.datetime | None = None,
    ) -> str:
        """A token naming ``caller``, for ``audience``; tests mint wrong and expired ones."""
        now = issued_at or _now()
        claims = {
            "iss": policy.ISSUER,
            "sub": caller,
            "aud": audience,
            "iat": now,
            "exp": now + lifetime,
        }
        return jwt.encode(claims, _load_key(self.token_key), algorithm="ES256")
