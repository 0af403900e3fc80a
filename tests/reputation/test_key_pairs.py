"""A certificate is only ever read with its own key, even mid-rotation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labctl.stack.pki import LabPki
from reputation.key_pairs import PairMismatch, read_matching_pair


def test_a_pair_is_read_only_when_the_key_is_the_certificates_own(tmp_path: Path) -> None:
    pki = LabPki(tmp_path / "pki")
    pki.ensure()
    party = pki.party("leaky-app")
    cert, key = read_matching_pair(party.cert, party.key)
    assert cert == party.cert.read_bytes() and key == party.key.read_bytes()
    old_key = tmp_path / "old.key"
    shutil.copy(party.key, old_key)
    pki.issue("leaky-app")  # a new key and certificate: the old key no longer matches
    with pytest.raises(PairMismatch, match="is not the key of"):
        read_matching_pair(party.cert, old_key, attempts=3)
