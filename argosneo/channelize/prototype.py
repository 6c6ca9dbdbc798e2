"""Prototype low-pass filters for the polyphase channelizer.

Frequencies below are in units of the channel spacing ``fs / M`` unless said otherwise.

Receiver design (``oversample=2``, the default)
------------------------------------------------
The channel outputs run at ``2 fs / M`` (two channel spacings). A burst whose carrier is
anywhere within ``±fs/(2M)`` of a channel centre and whose spectrum extends ``±B`` around the
carrier (``B`` ≈ 2.5 kHz for PTT-A2, :data:`SIGNAL_HALF_BANDWIDTH_HZ`) occupies
``|f| ≤ 1/2 + B·M/fs``. That is the passband edge ``fp`` the prototype must keep flat. After
decimation to ``2 fs/M`` a component at ``f`` folds onto ``f − 2``, so nothing aliases onto the
passband if the stopband starts at ``fstop = 2 − fp``. The prototype is a Kaiser-windowed sinc
with its cut-off half-way, at ``(fp + fstop)/2 = 1`` channel spacing, and its Kaiser ``β`` chosen
for the attenuation that ``L = M · taps_per_branch`` taps can reach over the transition
``fstop − fp`` (Kaiser's empirical formula, capped at 120 dB, beyond float32 precision).

Measured with :func:`response_metrics` for ``fp = 0.82`` (2.5 kHz signals at 7.8 kHz spacing,
the value for ``fs = 250 kS/s, M = 32``; identical for M = 256)::

    taps_per_branch   passband (|f| <= 0.82)   stopband (|f| >= 1.18)
     8                ±0.04 dB                 49 dB
    10                ±0.011 dB                59 dB
    12                ±0.004 dB                69 dB
    16 (default)      ±0.0004 dB               91 dB
    20                ±0.00003 dB              111 dB

``fs = 2.4 MS/s, M = 256`` (9.375 kHz spacing) needs only ``fp = 0.77``
(:func:`receiver_passband_fraction`); with that passband 10 taps per branch reach 73 dB and 16
reach 113 dB. So 12 taps per branch is the least that meets 60 dB at the narrower spacing, and
the default 16 leaves ~30 dB of margin. A tone at a channel edge (``f = 0.5``) is in the flat
passband of both neighbouring channels (0 dB in each), a tone at a channel centre is at the
−6.02 dB cut-off of its neighbours' filters and ≥ 91 dB down in every other channel.

Critically sampled design (``oversample=1``)
--------------------------------------------
Outputs run at ``fs/M``; the same rule gives ``fstop = 1 − fp`` with a default ``fp = 0.35``
and the cut-off at ``0.5`` (−6 dB at the channel edges). With 16 taps per branch: ripple
±0.002 dB, stopband 76 dB.

liquid-dsp style prototype
--------------------------
:func:`liquid_kaiser_prototype` builds the filter ``firpfbch_crcf_create_kaiser`` would use
(``2·M·m + 1`` Kaiser taps, cut-off ``0.5/M`` cycles/sample, last tap dropped so the bank has
``2m`` taps per branch); the peer benchmark feeds those exact taps to every implementation.
"""

from __future__ import annotations

import math

import numpy as np

from argosneo.dsp.firdesign import firwin_lowpass, kaiser_beta
from argosneo.errors import ArgosneoError

#: One-sided bandwidth of an Argos burst around its carrier (Hz) the default receiver passband
#: is sized for (the receiver's design figure: A2 biphase-L at 800 chip/s keeps its main lobes
#: and first side lobes well inside it).
SIGNAL_HALF_BANDWIDTH_HZ = 2.5e3

#: Default passband edge (fraction of the channel spacing) for ``oversample=2``: ``0.5 + B/Δ``
#: with B = 2.5 kHz and the receiver's narrowest spacing Δ = 250 kS/s / 32 = 7.8125 kHz.
DEFAULT_PASSBAND_FRACTION_OS2 = 0.82
#: Default passband edge for critically sampled banks (``oversample=1``).
DEFAULT_PASSBAND_FRACTION_OS1 = 0.35

#: Kaiser attenuations above this are meaningless in float32 arithmetic.
_MAX_ATTENUATION_DB = 120.0


def _check_bank(num_channels: int, taps_per_branch: int, oversample: int) -> None:
    if not isinstance(num_channels, (int, np.integer)) or num_channels < 2 or num_channels % 2:
        raise ArgosneoError(f"channelizer: num_channels must be an even integer >= 2, got {num_channels!r}")
    if not isinstance(taps_per_branch, (int, np.integer)) or taps_per_branch < 1:
        raise ArgosneoError(f"channelizer: taps_per_branch must be a positive integer, got {taps_per_branch!r}")
    if oversample not in (1, 2):
        raise ArgosneoError(f"channelizer: oversample must be 1 or 2, got {oversample!r}")


def default_passband_fraction(oversample: int) -> float:
    """Default passband edge, as a fraction of the channel spacing, for an oversampling factor."""
    return DEFAULT_PASSBAND_FRACTION_OS2 if oversample == 2 else DEFAULT_PASSBAND_FRACTION_OS1


