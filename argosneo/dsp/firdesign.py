"""Window-method FIR design: the subset of ``scipy.signal.firwin`` / ``kaiser_beta`` used here."""

from __future__ import annotations

import numpy as np


def kaiser_beta(attenuation_db: float) -> float:
    """Kaiser window ``β`` for a stop-band attenuation (Kaiser's empirical formula).

    Same as ``scipy.signal.kaiser_beta``.
    """
    a = float(attenuation_db)
    if a > 50:
        return 0.1102 * (a - 8.7)
    if a > 21:
        return 0.5842 * (a - 21) ** 0.4 + 0.07886 * (a - 21)
    return 0.0


def _window(name, num_taps: int) -> np.ndarray:
    if isinstance(name, tuple) and len(name) == 2 and name[0] == "kaiser":
        return np.kaiser(num_taps, float(name[1]))
    if name == "hamming":
        return np.hamming(num_taps)
    if name == "hann":
        return np.hanning(num_taps)
    raise ValueError(f"window {name!r} not supported (hamming, hann, ('kaiser', beta))")


def firwin_lowpass(num_taps: int, cutoff: float, *, window="hamming", scale: bool = True,
                   fs: float = 2.0) -> np.ndarray:
    """Linear-phase low-pass FIR filter by the window method.

    Parameters
    ----------
    num_taps : int
        Filter length.
    cutoff : float
        Cut-off frequency (−6 dB point), in the units of ``fs``; ``0 < cutoff < fs/2``.
    window : {"hamming", "hann"} or ("kaiser", beta)
        Window applied to the ideal (sinc) response; symmetric windows, as for filter design.
    scale : bool
        Normalise to unit gain at 0 Hz.
    fs : float
        Sampling frequency (default 2: ``cutoff`` relative to Nyquist).

    Returns
    -------
    numpy.ndarray
        ``float64`` taps; equal (to rounding) to ``scipy.signal.firwin(num_taps, cutoff,
        window=window, scale=scale, fs=fs)``.
    """
    num_taps = int(num_taps)
    nyq = 0.5 * float(fs)
    c = float(cutoff) / nyq
    if num_taps < 1 or not 0.0 < c < 1.0:
        raise ValueError(f"need num_taps >= 1 and 0 < cutoff < fs/2, got {num_taps}, {cutoff} (fs {fs})")
    m = np.arange(num_taps) - 0.5 * (num_taps - 1)
    h = c * np.sinc(c * m) * _window(window, num_taps)
    if scale:
        h /= np.sum(h)
    return h
