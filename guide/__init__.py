"""guide: composition guidance for full-body portraits, powered by BodyPix."""

from __future__ import annotations

__version__ = "0.1.0"
