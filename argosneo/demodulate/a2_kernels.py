"""Numba kernels of the residual-carrier biphase-L demodulator (:mod:`argosneo.demodulate.a2`).

Each kernel replaces a chain of small numpy steps that the demodulator ran many times per burst
window (tens of microseconds of call overhead and a temporary array per step). They compute the
same expressions in the same order; where numpy's own arithmetic differs (its SIMD complex
magnitude, pairwise sums) the result differs only by float rounding. ``tests/test_demod_kernels.py``
holds each kernel against the numpy expression it replaces.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, inline="always")
def _interpolate_cumulative(cumulative, pos):
    """``cumulative`` (running sum with a leading zero) read at fractional position ``pos``:
    the same linear interpolation as ``a2.sample_cumulative``."""
    n = cumulative.shape[0] - 1
    if pos <= 0.0:
        return cumulative[0]
    if pos >= n:
        return cumulative[n]
    i = int(pos)
    frac = pos - i
    return cumulative[i] * (1.0 - frac) + cumulative[i + 1] * frac


@numba.njit(cache=True)
def biphase_statistics(y_cum, reference_cum, half_window, starts, n_bits, samples_per_chip, out):
    """Soft biphase-L statistics (polarity +1) of ``n_bits`` bits for every first-chip position
    in ``starts``: ``out[k, i]`` is bit ``i`` of the bits starting at ``starts[k]``.

    Bit ``i`` is Im((first-chip integral − second-chip integral) · conj(r) / |r|) where ``r`` is
    the reference signal summed over ±``half_window`` around the bit centre minus the bit itself
    (``A2Demodulator._bit_statistics``).
    """
    spc = samples_per_chip
    for k in range(starts.shape[0]):
        start = starts[k]
        for i in range(n_bits):
            e0 = _interpolate_cumulative(y_cum, start + spc * (2 * i))
            e1 = _interpolate_cumulative(y_cum, start + spc * (2 * i + 1))
            e2 = _interpolate_cumulative(y_cum, start + spc * (2 * i + 2))
            difference = (e1 - e0) - (e2 - e1)
            bit_start = start + (2 * spc) * i
            centre = bit_start + spc
            around = (_interpolate_cumulative(reference_cum, centre + half_window)
                      - _interpolate_cumulative(reference_cum, centre - half_window))
            own = (_interpolate_cumulative(reference_cum, bit_start + 2 * spc)
                   - _interpolate_cumulative(reference_cum, bit_start))
            reference = around - own
            scale = 1.0 / (math.hypot(reference.real, reference.imag) + 1e-30)
            # Im(difference · conj(reference) · scale)
            rot_re = reference.real * scale
            rot_im = -reference.imag * scale
            out[k, i] = difference.real * rot_im + difference.imag * rot_re


@numba.njit(cache=True)
def chip_levels(chips, start, step, out):
    """Chip signs sampled at sample indices ``0 .. len(out)-1``: ``out[i] = chips[⌊(i − start) /
    step⌋]``, 0 outside the chips (``a2._modulation_phase_track``)."""
    n_chips = chips.shape[0]
    for i in range(out.shape[0]):
        k = math.floor((i - start) / step)
        if 0 <= k < n_chips:
            out[i] = chips[int(k)]
        else:
            out[i] = 0.0


@numba.njit(cache=True)
def rotate_levels_cumulative(x, levels, factors, out):
    """Running sum (leading zero, complex128) of ``x · factors[levels + 1]`` rounded to complex64
    sample by sample: ``a2._cumulative(rotate_by_levels(x, levels, step))`` without the rotated
    array."""
    acc = 0j
    out[0] = acc
    for i in range(x.shape[0]):
        f = factors[np.int64(levels[i]) + 1]
        v = x[i]
        r = np.complex64(complex(v.real * f.real - v.imag * f.imag, v.real * f.imag + v.imag * f.real))
        acc += r
        out[i + 1] = acc


@numba.njit(cache=True)
def windowed_frames(y, window, hop, out):
    """Rows of ``out`` (n_frames × nfft, complex64) = ``y[hop·k : hop·k + len(window)] · window``
    zero-padded to nfft: the zero-padded frames of a short-time spectrum."""
    frame = window.shape[0]
    for k in range(out.shape[0]):
        base = hop * k
        for j in range(frame):
            v = y[base + j]
            w = window[j]
            # complex64 × (w + 0j), as numpy multiplies a complex by a real array
            out[k, j] = np.complex64(complex(v.real * w - v.imag * np.float32(0.0),
                                             v.real * np.float32(0.0) + v.imag * w))
        for j in range(frame, out.shape[1]):
            out[k, j] = 0


@numba.njit(cache=True, inline="always")
def _power(v):
    """|v|² of a complex64 sample in float32 (squares and sum in double, one rounding)."""
    re = np.float64(v.real)
    im = np.float64(v.imag)
    return np.float32(re * re + im * im)


@numba.njit(cache=True)
def carrier_line_peaks(spectra, band_bins, floor_bins, peak, peak_power, below, above, floor):
    """Per spectrum row: the strongest of ``band_bins`` and the median power of ``floor_bins``.

    Power is |X|² in float32. ``peak[k]`` is the index *into band_bins* of the first maximum;
    ``below``/``above`` are the powers at the neighbouring band indices (0 at the ends of
    ``band_bins``); ``floor[k]`` is the median power over ``floor_bins``.
    """
    n_band = band_bins.shape[0]
    band = np.empty(n_band, dtype=np.float32)
    scratch = np.empty(floor_bins.shape[0], dtype=np.float32)
    for k in range(spectra.shape[0]):
        best = 0
        for j in range(n_band):
            v = spectra[k, band_bins[j]]
            p = _power(v)
            band[j] = p
            # numpy's argmax: the first maximum, a NaN wins
            if p > band[best] or (math.isnan(p) and not math.isnan(band[best])):
                best = j
        peak[k] = best
        peak_power[k] = band[best]
        below[k] = band[best - 1] if best > 0 else np.float32(0.0)
        above[k] = band[best + 1] if best < n_band - 1 else np.float32(0.0)
        for j in range(floor_bins.shape[0]):
            v = spectra[k, floor_bins[j]]
            scratch[j] = _power(v)
        floor[k] = median_in_place(scratch)


@numba.njit(cache=True)
def median_in_place(x):
    """``numpy.median(x)`` of a 1-D float array (NaN if any is NaN), reordering ``x``:
    Hoare selection of the middle element(s), O(n) on average."""
    n = x.shape[0]
    if n == 0:
        return np.nan
    for i in range(n):
        if math.isnan(x[i]):
            return np.nan
    k = n // 2
    _select(x, k)
    upper = x[k]
    if n % 2 == 1:
        return upper
    # the lower middle is the largest of the part left of k after selection
    lower = x[0]
    for i in range(1, k):
        if x[i] > lower:
            lower = x[i]
    return (lower + upper) / 2


@numba.njit(cache=True)
def _select(x, k):
    """Reorder ``x`` so that ``x[k]`` is its k-th smallest, smaller-or-equal values before it."""
    lo, hi = 0, x.shape[0] - 1
    while hi > lo:
        # median of three as pivot keeps sorted runs from going quadratic
        mid = (lo + hi) // 2
        a, b, c = x[lo], x[mid], x[hi]
        if a > b:
            a, b = b, a
        if b > c:
            b = c
            if a > b:
                b = a
        pivot = b
        i, j = lo, hi
        while i <= j:
            while x[i] < pivot:
                i += 1
            while x[j] > pivot:
                j -= 1
            if i <= j:
                x[i], x[j] = x[j], x[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return


@numba.njit(cache=True)
def vander_decreasing(x, out):
    """``out[i, j] = x[i] ** (order − 1 − j)`` for ``order = out.shape[1]``, the powers built by
    repeated multiplication as ``numpy.vander(x, order)`` does, without its strided
    accumulate."""
    order = out.shape[1]
    for i in range(x.shape[0]):
        v = x[i]
        power = 1.0
        out[i, order - 1] = power
        for j in range(order - 2, -1, -1):
            power = power * v
            out[i, j] = power


@numba.njit(cache=True)
def polyphase_resample(x, phases, lengths, up, down, half, out):
    """Polyphase FIR resampling with the filter stored phase by phase.

    ``phases[p, m]`` is tap ``p + m·up`` of the filter, ``lengths[p]`` how many such taps exist,
    so one output sample reads contiguous taps. Same sums, in the same order, as ``argosneo.dsp.resample``'s kernel:
    ``out[q] = Σ_k h[k] · x_up[q·down + half − k]``.
    """
    n_in = x.shape[0]
    for q in range(out.shape[0]):
        c = q * down + half
        p = c % up
        i = c // up
        row = phases[p]
        n_taps = lengths[p]
        acc_re = 0.0
        acc_im = 0.0
        # i decreases by one per tap of the phase; i ≥ n_in meets zeros, i < 0 ends the sum
        m0 = 0
        if i >= n_in:
            m0 = i - n_in + 1
        m_end = min(n_taps, i + 1)
        for m in range(m0, m_end):
            v = x[i - m]
            acc_re += row[m] * v.real
            acc_im += row[m] * v.imag
        out[q] = complex(acc_re, acc_im)


def polyphase_taps(h: np.ndarray, up: int) -> tuple[np.ndarray, np.ndarray]:
    """The filter ``h`` rearranged for :func:`polyphase_resample`: ``(phases, lengths)`` with
    row ``p`` of ``phases`` = ``h[p::up]`` (zero-padded) and ``lengths[p]`` its length."""
    n_taps = -(-len(h) // up)
    phases = np.zeros((up, n_taps), dtype=np.float64)
    lengths = np.zeros(up, dtype=np.int64)
    for p in range(up):
        taps = h[p::up]
        phases[p, :len(taps)] = taps
        lengths[p] = len(taps)
    return phases, lengths
