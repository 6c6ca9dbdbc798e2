"""Fast convolution, moving averages, correlation and Welch spectral density for 1-D arrays."""

from __future__ import annotations

import numpy as np
import scipy.fft


def fft_convolve_same(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Linear convolution of ``x`` with ``h``, the ``len(x)`` central samples
    (``scipy.signal.convolve(x, h, mode="same")``), by one FFT product.

    For an odd-length symmetric ``h`` the output is aligned with ``x`` (no delay). The result has
    the dtype numpy gives ``x * h``.
    """
    full = fft_convolve_full(x, h)
    first = (len(h) - 1) // 2
    return full[first:first + len(x)]


def moving_average_same(x: np.ndarray, length: int) -> np.ndarray:
    """Centred moving average over ``length`` samples (odd), zero outside ``x``: equal to
    ``convolve(x, ones(length) / length, mode="same")``, in O(n) with a float64 running sum."""
    length = int(length)
    if length < 1 or length % 2 == 0:
        raise ValueError(f"length must be odd and positive, got {length}")
    n = len(x)
    half = length // 2
    acc = np.complex128 if np.iscomplexobj(x) else np.float64
    c = np.zeros(n + length, dtype=acc)
    np.cumsum(x, out=c[half + 1: half + 1 + n])
    c[half + 1 + n:] = c[half + n]
    # out[i] = (sum x[i-half .. i+half]) / length = (c[i + 2·half + 1] − c[i]) / length, with
    # c[j] = sum of x[0 .. j − half − 1] (zero before the start, flat after the end)
    out = (c[length:length + n] - c[:n]) / length
    return out.astype(np.result_type(x.dtype, np.float32), copy=False)


def correlate_valid(x: np.ndarray, template: np.ndarray) -> np.ndarray:
    """``out[k] = Σ_n x[n + k] · conj(template[n])`` for every full overlap
    (``scipy.signal.correlate(x, template, mode="valid")``), by FFT."""
    if len(template) > len(x):
        raise ValueError("template longer than the signal")
    full = fft_convolve_full(x, np.conj(template[::-1]))
    return full[len(template) - 1: len(x)]


def fft_convolve_full(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Full linear convolution of ``x`` and ``h`` by FFT (``len(x) + len(h) − 1`` samples)."""
    n = len(x) + len(h) - 1
    nfft = scipy.fft.next_fast_len(n)
    dtype = np.result_type(x.dtype, h.dtype)
    if np.iscomplexobj(x) or np.iscomplexobj(h):
        full = scipy.fft.ifft(scipy.fft.fft(x, nfft) * scipy.fft.fft(h, nfft))[:n]
    else:
        full = scipy.fft.irfft(scipy.fft.rfft(x, nfft) * scipy.fft.rfft(h, nfft), nfft)[:n]
    return full.astype(dtype, copy=False)


def welch_density(x: np.ndarray, fs: float, nperseg: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided Welch power spectral density of complex ``x``: periodic Hann window, 50 %
    overlap, no detrending, segments averaged (``scipy.signal.welch(x, fs, nperseg=nperseg,
    return_onesided=False, scaling="density", detrend=False)``).

    Returns
    -------
    f, pxx : numpy.ndarray
        Frequencies (FFT order, Hz) and density (power / Hz).
    """
    if len(x) < nperseg:
        raise ValueError(f"need at least {nperseg} samples, got {len(x)}")
    step = nperseg - nperseg // 2
    n_seg = (len(x) - nperseg) // step + 1
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(nperseg) / nperseg)
    idx = np.arange(nperseg)[None, :] + step * np.arange(n_seg)[:, None]
    spectra = scipy.fft.fft(x[idx] * window, axis=1)
    pxx = np.mean(spectra.real ** 2 + spectra.imag ** 2, axis=0) / (fs * np.sum(window ** 2))
    return scipy.fft.fftfreq(nperseg, 1.0 / fs), pxx
