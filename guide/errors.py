"""The one exception type for problems a user can cause and fix.

The CLI turns a `GuideError` into a single line on stderr and its `exit_code`;
anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class GuideError(Exception):
    """A user-facing problem: bad input, a missing model, an unwritable folder."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class ModelError(GuideError):
    """The model cannot be found, downloaded or read. Exit code 2: nothing can run."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=2)


class ImageError(GuideError):
    """One input image cannot be read; other images in the same run still are."""
