"""The carrier detector's Numba kernels against the numpy expressions they replace (bit-exact)."""

import numpy as np
import pytest
import scipy.fft

from argosneo.detect import carrier


@pytest.mark.parametrize("n", [1, 7, 8, 9, 127, 128, 129, 257, 513, 1025, 4099])
def test_pairwise_sum_is_numpys_float32_sum(n):
    rng = np.random.default_rng(n)
    x = (rng.exponential(size=n + 3) * 1e3).astype(np.float32)
    assert carrier._pairwise_sum(x, 3, n) == x[3:].sum()


@pytest.mark.parametrize("n_ch,fft_size,h", [(256, 1024, 256), (32, 1024, 255), (5, 64, 16)])
def test_frame_power_and_floor_match_numpy(n_ch, fft_size, h):
    rng = np.random.default_rng(fft_size + h)
    data = (rng.standard_normal((3 * fft_size, n_ch))
            + 1j * rng.standard_normal((3 * fft_size, n_ch))).astype(np.complex64)
    data[fft_size:2 * fft_size, 1] += 20 * np.exp(2j * np.pi * 0.01 * np.arange(fft_size))
    window = np.hanning(fft_size).astype(np.float32)
    row0 = fft_size
    # reference: the detector's former numpy formulation
    spectra = scipy.fft.fft(data[row0:row0 + fft_size].T * window, axis=1, workers=1)
    owned = np.concatenate([spectra[:, : h + 1], spectra[:, fft_size - h:]], axis=1)
    ref_power = owned.real ** 2 + owned.imag ** 2
    mean = ref_power.mean(axis=1, keepdims=True)
    quiet = ref_power < 4.0 * mean
    ref_floor = (ref_power * quiet).sum(axis=1) / np.maximum(quiet.sum(axis=1), 1)
    ref_floor = np.maximum(ref_floor / carrier.QUIET_MEAN_FACTOR, 1e-30)
    # the kernels, as the detector runs them: a frame of all channels filled in two pieces, FFT
    # down the columns
    power = np.empty((n_ch, 2 * h + 1), np.float32)
    floor = np.empty(n_ch)
    buf = np.empty((fft_size, n_ch), np.complex64)
    carrier._window_rows(data, row0, window, 0, fft_size // 3, buf)
    carrier._window_rows(data, row0 + fft_size // 3, window, fft_size // 3, fft_size - fft_size // 3, buf)
    spec = scipy.fft.fft(buf, axis=0, workers=1, overwrite_x=True)
    carrier._owned_power_floor(spec, h, carrier.QUIET_MEAN_FACTOR, power, floor, np.empty(2 * h + 1, np.float32))
    assert np.array_equal(power, ref_power)
    assert np.array_equal(floor, ref_floor)
    assert floor[1] > 0 and power[1].max() > 50 * floor[1]     # the tone is there
