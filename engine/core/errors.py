"""The project's user-facing errors: the CLI turns them into one line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path


class PromptmineError(Exception):
    """Base class for errors the CLI reports without a traceback."""


class InputError(PromptmineError):
    """Bad input: names the file and line (1-based) so the user can fix it."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.path = str(path) if path is not None else None
        self.line = line
        self.reason = message
        where = ""
        if self.path is not None:
            where = self.path if line is None else f"{self.path}:{line}"
            where += ": "
        super().__init__(where + message)


class ModelNotAvailable(PromptmineError):
    """A model is not present locally; the message says how to provide it."""
