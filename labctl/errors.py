"""The one error shape of labctl: a sentence for the user and the exit code a CLI uses."""

from __future__ import annotations


class LabctlError(RuntimeError):
    """Something the user can act on; ``str(exc)`` says what happened and what to do."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
