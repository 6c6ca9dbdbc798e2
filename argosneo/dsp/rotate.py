"""Phase rotation of complex samples: ``x · exp(−i·phase)`` in one pass.

numpy's ``x * np.exp(-1j * phase).astype(np.complex64)`` builds two complex temporaries and
evaluates a complex exponential per sample; the demodulator does this a dozen times per burst.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True)
def _rotate_kernel(x, phase, out):
    for i in range(x.shape[0]):
        c = np.float32(math.cos(phase[i]))
        s = np.float32(-math.sin(phase[i]))
        v = x[i]
        out[i] = np.complex64(complex(v.real * c - v.imag * s, v.real * s + v.imag * c))


@numba.njit(cache=True)
def _rotate_levels_kernel(x, levels, factors, out):
    for i in range(x.shape[0]):
        f = factors[np.int64(levels[i]) + 1]
        v = x[i]
        out[i] = np.complex64(complex(v.real * f.real - v.imag * f.imag, v.real * f.imag + v.imag * f.real))


def rotate(x: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """``x · exp(−i·phase)`` as complex64 (``phase`` in radians, one per sample, float64)."""
    x = np.ascontiguousarray(x, dtype=np.complex64)
    phase = np.ascontiguousarray(phase, dtype=np.float64)
    if phase.shape != x.shape:
        raise ValueError(f"phase has shape {phase.shape}, samples {x.shape}")
    out = np.empty_like(x)
    _rotate_kernel(x, phase, out)
    return out


def rotate_by_levels(x: np.ndarray, levels: np.ndarray, step: float) -> np.ndarray:
    """``x · exp(−i·step·levels)`` for ``levels`` in {−1, 0, +1} (a chip track): three complex
    factors instead of one exponential per sample."""
    x = np.ascontiguousarray(x, dtype=np.complex64)
    levels = np.ascontiguousarray(levels, dtype=np.float32)
    if levels.shape != x.shape:
        raise ValueError(f"levels has shape {levels.shape}, samples {x.shape}")
    factors = np.exp(-1j * step * np.array([-1.0, 0.0, 1.0])).astype(np.complex64)
    out = np.empty_like(x)
    _rotate_levels_kernel(x, levels, factors, out)
    return out
