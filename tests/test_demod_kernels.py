"""The A2/VLD demodulator's Numba kernels against the numpy expressions they replace."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft

from argosneo.demodulate import a2
from argosneo.demodulate import a2_kernels as k
from argosneo.dsp.convolve import fft_convolve_same
from argosneo.dsp.rotate import rotate_by_levels


def _noise(n, seed, dtype=np.complex64):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dtype)


def _reference_bit_statistics(y_cum, reference_cum, half_window, start, n_bits, polarity):
    """The numpy implementation the kernel replaced."""
    spc = float(a2.SAMPLES_PER_CHIP)
    edges = a2.sample_cumulative(y_cum, start + spc * np.arange(2 * n_bits + 1))
    chips = np.diff(edges)
    difference = chips[0::2] - chips[1::2]
    bit_start = start + 2 * spc * np.arange(n_bits)
    centre = bit_start + spc
    around = (a2.sample_cumulative(reference_cum, centre + half_window)
              - a2.sample_cumulative(reference_cum, centre - half_window))
    own = (a2.sample_cumulative(reference_cum, bit_start + 2 * spc)
           - a2.sample_cumulative(reference_cum, bit_start))
    reference = around - own
    rotation = np.conj(reference) / (np.abs(reference) + 1e-30)
    return polarity * (difference * rotation).imag


def _reference_track(chips, start, step, n):
    idx = np.floor((np.arange(n) - start) / step).astype(np.int64)
    inside = (idx >= 0) & (idx < len(chips))
    track = np.zeros(n, dtype=np.float32)
    track[inside] = chips[idx[inside]]
    return track


def _burst(n_bits=120, seed=3, start=400.3, snr=3.0):
    """A biphase-modulated carrier (β = 1.04 rad) in noise at the demodulator's rate."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, n_bits)
    chips = a2.biphase_chips(bits)
    n = int(start + 2 * n_bits * a2.SAMPLES_PER_CHIP + 500)
    track = _reference_track(chips, start, float(a2.SAMPLES_PER_CHIP), n)
    phase = 1.04 * track + 0.3 + 2 * np.pi * 7.0 * np.arange(n) / 12800
    y = snr * np.exp(1j * phase) + _noise(n, seed + 1)
    return y.astype(np.complex64), bits, chips, track


def test_biphase_statistics_matches_numpy():
    y, bits, _, track = _burst()
    y_cum = a2._cumulative(y)
    ref_cum = a2._cumulative(rotate_by_levels(y, track, 1.04))
    starts = [400.3 + off for off in np.linspace(-0.75, 0.75, 7)] + [-40.0, 390.0, len(y) - 100.5]
    got = a2.A2Demodulator._bit_statistics_at(y_cum, ref_cum, 128.0, starts, len(bits))
    for row, start in zip(got, starts):
        want = _reference_bit_statistics(y_cum, ref_cum, 128.0, start, len(bits), 1)
        np.testing.assert_allclose(row, want, rtol=1e-9, atol=1e-9 * np.max(np.abs(want)))
    soft = a2.A2Demodulator._bit_statistics(y_cum, ref_cum, 128.0, 400.3, len(bits), -1)
    np.testing.assert_array_equal(soft, -got[3])
    # a real decision: the burst's bits come out of the statistics
    assert np.array_equal(soft < 0, bits.astype(bool) == (a2.spec.A2_BIT_ONE_FIRST_CHIP_SIGN > 0))


@pytest.mark.parametrize("start", [-7.5, 0.0, 33.25, 1990.0])
def test_chip_levels_matches_numpy(start):
    chips = a2.biphase_chips(np.array([1, 0, 0, 1, 1])) * -1
    got = a2._modulation_phase_track(chips, start, 16.0, 2000)
    np.testing.assert_array_equal(got, _reference_track(chips, start, 16.0, 2000))


def test_rotate_levels_cumulative_matches_numpy():
    y, _, _, track = _burst(seed=5)
    for beta in (0.3, 1.04, 1.5):
        np.testing.assert_array_equal(a2._wiped_cumulative(y, track, beta),
                                      a2._cumulative(rotate_by_levels(y, track, beta)))


