"""Rational-rate resampling with a polyphase FIR filter (``scipy.signal.resample_poly``'s
definition: Kaiser ``β = 5`` anti-alias filter of ``20·max(up, down) + 1`` taps, zero padding,
output aligned with the input, ``ceil(n·up/down)`` samples)."""

from __future__ import annotations

import math
from functools import lru_cache

import numba
import numpy as np

from argosneo.dsp.firdesign import firwin_lowpass

#: Kaiser β of the anti-alias filter (scipy.signal.resample_poly's default window).
RESAMPLE_KAISER_BETA = 5.0
#: Filter half-length per unit of max(up, down) (scipy.signal.resample_poly's choice).
HALF_LENGTH_PER_RATE = 10


@lru_cache(maxsize=16)
def resample_filter(up: int, down: int) -> np.ndarray:
    """The anti-alias filter for ``up/down`` (gain ``up``, so amplitudes are kept)."""
    max_rate = max(up, down)
    half_len = HALF_LENGTH_PER_RATE * max_rate
    h = firwin_lowpass(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", RESAMPLE_KAISER_BETA))
    h = h * up
    h.flags.writeable = False
    return h


@numba.njit(cache=True)
def _resample_kernel(x, h, up, down, out):
    """``out[q] = Σ_k h[k] · x_up[q·down + half − k]`` where ``x_up`` is ``x`` with ``up − 1``
    zeros after every sample and zero outside; only the taps that meet a non-zero sample are
    visited (every ``up``-th one)."""
    half = (h.shape[0] - 1) // 2
    n_in = x.shape[0]
    n_h = h.shape[0]
    for q in range(out.shape[0]):
        c = q * down + half
        k = c % up
        i = c // up
        acc_re = 0.0
        acc_im = 0.0
        # i decreases by one for every step of ``up`` taps
        while k < n_h and i >= 0:
            if i < n_in:
                v = x[i]
                acc_re += h[k] * v.real
                acc_im += h[k] * v.imag
            k += up
            i -= 1
        out[q] = complex(acc_re, acc_im)


def resample_poly(x: np.ndarray, up: int, down: int) -> np.ndarray:
    """Resample complex ``x`` by ``up/down``.

    Parameters
    ----------
    x : array of complex
        Input samples.
    up, down : int
        Positive rate factors (reduced by their gcd here).

    Returns
    -------
    numpy.ndarray
        ``complex64``, ``ceil(len(x)·up/down)`` samples; equal (to float32 rounding) to
        ``scipy.signal.resample_poly(x, up, down)``.
    """
    up, down = int(up), int(down)
    if up < 1 or down < 1:
        raise ValueError(f"up and down must be positive, got {up}, {down}")
    g = math.gcd(up, down)
    up, down = up // g, down // g
    x = np.ascontiguousarray(x, dtype=np.complex64)
    if up == down == 1:
        return x.copy()
    n_out = -(-len(x) * up // down)
    out = np.empty(n_out, dtype=np.complex64)
    _resample_kernel(x, resample_filter(up, down), up, down, out)
    return out
