"""PTT-A2 frame layout and waveform of the emulator, checked against the spec by measurement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from argosneo import spec
from argosneo.errors import ScenarioError
from argosneo.synth.a2 import (
    a2_burst_duration,
    a2_data_bits,
    a2_frame_bits,
    a2_length_code,
    a2_message_bits,
    a2_waveform_phase,
    bits_to_hex,
    bits_to_int,
    render_a2_burst,
)


def _bitstr(bits) -> str:
    return "".join(str(int(b)) for b in bits)


# --- frame bits ---------------------------------------------------------------------------------


def test_length_codes_are_n_minus_1_with_even_parity():
    for n in range(1, 9):
        code = a2_length_code(n)
        assert code >> 1 == n - 1                      # 3-bit N-1, MSB first
        assert bin(code).count("1") % 2 == 0           # even parity over the 4 bits
    assert [a2_length_code(n) for n in range(1, 9)] == [0x0, 0x3, 0x5, 0x6, 0x9, 0xA, 0xC, 0xF]


@pytest.mark.parametrize("id_bits", [20, 28])
@pytest.mark.parametrize("n", range(1, 9))
def test_frame_layout_bit_for_bit(id_bits, n):
    rng = np.random.default_rng(100 * n + id_bits)
    pid = int(rng.integers(0, 1 << id_bits))
    n_data = 20 + 32 * n - id_bits
    data = int.from_bytes(rng.bytes(40), "big") >> (320 - n_data)
    bits = a2_frame_bits(pid, id_bits, data, n)
    assert bits.dtype == np.uint8
    expected = ("1" * 15 + "000101111"                                  # sync 0xFFFE2F
                + format(n - 1, "03b") + str(bin(n - 1).count("1") % 2)  # length + even parity
                + format(pid, f"0{id_bits}b") + format(data, f"0{n_data}b"))
    assert _bitstr(bits) == expected
    assert len(bits) == 24 + 4 + 20 + 32 * n
    assert _bitstr(bits[:24]) == format(0xFFFE2F, "024b")
    assert bits_to_int(bits[28:28 + id_bits]) == pid


def test_known_message_of_the_real_recording():
    # real-captures/README.md: N = 1, length 0000, message 0x01D810055AAFF (20-bit ID 0x01D81)
    bits = a2_frame_bits(0x01D81, 20, 0x0055AAFF, 1)
    assert bits_to_hex(bits) == "0xFFFE2F001D810055AAFF"
    assert bits_to_hex(bits[28:]) == "0x01D810055AAFF"


def test_data_forms_agree():
    n_bits = 32 * 2 - 8
    value = 0x0102030405060708 >> 8
    as_int = a2_data_bits(value, n_bits)
    as_bytes = a2_data_bits(value.to_bytes(n_bits // 8, "big"), n_bits)
    as_list = a2_data_bits([int(c) for c in format(value, f"0{n_bits}b")], n_bits)
    as_text = a2_data_bits(hex(value), n_bits)
    for other in (as_bytes, as_list, as_text):
        np.testing.assert_array_equal(as_int, other)
    msg = a2_message_bits(0x1234567, 28, value, 2)
    assert bits_to_int(msg) == (0x1234567 << n_bits) | value


@pytest.mark.parametrize("args, word", [
    ((1 << 28, 28, 0, 1), "does not fit"),
    ((1 << 20, 20, 0, 1), "does not fit"),
    ((1, 24, 0, 1), "ID width"),
    ((1, 28, 0, 9), "length N"),
    ((1, 28, 0, 0), "length N"),
    ((1, 28, 1 << 24, 1), "does not fit"),          # 28-bit ID, N=1: 24 data bits
    ((1, 28, b"\x00" * 4, 1), "bytes"),
    ((1, 28, [0, 1, 2] + [0] * 21, 1), "only 0 and 1"),
])
def test_bad_frame_fields_raise(args, word):
    with pytest.raises(ScenarioError, match=word):
        a2_frame_bits(*args)


# --- waveform -----------------------------------------------------------------------------------

FS = 200e3
BITS = a2_frame_bits(0x1234567, 28, 0x00ABCDEF, 1)


def _render(start=12.37, f0=1234.5, drift=175.0, phase0=0.4, amp=0.7, beta=spec.A2_PHASE_DEVIATION_RAD,
            n_total=None):
    n_total = n_total or int(FS * 0.5)
    out = np.zeros(n_total, dtype=np.complex128)
    render_a2_burst(out, 0, sample_rate=FS, start_sample=start, bits=BITS, offset_hz=f0,
                    drift_hz_s=drift, phase0=phase0, amplitude=amp, beta=beta)
    return out


def test_envelope_starts_and_ends_on_time():
    start, amp = 12.37, 0.7
    x = _render(start=start, amp=amp)
    on = np.flatnonzero(np.abs(x) > 0)
    assert on[0] == math.ceil(start)
    assert on[-1] == math.ceil(start + a2_burst_duration(BITS.size) * FS) - 1
    np.testing.assert_allclose(np.abs(x[on]), amp, rtol=1e-12)
    assert a2_burst_duration(BITS.size) == pytest.approx(spec.a2_burst_duration_s(1))


def test_carrier_frequency_and_drift_measured_by_phase_fit():
    start, f0, drift = 12.37, 1234.5, 175.0
    x = _render(start=start, f0=f0, drift=drift)
    n = np.arange(math.ceil(start), int(start + 0.150 * FS))   # inside the pure-carrier part
    t = (n - start) / FS
    c2, c1, _ = np.polyfit(t, np.unwrap(np.angle(x[n])), 2)
    assert c1 / (2 * math.pi) == pytest.approx(f0, abs=1e-3)
    assert 2 * c2 / (2 * math.pi) == pytest.approx(drift, abs=1e-2)


def _demodulated(start=12.37, f0=1234.5, drift=175.0, phase0=0.4, beta=spec.A2_PHASE_DEVIATION_RAD):
    x = _render(start=start, f0=f0, drift=drift, phase0=phase0, beta=beta)
    n = np.arange(x.size)
    t = (n - start) / FS
    # remove the carrier as measured on the pure-carrier part, not as configured
    sel = (t > 0.001) & (t < 0.150)
    coef = np.polyfit(t[sel], np.unwrap(np.angle(x[sel])), 2)
    phi = np.angle(x * np.exp(-1j * np.polyval(coef, t)))
    return t, phi, np.abs(x) > 0


@pytest.mark.parametrize("beta", [spec.A2_PHASE_DEVIATION_RAD, 1.1, 0.9])
def test_phase_deviation_and_chip_signs(beta):
    t, phi, on = _demodulated(beta=beta)
    n_chips = 2 * BITS.size
    centres = spec.A2_CARRIER_DURATION_S + (np.arange(n_chips) + 0.5) / spec.A2_CHIP_RATE
    idx = np.round(centres * FS + 12.37).astype(int)
    levels = phi[idx]
    assert np.median(np.abs(levels)) == pytest.approx(beta, rel=0.01)
    chips = np.sign(levels).reshape(-1, 2)
    # bit 1 -> (+, -), bit 0 -> (-, +), times the spec's sign convention
    assert np.all(chips[:, 0] == -chips[:, 1])
    decoded = (chips[:, 0] * spec.A2_BIT_ONE_FIRST_CHIP_SIGN > 0).astype(np.uint8)
    np.testing.assert_array_equal(decoded, BITS)


def _crossings(t, y, level):
    """Times where y crosses `level` (linear interpolation between samples)."""
    s = np.sign(y - level)
    i = np.flatnonzero(s[:-1] * s[1:] < 0)
    frac = (level - y[i]) / (y[i + 1] - y[i])
    return t[i] + frac * (t[1] - t[0]), i


def test_chip_rate_carrier_duration_and_transition_width():
    start = 12.37
    t, phi, on = _demodulated(start=start)
    beta = spec.A2_PHASE_DEVIATION_RAD
    mod = on & (t > spec.A2_CARRIER_DURATION_S + 0.25 / spec.A2_CHIP_RATE)
    tt, ii = _crossings(t[mod], phi[mod], 0.0)
    # every zero crossing sits on a chip boundary: regress crossing time on boundary number
    k = np.round((tt - tt[0]) * spec.A2_CHIP_RATE)
    slope, icpt = np.polyfit(k, tt, 1)
    assert 1 / slope == pytest.approx(800.0, rel=1e-6)            # spec §2: 800 chips/s
    boundary0 = spec.A2_CARRIER_DURATION_S + round((icpt - spec.A2_CARRIER_DURATION_S) * spec.A2_CHIP_RATE) / spec.A2_CHIP_RATE
    assert abs(icpt - boundary0) < 0.01 / FS
    # carrier → first chip: phase passes half way (±β/2) at 160 ms from the burst start
    first_level = np.sign(phi[on & (t > spec.A2_CARRIER_DURATION_S + 0.4 / spec.A2_CHIP_RATE)][0])
    t_half, _ = _crossings(t[on], phi[on] * first_level, beta / 2)
    assert abs(t_half[0] - 0.160) < 1 / FS                        # spec §2: 160 ms of carrier
    # a full ±β → ∓β ramp takes A2_CHIP_TRANSITION_FRACTION of a chip: ±0.9β crossings are
    # 0.9 · fraction · chip apart
    hi_t, _ = _crossings(t[mod], phi[mod], 0.9 * beta)
    lo_t, _ = _crossings(t[mod], phi[mod], -0.9 * beta)
    widths = np.abs(lo_t[:, None] - hi_t[None, :]).min(axis=1)
    expect = 0.9 * spec.A2_CHIP_TRANSITION_FRACTION / spec.A2_CHIP_RATE
    np.testing.assert_allclose(widths, expect, atol=0.05 / FS)


def test_waveform_phase_at_arbitrary_times():
    beta = spec.A2_PHASE_DEVIATION_RAD
    tc = spec.A2_CARRIER_DURATION_S
    chip = 1 / spec.A2_CHIP_RATE
    w = spec.A2_CHIP_TRANSITION_FRACTION
    t = np.array([-1e-3, 0.0, 0.1, tc - w * chip / 2 - 1e-9, tc, tc + 0.5 * chip, tc + 1.5 * chip,
                  tc + chip, a2_burst_duration(BITS.size) + 1e-6])
    phi = a2_waveform_phase(BITS, t, beta=beta)
    s = spec.A2_BIT_ONE_FIRST_CHIP_SIGN        # first bit of the sync is a 1
    np.testing.assert_allclose(phi, [0, 0, 0, 0, s * beta / 2, s * beta, -s * beta, 0, 0], atol=1e-6)


def test_piecewise_render_is_identical():
    whole = _render()
    parts = np.zeros_like(whole)
    rng = np.random.default_rng(3)
    cuts = np.sort(rng.choice(np.arange(1, whole.size), 40, replace=False))
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, whole.size]):
        seg = np.zeros(b - a, dtype=np.complex128)
        render_a2_burst(seg, int(a), sample_rate=FS, start_sample=12.37, bits=BITS, offset_hz=1234.5,
                        drift_hz_s=175.0, phase0=0.4, amplitude=0.7)
        parts[a:b] = seg
    np.testing.assert_array_equal(parts, whole)
