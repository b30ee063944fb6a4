"""Keep TensorFlow's C++ start-up chatter off the user's terminal.

TensorFlow 2.21 logs INFO lines through absl when it starts (oneDNN notice,
"Could not find cuda drivers", ...), ignoring TF_CPP_MIN_LOG_LEVEL for some of
them. A user of `guide` only wants to see our one-line errors, so the stderr
file descriptor is pointed at /dev/null while TensorFlow imports and builds its
devices. Python exceptions are unaffected: they are raised after it is restored.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    if os.environ.get("GUIDE_TF_VERBOSE"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():  # type: ignore[no-untyped-def]
    """`import tensorflow` without its start-up log lines; returns the module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with quiet_stderr():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        tf.config.list_logical_devices()  # device set-up logs happen here, once
    return tf
