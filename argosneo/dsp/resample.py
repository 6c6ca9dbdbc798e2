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


@lru_cache(maxsize=16)
def _polyphase_layout(up: int, down: int) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`resample_filter` laid out phase by phase for :func:`_resample_kernel`: row ``p``
    of ``phases`` holds taps ``p, p + up, p + 2·up, …`` (zero-padded), ``lengths[p]`` how many
    there are, and the filter's half-length."""
    h = resample_filter(up, down)
    n_taps = -(-len(h) // up)
    phases = np.zeros((up, n_taps), dtype=np.float64)
    lengths = np.zeros(up, dtype=np.int64)
    for p in range(up):
        taps = h[p::up]
        phases[p, :len(taps)] = taps
        lengths[p] = len(taps)
    phases.flags.writeable = False
    return phases, lengths, (len(h) - 1) // 2


@numba.njit(cache=True)
def _resample_kernel(x, phases, lengths, up, down, half, out):
    """``out[q] = Σ_k h[k] · x_up[q·down + half − k]`` where ``x_up`` is ``x`` with ``up − 1``
    zeros after every sample and zero outside. Only the taps that meet a non-zero sample are
    visited — every ``up``-th one, i.e. one row of ``phases`` — read contiguously, in the order
    of increasing ``k``."""
    n_in = x.shape[0]
    for q in range(out.shape[0]):
        c = q * down + half
        row = phases[c % up]
        i = c // up
        # input index i − m for tap row[m]: past the end it meets zeros, below 0 the sum ends
        m0 = i - n_in + 1 if i >= n_in else 0
        m_end = min(lengths[c % up], i + 1)
        acc_re = 0.0
        acc_im = 0.0
        for m in range(m0, m_end):
            v = x[i - m]
            acc_re += row[m] * v.real
            acc_im += row[m] * v.imag
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
    phases, lengths, half = _polyphase_layout(up, down)
    _resample_kernel(x, phases, lengths, up, down, half, out)
    return out
