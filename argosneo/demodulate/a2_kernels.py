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
    ``band_bins``); ``floor[k]`` is the median power over ``floor_bins``
    (:func:`median_by_histogram`, exact).
    """
    n_band = band_bins.shape[0]
    band = np.empty(n_band, dtype=np.float32)
    scratch = np.empty(floor_bins.shape[0], dtype=np.float32)
    bucket = np.empty(floor_bins.shape[0], dtype=np.float32)
    hist = np.empty(2048, dtype=np.int64)
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
        floor[k] = median_by_histogram(scratch, hist, bucket)


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


# --------------------------------------------------------------------------------------------
# round 2: kernels that give up bit-exactness of intermediate floats (not of decisions)

#: Samples between exact re-anchorings of the phase recurrence in :func:`rotate_quadratic`: the
#: recurrence's relative error grows by ~1e-16 per step, so 64 steps stay far below complex64's
#: rounding (6e-8).
_ANCHOR = 64


@numba.njit(cache=True)
def _quadratic_anchor(c2, c1, c0, tau, dt):
    """Exact ``exp(−i·φ(τ))`` and first step ``exp(−i·(φ(τ + dt) − φ(τ)))`` of the recurrence."""
    p = (c2 * tau + c1) * tau + c0
    step = c2 * (2.0 * tau * dt + dt * dt) + c1 * dt
    return complex(math.cos(p), -math.sin(p)), complex(math.cos(step), -math.sin(step))


@numba.njit(cache=True)
def rotate_quadratic(x, c2, c1, c0, t0, dt, out):
    """``out[i] = x[i] · exp(−i·φ(t0 + i·dt))`` with ``φ(τ) = c2·τ² + c1·τ + c0``, as complex64.

    ``argosneo.dsp.rotate.rotate(x, np.polyval([c2, c1, c0], t))`` without a cosine and sine per
    sample: the rotation factor follows a second-order recurrence (its step ``φ(τ + dt) − φ(τ)``
    changes by the constant ``2·c2·dt²``), evaluated in complex128 and re-anchored with exact
    cosines every ``_ANCHOR`` samples.
    """
    n = x.shape[0]
    dd_angle = 2.0 * c2 * dt * dt
    dd = complex(math.cos(dd_angle), -math.sin(dd_angle))
    for i0 in range(0, n, _ANCHOR):
        e, d = _quadratic_anchor(c2, c1, c0, t0 + i0 * dt, dt)
        for i in range(i0, min(n, i0 + _ANCHOR)):
            v = x[i]
            out[i] = np.complex64(complex(v.real * e.real - v.imag * e.imag,
                                          v.real * e.imag + v.imag * e.real))
            e = e * d
            d = d * dd


@numba.njit(cache=True)
def rotated_sum_quadratic(x, c2, c1, c0, t0, dt):
    """``Σ x[i] · exp(−i·φ(t0 + i·dt))`` (complex128) with the recurrence of
    :func:`rotate_quadratic`: ``np.sum(x * np.exp(-1j * np.polyval([c2, c1, c0], t)))``."""
    n = x.shape[0]
    dd_angle = 2.0 * c2 * dt * dt
    dd = complex(math.cos(dd_angle), -math.sin(dd_angle))
    acc = 0j
    for i0 in range(0, n, _ANCHOR):
        e, d = _quadratic_anchor(c2, c1, c0, t0 + i0 * dt, dt)
        for i in range(i0, min(n, i0 + _ANCHOR)):
            v = x[i]
            acc += complex(v.real * e.real - v.imag * e.imag, v.real * e.imag + v.imag * e.real)
            e = e * d
            d = d * dd
    return acc


@numba.njit(cache=True)
def rotate_by_reference(x, z, out):
    """``out = x · conj(z) / |z|`` as complex64 (1 where ``z`` is 0): ``rotate(x,
    np.unwrap(np.angle(z)))`` without the angle, since ``exp(−i·angle(z)) = conj(z)/|z|`` and
    unwrapping only adds multiples of 2π. Returns False (``out`` incomplete) at the first
    non-finite ``z``, where the unwrapped phase would turn every later sample into NaN."""
    for i in range(x.shape[0]):
        zr = np.float64(z[i].real)
        zi = np.float64(z[i].imag)
        if not (math.isfinite(zr) and math.isfinite(zi)):
            return False
        m = math.hypot(zr, zi)
        if m > 0.0:
            cr = zr / m
            ci = -zi / m
        else:
            cr = 1.0
            ci = 0.0
        v = x[i]
        out[i] = np.complex64(complex(v.real * cr - v.imag * ci, v.real * ci + v.imag * cr))
    return True


@numba.njit(cache=True)
def polyfit_normal(x, y, w, deg, out):
    """Weighted least-squares polynomial (``numpy.polyfit(x, y, deg, w=w)``'s coefficients,
    highest power first, into ``out``) by the normal equations of ``x`` centred and scaled to
    [−1, 1], solved with partial pivoting. For the low degrees used here (≤ 2) the centred
    Gram matrix is well conditioned, so the result agrees with the SVD solution to ~1e-12
    relative. ``w`` of length 0 means unweighted. Returns False if the system is singular."""
    n = x.shape[0]
    order = deg + 1
    if n < order:
        return False
    lo = x[0]
    hi = x[0]
    for i in range(n):
        if x[i] < lo:
            lo = x[i]
        if x[i] > hi:
            hi = x[i]
    centre = 0.5 * (lo + hi)
    half = 0.5 * (hi - lo)
    if not (half > 0.0):
        return False
    gram = np.zeros((order, order + 1))
    moments = np.zeros(2 * order - 1)
    rhs = np.zeros(order)
    weighted = w.shape[0] > 0
    for i in range(n):
        u = (x[i] - centre) / half
        ww = w[i] * w[i] if weighted else 1.0
        p = ww
        for k in range(2 * order - 1):
            moments[k] += p
            if k < order:
                rhs[k] += p * y[i]
            p *= u
    for r in range(order):
        for c in range(order):
            gram[r, c] = moments[r + c]
        gram[r, order] = rhs[r]
    # Gauss-Jordan with partial pivoting
    for col in range(order):
        piv = col
        for r in range(col + 1, order):
            if abs(gram[r, col]) > abs(gram[piv, col]):
                piv = r
        if not (abs(gram[piv, col]) > 0.0) or not math.isfinite(gram[piv, col]):
            return False
        if piv != col:
            for c in range(order + 1):
                tmp = gram[col, c]
                gram[col, c] = gram[piv, c]
                gram[piv, c] = tmp
        for r in range(order):
            if r != col:
                f = gram[r, col] / gram[col, col]
                for c in range(col, order + 1):
                    gram[r, c] -= f * gram[col, c]
    # coefficients of u^k, then expand u = (x − centre)/half into powers of x
    a = np.empty(order)
    for k in range(order):
        a[k] = gram[k, order] / gram[k, k]
    b = np.zeros(order)
    # Horner in u: p(u) = a0 + u(a1 + u(a2 …)); multiply the running polynomial (in x) by
    # (x − centre)/half and add the next coefficient
    b[0] = a[order - 1]
    length = 1
    for k in range(order - 2, -1, -1):
        nb = np.zeros(order)
        for j in range(length):
            nb[j + 1] += b[j] / half
            nb[j] -= b[j] * centre / half
        nb[0] += a[k]
        b = nb
        length += 1
    # b[j] is the coefficient of x^j; numpy order is highest first
    for j in range(order):
        out[order - 1 - j] = b[j]
    for j in range(order):
        if not math.isfinite(out[j]):
            return False
    return True


@numba.njit(cache=True)
def median_by_histogram(x, hist, bucket):
    """``numpy.median(x)`` of non-negative float32 ``x`` (NaN if any is NaN) without moving it.

    Quickselect is bound by branch mispredictions (~8 µs for 1 500 values). Non-negative
    floats order like their bit patterns, so one histogram pass over the top 11 bits below the
    sign (``hist``, 2048 int64 counters) finds the bucket holding the middle rank; only that
    bucket's values (a few percent) are gathered into ``bucket`` and selected exactly. Falls
    back to a full selection for negative values.
    """
    n = x.shape[0]
    if n == 0:
        return np.nan
    bits = x.view(np.uint32)
    hist[:] = 0
    bad = 0
    for i in range(n):
        v = x[i]
        bad += (v != v) | (v < 0)
        hist[(bits[i] >> 20) & 2047] += 1
    if bad:
        for i in range(n):
            if x[i] != x[i]:
                return np.nan
        for i in range(n):
            bucket[i] = x[i]
        return median_in_place(bucket[:n])
    k = n // 2
    # the bucket holding rank k (and rank k − 1 for even n, which may be in an earlier one)
    below = 0
    b = 0
    while below + hist[b] <= k:
        below += hist[b]
        b += 1
    m = 0
    for i in range(n):
        bucket[m] = x[i]
        m += ((bits[i] >> 20) & 2047) == b
    _select(bucket[:m], k - below)
    upper = bucket[k - below]
    if n % 2 == 1:
        return upper
    if k - 1 >= below:
        lower = bucket[0]
        for i in range(1, k - below):
            if bucket[i] > lower:
                lower = bucket[i]
        return (lower + upper) / 2
    # rank k − 1 is the largest value of the buckets below
    lower = np.float32(-1.0)
    for i in range(n):
        if ((bits[i] >> 20) & 2047) < b and x[i] > lower:
            lower = x[i]
    return (lower + upper) / 2


@numba.njit(cache=True)
def moving_average_centred(x, length, out):
    """``out[i]`` = mean of ``x[i − length//2 .. i + length//2]`` (zeros outside ``x``, divided
    by ``length`` everywhere), rounded to complex64: ``argosneo.dsp.convolve.moving_average_same``
    with one running complex128 sum instead of two cumulative-sum arrays."""
    n = x.shape[0]
    half = length // 2
    acc = 0j
    for j in range(min(half, n - 1) + 1):
        acc += x[j]
    for i in range(n):
        out[i] = np.complex64(acc / length)
        j = i + half + 1
        if j < n:
            acc += x[j]
        j = i - half
        if j >= 0:
            acc -= x[j]
