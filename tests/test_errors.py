"""Exit codes are chosen in one place, by error type."""

from __future__ import annotations

from guide.cli import exit_code_for
from guide.errors import GuideError, ImageError, InputError, ModelError, OutputError


def test_each_kind_of_error_has_its_exit_code() -> None:
    assert exit_code_for(InputError("x")) == 2  # the run cannot start
    assert exit_code_for(ModelError("x")) == 2  # a kind of input error
    assert exit_code_for(OutputError("x")) == 2  # cannot write where asked
    assert exit_code_for(ImageError("x")) == 1  # one photo failed, the others went on
    assert exit_code_for(GuideError("x")) == 1  # stopped part-way


def test_library_errors_carry_no_exit_code_of_their_own() -> None:
    assert not hasattr(GuideError("x"), "exit_code")
