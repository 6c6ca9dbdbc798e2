"""argosneo.dsp against its reference implementation, scipy.signal (which the receiver does not
import at run time: see argosneo/dsp/__init__.py)."""

import numpy as np
import pytest
from scipy import signal

from argosneo.dsp.convolve import correlate_valid, fft_convolve_same, moving_average_same, welch_density
from argosneo.dsp.firdesign import firwin_lowpass, kaiser_beta
from argosneo.dsp.resample import resample_poly


@pytest.mark.parametrize("a", [10.0, 21.0, 30.0, 50.0, 60.0, 113.0])
def test_kaiser_beta_matches_scipy(a):
    assert kaiser_beta(a) == pytest.approx(signal.kaiser_beta(a), rel=1e-14, abs=0)


@pytest.mark.parametrize("num_taps,cutoff,window,scale,fs", [
    (129, 2500.0, "hamming", True, 12800.0),
    (4097, 1 / 256, ("kaiser", 9.3), False, 1.0),
    (4096, 0.5 / 256, ("kaiser", 5.65), False, 1.0),
    (7501, 1 / 375, ("kaiser", 5.0), True, 2.0),
    (33, 0.3, "hann", True, 2.0),
])
def test_firwin_lowpass_matches_scipy(num_taps, cutoff, window, scale, fs):
    ours = firwin_lowpass(num_taps, cutoff, window=window, scale=scale, fs=fs)
    ref = signal.firwin(num_taps, cutoff, window=window, scale=scale, fs=fs)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12 * np.max(np.abs(ref)))


def test_firwin_rejects_bad_cutoff():
    with pytest.raises(ValueError):
        firwin_lowpass(31, 1.0)


@pytest.mark.parametrize("n,up,down", [(26532, 256, 375), (20000, 128, 375), (5001, 2048, 5000), (1000, 3, 2),
                                        (999, 2, 3), (10, 1, 4), (500, 5, 5)])
def test_resample_poly_matches_scipy(n, up, down):
    rng = np.random.default_rng(n + up)
    x = (rng.normal(size=n) + 1j * rng.normal(size=n)).astype(np.complex64)
    ours = resample_poly(x, up, down)
    ref = signal.resample_poly(x, up, down)
    assert ours.dtype == np.complex64 and ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-6 * np.max(np.abs(ref)))


def test_resample_poly_keeps_a_tone():
    fs_in, fs_out = 18750.0, 12800.0
    t = np.arange(20000) / fs_in
    y = resample_poly(np.exp(2j * np.pi * 1000.0 * t), 256, 375)
    t_out = np.arange(len(y)) / fs_out
    mid = slice(1000, len(y) - 1000)
    np.testing.assert_allclose(y[mid], np.exp(2j * np.pi * 1000.0 * t_out[mid]), atol=1e-3)


@pytest.mark.parametrize("nx,nh,cplx", [(18000, 129, True), (300, 7, False), (50, 51, True)])
def test_fft_convolve_same_matches_scipy(nx, nh, cplx):
    rng = np.random.default_rng(nx)
    x = rng.normal(size=nx).astype(np.float32)
    if cplx:
        x = (x + 1j * rng.normal(size=nx)).astype(np.complex64)
    h = rng.normal(size=nh).astype(np.float32)
    ours = fft_convolve_same(x, h)
    ref = signal.convolve(x, h, mode="same")
    assert ours.dtype == ref.dtype
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-4 * np.max(np.abs(ref)))


@pytest.mark.parametrize("n,length", [(18000, 257), (100, 51), (30, 51), (5, 1)])
def test_moving_average_same_matches_scipy(n, length):
    rng = np.random.default_rng(length)
    x = (rng.normal(size=n) + 1j * rng.normal(size=n)).astype(np.complex64)
    ours = moving_average_same(x, length)
    ref = signal.oaconvolve(x, np.ones(length, np.float32) / length, mode="same")
    assert ours.dtype == np.complex64 and ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)


def test_moving_average_rejects_even_length():
    with pytest.raises(ValueError):
        moving_average_same(np.ones(10), 4)


@pytest.mark.parametrize("cplx", [False, True])
def test_correlate_valid_matches_scipy(cplx):
    rng = np.random.default_rng(7)
    x = rng.normal(size=2000)
    t = rng.normal(size=768)
    if cplx:
        x = x + 1j * rng.normal(size=2000)
        t = t + 1j * rng.normal(size=768)
    ours = correlate_valid(x, t)
    ref = signal.correlate(x, t, mode="valid")
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9 * np.max(np.abs(ref)))


@pytest.mark.parametrize("n", [256, 300, 5000])
def test_welch_density_matches_scipy(n):
    rng = np.random.default_rng(n)
    x = (rng.normal(size=n) + 1j * rng.normal(size=n)).astype(np.complex64)
    f, p = welch_density(x, 12800.0, 256)
    f_ref, p_ref = signal.welch(x, fs=12800.0, nperseg=256, return_onesided=False, scaling="density",
                                detrend=False)
    np.testing.assert_allclose(f, f_ref)
    np.testing.assert_allclose(p, p_ref, rtol=1e-5)


def test_rotate_matches_numpy():
    from argosneo.dsp.rotate import rotate, rotate_by_levels

    rng = np.random.default_rng(3)
    x = (rng.normal(size=5000) + 1j * rng.normal(size=5000)).astype(np.complex64)
    phase = np.cumsum(rng.normal(size=5000))
    np.testing.assert_allclose(rotate(x, phase), x * np.exp(-1j * phase).astype(np.complex64), rtol=0, atol=2e-6)
    levels = rng.integers(-1, 2, size=5000).astype(np.float32)
    np.testing.assert_allclose(rotate_by_levels(x, levels, 1.04), x * np.exp(-1j * 1.04 * levels), rtol=0, atol=2e-6)
    with pytest.raises(ValueError):
        rotate(x, phase[:-1])
