"""PTT-A3 / PTT-ZE (Argos-3, 400 bit/s) transmitter model: baseband waveform of one burst.

The coding chain (:mod:`argosneo.coding.a3`) is verified; the modulation is **not**. It follows
the only public model (``argos-research.md`` §2.1, a student simulator of the CNES spec), and every
choice in it is a named, ``UNCONFIRMED`` constant in :mod:`argosneo.spec_a3`:

* ``A3_CARRIER_DURATION_S`` (82 ms) of pure carrier, baseband ``A3_CARRIER_I + j·A3_CARRIER_Q``
  (d_I = 1, d_Q = 0);
* then QPSK ``(d_I + j·d_Q)·A3_DATA_SCALE`` at ``A3_SYMBOL_RATE`` symbols/s, i.e.
  s(t) = d_I cos ωt − d_Q sin ωt; symbol k carries over-air bits 2k (I) and 2k + 1 (Q);
* I is NRZ (bit 1 → ``A3_I_ONE_LEVEL``); Q is Manchester at ``A3_Q_CHIP_RATE`` chips/s (bit 1 →
  ``A3_Q_ONE_FIRST_CHIP`` then its opposite);
* pulses are rectangular with linear level transitions taking ``A3_TRANSITION_FRACTION`` of a Q
  chip, centred on each boundary (a light shaping standing in for the model's RRC α = 0.8),
  including the carrier → first-symbol boundary.

As for A2 (:func:`argosneo.synth.a2.render_a2_burst`), everything is a function of time since the
burst start, so a burst can start at a fractional sample and be rendered piecewise from absolute
sample indices with results identical to a one-shot render.
"""

from __future__ import annotations

import math

import numpy as np

from argosneo import spec_a3 as s3
from argosneo.errors import ScenarioError
from argosneo.synth.a2 import burst_sample_times

__all__ = ["a3_burst_duration", "a3_levels", "a3_baseband", "render_a3_burst"]


def _check_stream(bits) -> np.ndarray:
    b = np.asarray(bits)
    if b.ndim != 1 or b.size % 2 or b.size < 2:
        raise ScenarioError(f"an A3/ZE over-air stream needs an even, non-zero number of bits, got {b.size}")
    if not np.isin(b, (0, 1)).all():
        raise ScenarioError("A3/ZE over-air bits must be 0 or 1")
    return b.astype(np.int8)


