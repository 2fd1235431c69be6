"""A counter-seeded random stream for numba kernels (xoroshiro128+, SplitMix64 seeding).

Each Monte Carlo batch owns its own stream seeded from ``(seed, batch)``, so results are
bit-for-bit reproducible whatever the number of threads or their scheduling.

References
----------
D. Blackman, S. Vigna, "Scrambled linear pseudorandom number generators", ACM Trans. Math.
Softw. 47(4):36 (2021). doi:10.1145/3460772
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

__all__ = ["new_state", "uniform"]

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


@nb.njit(cache=True)
def _splitmix64(x: np.uint64) -> tuple[np.uint64, np.uint64]:  # pragma: no cover - numba
    x = np.uint64(x + np.uint64(0x9E3779B97F4A7C15))
    z = x
    z = np.uint64((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9))
    z = np.uint64((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB))
    return x, np.uint64(z ^ (z >> np.uint64(31)))


@nb.njit(cache=True)
def new_state(seed: int, stream: int) -> npt.NDArray[np.uint64]:  # pragma: no cover - numba
    """Two-word xoroshiro128+ state for ``(seed, stream)``."""
    x = np.uint64(seed) * np.uint64(0x100000001B3) + np.uint64(stream)
    x, a = _splitmix64(x)
    x, b = _splitmix64(x)
    s = np.empty(2, dtype=np.uint64)
    s[0] = a
    s[1] = b if (a | b) != np.uint64(0) else np.uint64(1)
    return s


@nb.njit(cache=True, inline="always")
def _rotl(x: np.uint64, k: int) -> np.uint64:  # pragma: no cover - numba
    return np.uint64((x << np.uint64(k)) | (x >> np.uint64(64 - k)))


@nb.njit(cache=True)
def uniform(s: npt.NDArray[np.uint64]) -> float:  # pragma: no cover - numba
    """Next double in the open interval (0, 1)."""
    s0 = s[0]
    s1 = s[1]
    result = np.uint64(s0 + s1)
    s1 = np.uint64(s1 ^ s0)
    s[0] = np.uint64(_rotl(s0, 24) ^ s1 ^ (s1 << np.uint64(16)))
    s[1] = _rotl(s1, 37)
    # 53 high bits -> [0, 1); shift by half a step to exclude 0
    return (float(result >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
