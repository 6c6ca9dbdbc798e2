"""Polyphase channelizer: exactness against the direct definition, streaming, filter properties."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from scipy import signal

from argosneo.channelize import (
    PolyphaseChannelizer,
    channel_offsets_hz,
    channel_rate,
    design_prototype,
    liquid_kaiser_prototype,
    receiver_passband_fraction,
    reference_channelize,
    response_metrics,
)
from argosneo.errors import ArgosneoError


def _noise(n, seed=0):
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


def _tone(n, freq_cycles, amplitude=1.0, phase=0.0):
    m = np.arange(n)
    # Phase from an exact integer/float product modulo 1 keeps float64 error tiny for long inputs.
    return (amplitude * np.exp(1j * (2 * np.pi * ((freq_cycles * m) % 1.0) + phase))).astype(np.complex64)


def _db(v):
    return 20 * np.log10(v)


@pytest.mark.parametrize("num_channels", [2, 4, 8, 32])
@pytest.mark.parametrize("oversample", [1, 2])
def test_matches_direct_reference(num_channels, oversample):
    ch = PolyphaseChannelizer(num_channels, oversample=oversample)
    x = _noise(41 * num_channels + 7, seed=num_channels)
    y = ch.process(x)
    ref = reference_channelize(x, ch.taps, num_channels, ch.decimation)
    assert y.shape == ref.shape == (-(-x.size // ch.decimation), num_channels)
    assert y.dtype == np.complex64
    rms = np.sqrt(np.mean(np.abs(ref) ** 2))
    assert np.max(np.abs(y - ref)) <= 1e-4 * rms


def test_matches_reference_with_explicit_prototype_not_multiple_of_m():
    h = signal.firwin(45, 0.1)  # 45 taps: padded to 48 for M=8
    ch = PolyphaseChannelizer(8, oversample=2, prototype=h)
    assert ch.filter_length == 45 and ch.taps_per_branch == 6
    x = _noise(500, seed=3)
    ref = reference_channelize(x, h, 8, 4)
    y = ch.process(x)
    assert np.max(np.abs(y - ref)) <= 1e-4 * np.sqrt(np.mean(np.abs(ref) ** 2))
    assert ch.group_delay == 22.0


@pytest.mark.parametrize("oversample", [1, 2])
def test_chunking_invariance(oversample):
    m = 16
    x = _noise(20000, seed=5)
    whole = PolyphaseChannelizer(m, oversample=oversample).process(x)
    ch = PolyphaseChannelizer(m, oversample=oversample)
    rng = np.random.default_rng(7)
    parts, i = [], 0
    sizes = [0, 1, 1, 0, 3, 257, 1, 2, m * 16 - 1, m * 16, m * 16 + 1, 5000]
    while i < x.size:
        n = sizes.pop(0) if sizes else int(rng.integers(0, 700))
        out = ch.process(x[i:i + n])
        assert out.shape[1] == m
        parts.append(out)
        i += n
    got = np.concatenate(parts)
    assert np.array_equal(got, whole)
    assert ch.samples_consumed == x.size
    assert ch.output_count == whole.shape[0] == -(-x.size // ch.decimation)
    # reset() starts again from input index 0 with zero history
    ch.reset()
    assert ch.samples_consumed == 0 and ch.output_count == 0
    assert np.array_equal(ch.process(x[:3000]), whole[: -(-3000 // ch.decimation)])


def test_empty_and_tiny_inputs():
    ch = PolyphaseChannelizer(8)
    out = ch.process(np.zeros(0, np.complex64))
    assert out.shape == (0, 8) and out.dtype == np.complex64
    assert ch.process([1.0 + 0j]).shape == (1, 8)  # output 0 needs only input 0
    assert ch.process([0j, 0j, 0j]).shape == (0, 8)
    assert ch.process([0j]).shape == (1, 8)  # input index 4 = 1·D
    assert ch.output_count == 2 and ch.samples_consumed == 5


def test_bad_arguments():
    with pytest.raises(ArgosneoError):
        PolyphaseChannelizer(7)
    with pytest.raises(ArgosneoError):
        PolyphaseChannelizer(0)
    with pytest.raises(ArgosneoError):
        PolyphaseChannelizer(8, oversample=4)
    with pytest.raises(ArgosneoError):
        PolyphaseChannelizer(8, passband_hz_fraction=1.2)
    with pytest.raises(ArgosneoError):
        PolyphaseChannelizer(8, taps_per_branch=0)
    with pytest.raises(ArgosneoError):
        PolyphaseChannelizer(8, prototype=np.zeros((2, 8)))
    ch = PolyphaseChannelizer(8)
    with pytest.raises(ArgosneoError):
        ch.process(np.zeros((4, 2), np.complex64))
    with pytest.raises(ArgosneoError):
        ch.process(np.array(["a", "b"]))


def test_offsets_and_rates():
    fs = 250e3
    off = channel_offsets_hz(8, fs)
    assert np.allclose(off, np.array([0, 1, 2, 3, -4, -3, -2, -1]) * fs / 8)
    ch = PolyphaseChannelizer(32)
    assert np.allclose(ch.channel_offsets_hz(fs), channel_offsets_hz(32, fs))
    assert ch.channel_rate(fs) == channel_rate(32, fs) == 2 * fs / 32
    assert PolyphaseChannelizer(32, oversample=1).channel_rate(fs) == fs / 32
    assert receiver_passband_fraction(250e3, 32) == pytest.approx(0.82)
    assert receiver_passband_fraction(2.4e6, 256) == pytest.approx(0.7667, abs=1e-4)


def _steady(ch, x):
    """Outputs whose whole filter window lies inside x."""
    y = ch.process(x)
    first = -(-(ch.taps.size - 1) // ch.decimation)
    return y[first:]


@pytest.mark.parametrize("oversample", [1, 2])
@pytest.mark.parametrize("k", [0, 3, 13, 31])
def test_centre_tone_gain_and_phase_continuity(oversample, k):
    m = 32
    ch = PolyphaseChannelizer(m, oversample=oversample)
    amp, ph = 0.7, 0.4
    y = _steady(ch, _tone(40 * m * 16, k / m, amp, ph))[:, k]
    # Gain 1 within 0.01 dB, and the same complex value at every output: no phase rotation.
    assert np.all(np.abs(_db(np.abs(y) / amp)) < 0.01)
    assert np.max(np.abs(y - amp * np.exp(1j * ph))) < 1e-4


@pytest.mark.parametrize("oversample", [1, 2])
def test_off_centre_tone_is_clean_tone_at_channel_rate(oversample):
    m, k = 32, 5
    ch = PolyphaseChannelizer(m, oversample=oversample)
    df = 0.3 if oversample == 2 else 0.2  # offset from the centre, in channel spacings (passband)
    y = _steady(ch, _tone(40 * m * 16, (k + df) / m))[:, k]
    expected_step = np.exp(2j * np.pi * df / m * ch.decimation)
    assert np.max(np.abs(y[1:] / y[:-1] - expected_step)) < 1e-4
    assert np.all(np.abs(_db(np.abs(y))) < 0.05)


@pytest.mark.parametrize("k", [0, 7, 15, 31])
def test_edge_tone_whole_in_both_neighbours_when_oversampled(k):
    # The receiver's prototype is flat to ±0.82 spacing, so a tone half-way between channel k and
    # k+1 comes out at 0 dB (within the passband ripple) in both — not −6 dB as with a
    # critically sampled Nyquist-style prototype.
    m = 32
    ch = PolyphaseChannelizer(m, oversample=2)
    y = _steady(ch, _tone(40 * m * 16, (k + 0.5) / m))
    for kk in (k, (k + 1) % m):
        assert np.all(np.abs(_db(np.abs(y[:, kk]))) < 0.01)


def test_edge_tone_critically_sampled_is_minus_6db():
    m, k = 32, 9
    ch = PolyphaseChannelizer(m, oversample=1)
    y = _steady(ch, _tone(40 * m * 16, (k + 0.5) / m))
    for kk in (k, k + 1):
        assert np.all(np.abs(_db(np.abs(y[:, kk])) + 6.02) < 0.1)


@pytest.mark.parametrize("oversample", [1, 2])
@pytest.mark.parametrize("num_channels", [8, 32])
def test_isolation(oversample, num_channels):
    m = num_channels
    ch = PolyphaseChannelizer(m, oversample=oversample)
    fp = ch.passband_fraction
    stop = response_metrics(ch.taps, m, fp, oversample - fp)["stopband_attenuation_db"]
    assert stop >= 60
    for k in (1, m // 2 + 1):
        y = _steady(ch, _tone(60 * m * 16, k / m))
        level = _db(np.sqrt(np.mean(np.abs(y) ** 2, axis=0)))
        assert abs(level[k]) < 0.01
        # Neighbours: the receiver prototype's −6 dB point is one spacing away (oversample=2);
        # the critically sampled one is already in its stopband there.
        for kk in ((k - 1) % m, (k + 1) % m):
            if oversample == 2:
                assert abs(level[kk] + 6.02) < 0.05
            else:
                assert level[kk] < -stop + 0.5
        others = [kk for kk in range(m) if kk not in (k, (k - 1) % m, (k + 1) % m)]
        assert np.max(level[others]) < -stop + 0.5


@pytest.mark.parametrize("oversample", [1, 2])
def test_delay_maps_output_back_to_input_index(oversample):
    m = 16
    ch = PolyphaseChannelizer(m, oversample=oversample)
    for i in (0, 1000, 1234, 2001):
        ch.reset()
        x = np.zeros(i + 2 * ch.taps.size, np.complex64)
        x[i] = 1.0
        y = ch.process(x)
        for k in (0, 5):
            n = int(np.argmax(np.abs(y[:, k])))
            assert abs(ch.input_index_of_output(n) - i) <= ch.decimation / 2
    assert np.allclose(ch.input_index_of_output(np.arange(3)), np.arange(3) * ch.decimation - ch.group_delay)


def test_round_trip_single_channel_burst():
    """A band-limited burst within ±(half a channel + 2.5 kHz) of channel k's centre is whole in
    channel k: interpolating that channel back and re-mixing reproduces the input."""
    fs, m, k = 250e3, 32, 6
    spacing = fs / m
    ch = PolyphaseChannelizer(m, oversample=2)
    n = 1 << 15
    rng = np.random.default_rng(11)
    spec = np.fft.fft(rng.standard_normal(n) + 1j * rng.standard_normal(n))
    f = np.fft.fftfreq(n, 1 / fs)
    carrier = k * spacing + 0.45 * spacing  # near the upper channel edge
    spec[np.abs(f - carrier) > 2.5e3] = 0
    x = np.fft.ifft(spec).astype(np.complex64)
    x /= np.sqrt(np.mean(np.abs(x) ** 2))
    y = ch.process(x)[:, k]
    d, h = ch.decimation, ch.taps
    z = signal.upfirdn(h * d, y.astype(np.complex128), up=d)[:n]
    mm = np.arange(n) - (h.size - 1)  # two linear-phase filters: delay L−1
    xhat = z * np.exp(2j * np.pi * k * (mm % m) / m)
    lo = 3 * h.size
    err = xhat[lo:] - x[lo - (h.size - 1): n - (h.size - 1)]
    assert _db(np.sqrt(np.mean(np.abs(err) ** 2))) < -50


def test_prototype_design_figures():
    for m in (32, 256):
        h = design_prototype(m, 16)
        assert h.size == 16 * m and abs(h.sum() - 1) < 1e-12
        met = response_metrics(h, m, 0.82, 2 - 0.82)
        assert met["passband_ripple_db"] < 0.001 and met["stopband_attenuation_db"] > 85
        met12 = response_metrics(design_prototype(m, 12), m, 0.82, 1.18)
        assert met12["stopband_attenuation_db"] > 60
        met8 = response_metrics(design_prototype(m, 8), m, 0.82, 1.18)
        assert met8["stopband_attenuation_db"] < 60  # why the default is not 8 taps per branch
    hl = liquid_kaiser_prototype(32, 8, 60.0)
    assert hl.size == 32 * 16 and abs(hl.sum() - 1) < 1e-12
    assert response_metrics(hl, 32, 0.3, 0.7)["stopband_attenuation_db"] > 60


def test_independent_instances_in_threads():
    x = _noise(50000, seed=9)
    expected = PolyphaseChannelizer(64).process(x)
    results = [None] * 4

    def run(i):
        ch = PolyphaseChannelizer(64)
        results[i] = np.concatenate([ch.process(x[j:j + 3001]) for j in range(0, x.size, 3001)])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        assert np.array_equal(r, expected)


@pytest.mark.parametrize("block_samples", [8, 100])
def test_small_fft_blocks_match_reference(monkeypatch, block_samples):
    """Frames are filtered and transformed in cache-sized blocks; force many tiny blocks so the
    history frames, block boundaries and chunk boundaries all interleave."""
    import argosneo.channelize.pfb as pfb

    monkeypatch.setattr(pfb, "_BLOCK_SAMPLES", block_samples)
    rng = np.random.default_rng(2)
    for m, oversample in ((4, 2), (8, 1)):
        x = _noise(3000, seed=m)
        ch = PolyphaseChannelizer(m, oversample=oversample)
        parts, i = [], 0
        while i < x.size:
            n = int(rng.integers(0, 400))
            parts.append(ch.process(x[i:i + n]))
            i += n
        ref = reference_channelize(x, ch.taps, m, ch.decimation)
        assert np.max(np.abs(np.concatenate(parts) - ref)) <= 1e-4 * np.sqrt(np.mean(np.abs(ref) ** 2))


@pytest.mark.parametrize("taps_per_branch", [1, 3, 8, 11, 19])
@pytest.mark.parametrize("oversample", [1, 2])
def test_any_number_of_taps_per_branch_matches_reference(taps_per_branch, oversample):
    """The kernel takes taps eight at a time plus a one-at-a-time remainder; cover every mix."""
    m = 8
    ch = PolyphaseChannelizer(m, oversample=oversample, taps_per_branch=taps_per_branch)
    assert ch.taps_per_branch == taps_per_branch
    x = _noise(60 * m + 5, seed=taps_per_branch)
    parts = [ch.process(x[:37]), ch.process(x[37:])]
    ref = reference_channelize(x, ch.taps, m, ch.decimation)
    got = np.concatenate(parts)
    assert got.shape == ref.shape
    assert np.max(np.abs(got - ref)) <= 1e-4 * np.sqrt(np.mean(np.abs(ref) ** 2))


@pytest.mark.parametrize("oversample", [1, 2])
def test_output_buffer_reuse_gives_identical_rows(oversample):
    m = 32
    x = _noise(40000, seed=11)
    plain = PolyphaseChannelizer(m, oversample=oversample)
    reuse = PolyphaseChannelizer(m, oversample=oversample)
    buf = np.full((40000 // reuse.decimation + 1, m), np.nan + 0j, np.complex64)
    rng = np.random.default_rng(3)
    i = 0
    while i < x.size:
        n = min(int(rng.integers(0, 5000)), x.size - i)
        expected_rows = reuse.output_rows(n)
        assert expected_rows <= n // reuse.decimation + 1
        a = plain.process(x[i:i + n])
        b = reuse.process(x[i:i + n], out=buf)
        assert b.shape == a.shape == (expected_rows, m)
        assert np.shares_memory(b, buf) or b.size == 0
        assert np.array_equal(a, b)
        i += n
    assert reuse.output_count == plain.output_count
    assert reuse.output_rows(0) == 0


def test_bad_output_buffer_is_rejected_before_any_state_change():
    ch = PolyphaseChannelizer(8)
    x = _noise(100)
    need = ch.output_rows(x.size)
    assert need == 25
    bad = [
        np.zeros((need - 1, 8), np.complex64),             # too few rows
        np.zeros((need, 8), np.complex128),                # wrong dtype
        np.zeros((need, 4), np.complex64),                 # wrong channel count
        np.zeros((8, need), np.complex64).T,               # not C-contiguous
        np.zeros(need * 8, np.complex64),                  # not 2-D
    ]
    for out in bad:
        with pytest.raises(ArgosneoError):
            ch.process(x, out=out)
        assert ch.samples_consumed == 0 and ch.output_count == 0
    overlapping = np.zeros((need + 20, 8), np.complex64)
    with pytest.raises(ArgosneoError):
        ch.process(overlapping.reshape(-1)[:100], out=overlapping)
    ok = np.zeros((need, 8), np.complex64)
    assert np.array_equal(ch.process(x, out=ok), PolyphaseChannelizer(8).process(x))
