"""The one error shape: a sentence, and the exit code a CLI ends with."""

from labctl.errors import LabctlError


def test_an_error_carries_its_sentence_and_exit_code() -> None:
    error = LabctlError("no lab '99'; the labs are: 01", 2)
    assert str(error) == "no lab '99'; the labs are: 01" and error.exit_code == 2
    assert LabctlError("something failed").exit_code == 1
