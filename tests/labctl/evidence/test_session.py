"""A session: the stack as one command found it, and a client of its service."""

from pathlib import Path

import pytest

from labctl.contract import SERVICE
from labctl.evidence.patient import PatientError
from labctl.evidence.session import Session
from tests.live import LiveService


def test_no_session_without_a_service(tmp_path: Path) -> None:
    with pytest.raises(PatientError, match="labctl up"):
        Session.open(tmp_path)


@pytest.mark.integration
def test_the_session_holds_the_stack_it_read_and_its_service(live_service: LiveService) -> None:
    with Session.open(live_service.run_dir) as session:
        assert session.status.running[SERVICE].pid == session.patient.pid
        assert session.layout.debug_token == live_service.run_dir / "debug.token"
        assert session.patient.faults().drill is False
