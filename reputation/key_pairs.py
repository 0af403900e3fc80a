"""Read a certificate and its private key as a matching pair, while a rotation may be
rewriting both (``labctl`` writes the key, then the certificate, each atomically; a reader
between the two would pair an old one with a new one, and every handshake would then fail).

Usage::

    cert_pem, key_pem = read_matching_pair(Path("run/pki/leaky-app.crt"),
                                           Path("run/pki/leaky-app.key"))
"""

from __future__ import annotations

import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization


class PairMismatch(RuntimeError):
    """The certificate and the key never matched within the retries."""


def _public(pem_cert: bytes) -> bytes:
    key = x509.load_pem_x509_certificate(pem_cert).public_key()
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _public_of_private(pem_key: bytes) -> bytes:
    key = serialization.load_pem_private_key(pem_key, password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def read_matching_pair(cert: Path, key: Path, attempts: int = 50) -> tuple[bytes, bytes]:
    """The certificate's and the key's PEM, once the key is the certificate's own."""
    for _ in range(attempts):
        cert_pem, key_pem = cert.read_bytes(), key.read_bytes()
        if _public(cert_pem) == _public_of_private(key_pem):
            return cert_pem, key_pem
        time.sleep(0.01)  # a rotation is between its two writes
    raise PairMismatch(f"{key} is not the key of {cert}")