def test_windowed_frames_fft_matches_numpy():
    y = _noise(3000, 7)
    frame, hop, nfft = 512, 256, 4096
    n_frames = (len(y) - frame) // hop + 1
    taper = np.hanning(frame).astype(np.float32)
    out = np.empty((n_frames, nfft), dtype=np.complex64)
    k.windowed_frames(y, taper, hop, out)
    idx = np.arange(frame)[None, :] + hop * np.arange(n_frames)[:, None]
    frames = y[idx] * taper
    np.testing.assert_array_equal(out[:, :frame], frames)
    assert not np.any(out[:, frame:])
    np.testing.assert_array_equal(scipy.fft.fft(out, axis=1, workers=1, overwrite_x=True),
                                  scipy.fft.fft(frames, nfft, axis=1, workers=1))


def test_carrier_line_peaks_matches_numpy():
    rng = np.random.default_rng(11)
    spectra = (_noise(40 * 256, 8).reshape(40, 256) * 30)
    spectra[np.arange(40), rng.integers(0, 256, 40)] *= 20     # a line per row
    spectra[3, :] = spectra[3, 0]                               # ties: the first maximum wins
    band = np.r_[0:20, 236:256]
    floor_bins = np.r_[0:100, 157:256]                          # odd and even counts below
    power = np.abs(spectra) ** 2
    for fb in (floor_bins, floor_bins[:-1]):
        peak = np.empty(40, dtype=np.int64)
        pk, lo, hi, floor = (np.empty(40, dtype=np.float32) for _ in range(4))
        k.carrier_line_peaks(spectra, band, fb, peak, pk, lo, hi, floor)
        band_power = power[:, band]
        np.testing.assert_array_equal(peak, np.argmax(band_power, axis=1))
        rows = np.arange(40)
        np.testing.assert_allclose(pk, band_power[rows, peak], rtol=1e-6)
        inner = (peak > 0) & (peak < len(band) - 1)
        np.testing.assert_allclose(lo[inner], band_power[rows[inner], peak[inner] - 1], rtol=1e-6)
        np.testing.assert_allclose(hi[inner], band_power[rows[inner], peak[inner] + 1], rtol=1e-6)
        np.testing.assert_allclose(floor, np.median(power[:, fb], axis=1), rtol=1e-6)


@pytest.mark.parametrize("n", [1, 2, 3, 8, 9, 100, 1439, 1440])
def test_median_in_place_matches_numpy(n):
    rng = np.random.default_rng(n)
    for x in (rng.standard_normal(n), np.round(rng.standard_normal(n) * 2), np.sort(rng.standard_normal(n)),
              np.full(n, 2.5)):
        x = x.astype(np.float32)
        assert k.median_in_place(x.copy()) == np.median(x)
    x = rng.standard_normal(n)
    x[n // 2] = np.nan
    assert math.isnan(k.median_in_place(x))


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_vander_decreasing_matches_numpy(order):
    x = np.random.default_rng(order).standard_normal(50) * 3
    out = np.empty((50, order))
    k.vander_decreasing(x, out)
    np.testing.assert_array_equal(out, np.vander(x, order))


@pytest.mark.parametrize("weighted", [False, True])
def test_polyfit_matches_numpy(weighted):
    rng = np.random.default_rng(4)
    for deg, n in ((1, 40), (2, 5000)):
        t = np.sort(rng.uniform(0, 0.5, n))
        y = (3.0 * t * t - 20.0 * t + 0.4 + 0.01 * rng.standard_normal(n)).astype(np.float32)
        w = rng.uniform(1, 5, n) if weighted else None
        expected = np.polyfit(t, y, deg, w=w)
        np.testing.assert_array_equal(a2._polyfit_lstsq(t, y, deg, w=w), expected)
        # normal equations of the centred abscissa: agree with the SVD solution to 1e-10 of
        # the coefficient scale (the demodulator reads frequency and drift from these). The
        # kernel works in double throughout, where numpy rounds y·w to float32 for a float32 y.
        expected = np.polyfit(t, y.astype(np.float64), deg, w=w)
        got = a2._polyfit(t, y, deg, w=w)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10 * np.max(np.abs(expected)))


def test_polyfit_degenerate_falls_back_to_lstsq():
    t = np.full(10, 0.25)
    y = np.arange(10.0)
    with pytest.warns(np.exceptions.RankWarning):
        got = a2._polyfit(t, y, 1)
    with pytest.warns(np.exceptions.RankWarning):
        expected = np.polyfit(t, y, 1)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("coeffs, t0", [((0.0, 2 * np.pi * 1234.5, 0.0), 0.0),
                                        ((np.pi * -180.0, 2 * np.pi * 37.2, 0.7), -0.31),
                                        ((55.0, -3.0, 2.0), 0.4)])
