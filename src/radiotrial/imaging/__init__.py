"""Quantitative imaging: volumes with geometry, DICOM/NIfTI I/O, resampling, registration.

Public names are re-exported here; the modules that pull in pydicom, highdicom, nibabel and
SimpleITK are imported lazily on first use so that ``import radiotrial.imaging`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from radiotrial.imaging._volume import VOLUME_UNITS, Volume, quantity_kind

if TYPE_CHECKING:  # pragma: no cover
    pass

__all__ = ["VOLUME_UNITS", "Volume", "quantity_kind"]

# public name -> private module holding it (loaded on first attribute access)
_LAZY: dict[str, str] = {}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'radiotrial.imaging' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"radiotrial.imaging.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