def a3_burst_duration(n_bits: int) -> float:
    """Burst duration (s) for ``n_bits`` over-air bits (sync included): carrier + n_bits/2 symbols."""
    return s3.A3_CARRIER_DURATION_S + (int(n_bits) // 2) / s3.A3_SYMBOL_RATE


def a3_levels(bits) -> tuple[np.ndarray, np.ndarray]:
    """Unscaled channel levels of an over-air stream: I per symbol (±1), Q per Manchester chip
    (±1, two per symbol)."""
    b = _check_stream(bits)
    i_levels = (2.0 * b[0::2] - 1.0) * s3.A3_I_ONE_LEVEL
    q_first = (2.0 * b[1::2] - 1.0) * s3.A3_Q_ONE_FIRST_CHIP
    q_levels = np.stack([q_first, -q_first], axis=1).reshape(-1)
    return i_levels, q_levels


def _ramped(levels: np.ndarray, before: float, x: np.ndarray, w: float) -> np.ndarray:
    """Piecewise-constant ``levels`` (unit ``k`` spans x ∈ [k, k+1), ``before`` for x < 0) with
    linear transitions of width ``w`` units centred on every boundary; undefined past the end."""
    n = levels.size
    ext = np.concatenate([[before], levels, [levels[-1]]])
    k = np.floor(x)
    u = x - k
    kc = np.clip(k, -1, n).astype(np.int64)
    cur = ext[kc + 1]
    if w <= 0.0:
        return cur
    half = 0.5 * w
    prev = ext[np.clip(kc, 0, n + 1)]
    nxt = ext[np.clip(kc + 2, 0, n + 1)]
    out = np.where((u < half) & (k >= 0) & (k < n), cur + (cur - prev) * (u / w - 0.5), cur)
    out = np.where((u > 1.0 - half) & (k >= -1) & (k <= n - 2), cur + (nxt - cur) * ((u - 1.0) / w + 0.5), out)
    return out


def a3_baseband(bits, t, *, transition_fraction: float = s3.A3_TRANSITION_FRACTION) -> np.ndarray:
    """Complex baseband envelope of an A3/ZE burst at arbitrary times.

    Parameters
    ----------
    bits : sequence of 0/1
        Over-air bits (30 sync bits then the permuted code bits), even count.
    t : array_like of float
        Seconds since the burst start (carrier onset).
    transition_fraction : float
        Linear transition width as a fraction of a Q chip, in [0, 1).

    Returns
    -------
    numpy.ndarray
        complex128, same shape as ``t``: carrier level during the preamble, scaled QPSK after,
        0 before the start and from the end of the last symbol on.
    """
    w = float(transition_fraction)
    if not 0.0 <= w < 1.0:
        raise ScenarioError(f"transition fraction must be in [0, 1), got {transition_fraction!r}")
    i_levels, q_levels = a3_levels(bits)
    t = np.asarray(t, dtype=np.float64)
    tm = t - s3.A3_CARRIER_DURATION_S
    scale = s3.A3_DATA_SCALE
    # the carrier is expressed in data units so one ramp joins it to the first symbol
    i = _ramped(i_levels * scale, s3.A3_CARRIER_I, tm * s3.A3_SYMBOL_RATE, 0.5 * w)
    q = _ramped(q_levels * scale, s3.A3_CARRIER_Q, tm * s3.A3_Q_CHIP_RATE, w)
    inside = (t >= 0.0) & (tm * s3.A3_SYMBOL_RATE < i_levels.size)
    out = np.zeros(t.shape, dtype=np.complex128)
    out.real = np.where(inside, i, 0.0)
    out.imag = np.where(inside, q, 0.0)
    return out


def render_a3_burst(
    out: np.ndarray,
    first_sample: int,
    *,
    sample_rate: float,
    start_sample: float,
    bits,
    offset_hz: float = 0.0,
    drift_hz_s: float = 0.0,
    phase0: float = 0.0,
    amplitude: float = 1.0,
    transition_fraction: float = s3.A3_TRANSITION_FRACTION,
) -> slice:
    """Add (the part of) an A3/ZE burst that falls inside a sample buffer.

    Sample ``n`` (absolute index) is at ``t = (n − start_sample) / sample_rate`` from the burst
    start and receives ``amplitude · b(t) · exp(j(phase0 + 2π(f0·t + drift·t²/2)))`` with ``b``
    from :func:`a3_baseband` (envelope 1 with the default constants, so the burst power is
    ``amplitude**2``).

    Parameters
    ----------
    out : numpy.ndarray
        Complex buffer holding absolute samples ``first_sample …``; the burst is added in place.
    first_sample : int
        Absolute index of ``out[0]``.
    sample_rate : float
        Samples per second.
    start_sample : float
        Absolute (fractional) sample position of the carrier onset.
    bits : sequence of 0/1
        Over-air bits (:func:`argosneo.coding.a3.a3_frame_bits` / ``ze_frame_bits``).
    offset_hz, drift_hz_s, phase0, amplitude : float
        Carrier frequency at the start (Hz, relative to the capture centre), frequency rate,
        carrier phase at the start (rad), envelope amplitude.
    transition_fraction : float
        See :func:`a3_baseband`.

    Returns
    -------
    slice
        The slice of ``out`` that was touched (empty when the burst does not overlap it).
    """
    b = _check_stream(bits)
    sl, t = burst_sample_times(first_sample, len(out), start_sample, a3_burst_duration(b.size), sample_rate)
    if not t.size:
        return sl
    env = a3_baseband(b, t, transition_fraction=transition_fraction)
    phi = 2.0 * math.pi * (offset_hz + 0.5 * drift_hz_s * t) * t + phase0
    rot = np.empty(t.size, dtype=np.complex128)
    rot.real = np.cos(phi)
    rot.imag = np.sin(phi)
    out[sl] += amplitude * env * rot
    return sl
