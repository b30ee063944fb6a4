"""The errors a user can cause and fix, one type per kind of problem.

The library raises these; the CLI turns one into a single line on stderr and
an exit code it chooses by type, in one place (`guide.cli.exit_code_for`).
Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class GuideError(Exception):
    """A user-facing problem that stopped the run part-way (exit code 1 unless a subclass says more)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(GuideError):
    """The run cannot start: an input, a folder, a profile or a device is missing or wrong."""


class OutputError(GuideError):
    """A result cannot be written where it was asked for (or would replace something)."""


class ModelError(InputError):
    """The model cannot be found, downloaded or read: nothing can run."""


class ImageError(GuideError):
    """One input image cannot be read; other images in the same run still are."""