def test_rotate_quadratic_matches_rotate(coeffs, t0):
    from argosneo.dsp.rotate import rotate
    x = _noise(20001, 11)
    dt = 1 / 12800
    t = t0 + dt * np.arange(len(x))
    out = np.empty_like(x)
    k.rotate_quadratic(x, *coeffs, t0, dt, out)
    # complex64 output: the recurrence (re-anchored every 64 samples) adds < 1e-6 relative
    expected = rotate(x, np.polyval(coeffs, t))
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6 * np.max(np.abs(x)))
    np.testing.assert_allclose(a2._rotate_polynomial(x, coeffs[1:], t0, dt),
                               rotate(x, np.polyval(coeffs[1:], t)), rtol=0,
                               atol=1e-6 * np.max(np.abs(x)))
    total = k.rotated_sum_quadratic(x, *coeffs, t0, dt)
    expected_total = np.sum(x * np.exp(-1j * np.polyval(coeffs, t)))
    assert abs(total - expected_total) < 1e-9 * np.sum(np.abs(x))


def test_rotate_by_reference_matches_unwrapped_angle():
    from argosneo.dsp.rotate import rotate
    y = _noise(3000, 12)
    z = a2._centred_moving_average(_noise(3000, 13) + 2.0 * np.exp(1j * 0.01 * np.arange(3000)), 31)
    z[5] = 0
    out = np.empty_like(y)
    assert k.rotate_by_reference(y, z, out)
    np.testing.assert_allclose(out, rotate(y, np.unwrap(np.angle(z))), rtol=0, atol=2e-6 * np.max(np.abs(y)))
    z[100] = np.nan
    assert not k.rotate_by_reference(y, z, out)


@pytest.mark.parametrize("n", [1, 2, 7, 1439, 1440, 4000])
def test_median_by_histogram_matches_numpy(n):
    rng = np.random.default_rng(n)
    hist = np.empty(2048, dtype=np.int64)
    cases = [rng.exponential(3.0, n),                       # noise powers
             np.round(rng.exponential(3.0, n), 1),          # many ties
             np.concatenate([np.zeros(n // 2), rng.exponential(1.0, n - n // 2)]),
             np.full(n, 0.5),
             2.0 ** rng.integers(-30, 30, n),               # exact bucket boundaries
             rng.uniform(1.0, 1.0001, n)]                   # everything in one bucket
    for x in cases:
        x = x.astype(np.float32)
        before = x.copy()
        bucket = np.empty(n, dtype=np.float32)
        assert k.median_by_histogram(x, hist, bucket) == np.median(x)
        np.testing.assert_array_equal(x, before)
    x = rng.exponential(1.0, n).astype(np.float32)
    x[n // 3] = np.nan
    assert math.isnan(k.median_by_histogram(x, hist, np.empty(n, dtype=np.float32)))
    x = rng.standard_normal(n).astype(np.float32)   # negative values: full selection
    assert k.median_by_histogram(x, hist, np.empty(n, dtype=np.float32)) == np.median(x)


def test_band_limit_matches_dsp():
    demod = a2.A2Demodulator()
    for n in (18113, 9000):
        x = _noise(n, n)
        want = fft_convolve_same(x, demod._band_filter).astype(np.complex64)
        np.testing.assert_array_equal(demod._band_limit(x), want)
        np.testing.assert_array_equal(demod._band_limit(x), want)    # cached filter spectrum


def test_carrier_track_finds_line_and_drift():
    fs = 12800.0
    n = 18000
    t = np.arange(n) / fs
    y = 2.0 * np.exp(2j * np.pi * (-123.0 * t + 0.5 * 40.0 * t * t)) + _noise(n, 12)
    f0, drift = a2.A2Demodulator()._carrier_track(y.astype(np.complex64))
    assert abs(f0 + 123.0) < 2.0
    assert abs(drift - 40.0) < 5.0


@pytest.mark.parametrize("n, length", [(3000, 257), (3000, 51), (100, 257), (1, 1), (5, 3)])
def test_moving_average_centred_matches_dsp(n, length):
    from argosneo.dsp.convolve import moving_average_same
    x = _noise(n, 14) * 3 + 1.5
    out = np.empty_like(x)
    k.moving_average_centred(x, length, out)
    # complex64 output, running complex128 sum: a few float32 roundings
    np.testing.assert_allclose(out, moving_average_same(x, length), rtol=0, atol=1e-6 * np.max(np.abs(x)))
    np.testing.assert_allclose(a2._centred_moving_average(x, length), out, rtol=0, atol=0)
