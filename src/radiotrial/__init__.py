"""radiotrial: an open platform for phase 1 trials of targeted radionuclide therapy.

Subpackages are imported on demand (``import radiotrial.nuclides``) so that the core stays
light; see ``docs/ARCHITECTURE.md`` for the layers.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
