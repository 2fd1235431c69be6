"""Conversion factors used by the transport code (exact SI definitions via scipy.constants)."""

from __future__ import annotations

from typing import Final

from scipy import constants as const

__all__ = ["MEV_TO_J"]

MEV_TO_J: Final = float(const.mega * const.electron_volt)