def receiver_passband_fraction(
    sample_rate: float, num_channels: int, signal_half_bandwidth_hz: float = SIGNAL_HALF_BANDWIDTH_HZ
) -> float:
    """Passband edge needed so a signal anywhere within half a channel of a centre stays whole.

    Parameters
    ----------
    sample_rate : float
        Input sample rate ``fs`` (Hz).
    num_channels : int
        Number of channels ``M``; the spacing is ``fs / M``.
    signal_half_bandwidth_hz : float, optional
        One-sided bandwidth of the signal around its carrier (Hz).

    Returns
    -------
    float
        ``0.5 + signal_half_bandwidth_hz · M / fs`` (fraction of the channel spacing).
    """
    if sample_rate <= 0 or num_channels < 2:
        raise ArgosneoError("channelizer: sample_rate must be > 0 and num_channels >= 2")
    return 0.5 + signal_half_bandwidth_hz * num_channels / sample_rate


def kaiser_attenuation_db(num_taps: int, transition_cycles: float) -> float:
    """Stopband attenuation (dB) Kaiser's formula predicts for a length and transition width.

    ``transition_cycles`` is the transition width in cycles per input sample.
    """
    return 2.285 * (num_taps - 1) * 2 * math.pi * transition_cycles + 7.95


def design_prototype(
    num_channels: int,
    taps_per_branch: int = 16,
    *,
    oversample: int = 2,
    passband_fraction: float | None = None,
) -> np.ndarray:
    """Design the channelizer's prototype low-pass filter.

    Parameters
    ----------
    num_channels : int
        Number of channels ``M`` (even, >= 2).
    taps_per_branch : int, optional
        Taps per polyphase branch; the prototype has ``L = M · taps_per_branch`` taps.
    oversample : {2, 1}, optional
        Output rate in channel spacings (2: ``2 fs/M``, 1: critically sampled ``fs/M``).
    passband_fraction : float, optional
        Passband edge ``fp`` as a fraction of the channel spacing ``fs/M``; must satisfy
        ``0 < fp < oversample / 2``. Default :func:`default_passband_fraction`.

    Returns
    -------
    numpy.ndarray
        ``float64`` array of ``L`` taps, linear phase, normalised to ``sum(h) == 1`` (unit DC
        gain: a tone at a channel centre keeps its amplitude).

    Notes
    -----
    The stopband starts at ``oversample − fp`` (the lowest frequency that folds onto the
    passband edge after decimation); the cut-off sits half-way, at ``oversample / 2``.
    """
    _check_bank(num_channels, taps_per_branch, oversample)
    fp = default_passband_fraction(oversample) if passband_fraction is None else float(passband_fraction)
    if not 0.0 < fp < oversample / 2:
        raise ArgosneoError(
            f"channelizer: passband_fraction must be in (0, {oversample / 2}) for oversample={oversample}, got {fp}"
        )
    num_taps = num_channels * taps_per_branch
    fstop = oversample - fp
    transition = (fstop - fp) / num_channels  # cycles per input sample
    atten = min(kaiser_attenuation_db(num_taps, transition), _MAX_ATTENUATION_DB)
    beta = kaiser_beta(max(atten, 21.0))
    # cycles/sample (fs = 1); M = 2 with oversample = 2 (no decimation) puts it at Nyquist,
    # which firwin rejects, so keep it a hair below.
    cutoff = min((oversample / 2) / num_channels, 0.5 - 1e-9)
    h = firwin_lowpass(num_taps, cutoff, window=("kaiser", beta), scale=False, fs=1.0)
    return h / h.sum()


def liquid_kaiser_prototype(num_channels: int, m: int = 8, stopband_db: float = 60.0) -> np.ndarray:
    """Kaiser prototype in the style of liquid-dsp's ``firpfbch_crcf_create_kaiser``.

    ``2·M·m + 1`` taps of a Kaiser-windowed sinc with cut-off ``0.5/M`` cycles/sample and the
    Kaiser ``β`` for ``stopband_db``; the last tap is dropped so the bank has ``2m`` taps per
    branch (``M · 2m`` taps). Normalised to ``sum(h) == 1``.
    """
    _check_bank(num_channels, 2 * m, 1)
    n = 2 * num_channels * m + 1
    beta = kaiser_beta(stopband_db)
    h = firwin_lowpass(n, 0.5 / num_channels, window=("kaiser", beta), scale=False, fs=1.0)[:-1]
    return h / h.sum()


def response_metrics(
    h: np.ndarray, num_channels: int, passband_fraction: float, stopband_fraction: float, n_fft: int | None = None
) -> dict:
    """Measure a prototype's passband ripple and stopband attenuation.

    Parameters
    ----------
    h : numpy.ndarray
        Prototype taps (any DC gain; the response is normalised to the DC gain).
    num_channels : int
        ``M``; the edges below are fractions of ``fs / M``.
    passband_fraction, stopband_fraction : float
        Passband edge and stopband start, fractions of the channel spacing.
    n_fft : int, optional
        FFT size for the response (default: 64 points per tap, at least 2**16).

    Returns
    -------
    dict
        ``passband_ripple_db`` (max |20 log10 |H/H(0)|| over the passband) and
        ``stopband_attenuation_db`` (−max 20 log10 |H/H(0)| over the stopband, positive).
    """
    h = np.asarray(h, dtype=np.float64)
    if n_fft is None:
        n_fft = max(1 << 16, 1 << int(math.ceil(math.log2(64 * len(h)))))
    resp = np.abs(np.fft.rfft(h, n_fft))
    resp_db = 20 * np.log10(np.maximum(resp / abs(h.sum()), 1e-300))
    f = np.arange(resp.size) / n_fft * num_channels  # in channel spacings
    pb = f <= passband_fraction
    sb = f >= stopband_fraction
    return {
        "passband_ripple_db": float(np.max(np.abs(resp_db[pb]))),
        "stopband_attenuation_db": float(-np.max(resp_db[sb])),
    }
