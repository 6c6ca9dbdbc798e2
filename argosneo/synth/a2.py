"""PTT-A2 (Argos-2, 400 bit/s) transmitter model: over-air bit stream and baseband waveform.

Frame (``argos-spec.md`` §2), in over-air order::

    [ 160 ms carrier ][ sync 0xFFFE2F, 24 bits ][ length code, 4 bits ][ ID | data: 20 + 32·N bits ]

Every bit after the carrier is two biphase-L chips of 1/800 s: bit 1 → (+β, −β) and bit 0 →
(−β, +β), times :data:`argosneo.spec.A2_BIT_ONE_FIRST_CHIP_SIGN`. The phase moves linearly
between chip levels during a transition taking :data:`argosneo.spec.A2_CHIP_TRANSITION_FRACTION`
of a chip, centred on the chip boundary (the trapezoid model of the research notes).

The waveform functions take *times* (seconds since the burst start), never a sample counter, so a
burst can start at a fractional sample, be rendered at any sample rate, and be rendered piecewise
(any slice of its samples, in any order) with results identical to a one-shot render.
"""

from __future__ import annotations

import math

import numpy as np

from argosneo import spec
from argosneo.errors import ScenarioError

__all__ = [
    "a2_length_code",
    "a2_data_bit_count",
    "a2_data_bits",
    "a2_message_bits",
    "a2_frame_bits",
    "a2_chip_levels",
    "a2_burst_duration",
    "a2_waveform_phase",
    "render_a2_burst",
    "int_to_bits",
    "bits_to_int",
    "bits_to_hex",
]


# --- bit helpers ---------------------------------------------------------------------------------


def int_to_bits(value: int, n_bits: int) -> np.ndarray:
    """Unsigned integer as ``n_bits`` bits, MSB first.

    Parameters
    ----------
    value : int
        Non-negative integer below ``2**n_bits``.
    n_bits : int
        Number of bits.

    Returns
    -------
    numpy.ndarray
        uint8 array of 0/1, most significant bit first.

    Raises
    ------
    ScenarioError
        If the value is negative or does not fit.
    """
    value = int(value)
    if value < 0 or value >> n_bits:
        raise ScenarioError(f"value {value:#x} does not fit in {n_bits} bits")
    # Python ints keep arbitrary widths exact (A2 data can be 256 bits)
    return np.array([(value >> s) & 1 for s in range(n_bits - 1, -1, -1)], dtype=np.uint8)


def bits_to_int(bits) -> int:
    """Integer value of a bit sequence read MSB first (arbitrary width)."""
    value = 0
    for b in np.asarray(bits, dtype=np.uint8).reshape(-1):
        value = (value << 1) | int(b)
    return value


def bits_to_hex(bits) -> str:
    """Hex string (``0x`` prefix, one digit per 4 bits, MSB first) of a bit sequence.

    A length that is not a multiple of 4 is left-padded with zeros to whole digits.
    """
    bits = np.asarray(bits, dtype=np.uint8).reshape(-1)
    digits = max(1, math.ceil(bits.size / 4))
    return f"0x{bits_to_int(bits):0{digits}X}"


def _check_blocks(n_blocks) -> int:
    try:
        n = int(n_blocks)
    except (TypeError, ValueError):
        raise ScenarioError(f"A2 length N must be an integer 1..{spec.A2_MAX_BLOCKS}, got {n_blocks!r}") from None
    if n != n_blocks or not 1 <= n <= spec.A2_MAX_BLOCKS:
        raise ScenarioError(f"A2 length N must be an integer 1..{spec.A2_MAX_BLOCKS}, got {n_blocks!r}")
    return n


def _check_id_bits(id_bits) -> int:
    if id_bits not in spec.A2_ID_BITS_CHOICES:
        raise ScenarioError(f"A2 platform ID width must be one of {spec.A2_ID_BITS_CHOICES}, got {id_bits!r}")
    return int(id_bits)


# --- frame --------------------------------------------------------------------------------------


def a2_length_code(n_blocks: int) -> int:
    """4-bit A2 length code for N blocks: N−1 on 3 bits then an even-parity bit.

    Parameters
    ----------
    n_blocks : int
        Number of 32-bit blocks, 1…8.

    Returns
    -------
    int
        ``spec.A2_LENGTH_CODES[N-1]`` (0x0, 0x3, 0x5, 0x6, 0x9, 0xA, 0xC, 0xF).
    """
    return spec.A2_LENGTH_CODES[_check_blocks(n_blocks) - 1]


def a2_data_bit_count(id_bits: int, n_blocks: int) -> int:
    """Number of sensor-data bits after an ``id_bits`` platform ID: ``20 + 32·N − id_bits``."""
    return spec.a2_message_bits(_check_blocks(n_blocks)) - _check_id_bits(id_bits)


def a2_data_bits(data, n_bits: int) -> np.ndarray:
    """Normalise sensor data to exactly ``n_bits`` bits (MSB first).

    Parameters
    ----------
    data : int, bytes, or sequence of 0/1
        An integer (must fit in ``n_bits``), a bytes object of exactly ``n_bits / 8`` bytes
        (each byte MSB first), or a bit sequence of length ``n_bits``. A string is read as an
        integer (``"0x55AAFF"`` or decimal).
    n_bits : int
        Required number of data bits.

    Returns
    -------
    numpy.ndarray
        uint8 array of 0/1.

    Raises
    ------
    ScenarioError
        If the data does not match the width.
    """
    if isinstance(data, str):
        try:
            data = int(data.strip().replace("_", ""), 0)
        except ValueError:
            raise ScenarioError(f"data string {data!r} is not an integer (use e.g. '0x55AAFF')") from None
    if isinstance(data, (bool, np.bool_)):
        raise ScenarioError(f"data must be an integer, bytes or a bit sequence, got {data!r}")
    if isinstance(data, (int, np.integer)):
        return int_to_bits(int(data), n_bits)
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = np.frombuffer(bytes(data), dtype=np.uint8)
        if raw.size * 8 != n_bits:
            raise ScenarioError(f"data has {raw.size} bytes ({raw.size * 8} bits); this frame needs {n_bits} bits")
        return np.unpackbits(raw)
    try:
        bits = np.asarray(data)
    except Exception:
        raise ScenarioError(f"data must be an integer, bytes or a bit sequence, got {type(data).__name__}") from None
    if bits.ndim != 1 or bits.size != n_bits:
        raise ScenarioError(f"data has {bits.size} bits; this frame needs {n_bits} bits")
    if bits.size and not np.isin(bits, (0, 1)).all():
        raise ScenarioError("data bit sequence must contain only 0 and 1")
    return bits.astype(np.uint8)


def a2_message_bits(platform_id: int, id_bits: int, data, n_blocks: int) -> np.ndarray:
    """The A2 message: platform ID (MSB first) then sensor data, ``20 + 32·N`` bits.

    Parameters
    ----------
    platform_id : int
        Platform ID, below ``2**id_bits``.
    id_bits : {20, 28}
        ID width.
    data : int, bytes or sequence of 0/1
        Sensor data, ``20 + 32·N − id_bits`` bits (see :func:`a2_data_bits`).
    n_blocks : int
        N, 1…8.

    Returns
    -------
    numpy.ndarray
        uint8 array of 0/1.
    """
    n_data = a2_data_bit_count(id_bits, n_blocks)
    return np.concatenate([int_to_bits(platform_id, id_bits), a2_data_bits(data, n_data)])


def a2_frame_bits(platform_id: int, id_bits: int, data_bits, n_blocks: int) -> np.ndarray:
    """The complete over-air A2 bit stream after the carrier.

    Layout: sync ``0xFFFE2F`` (24 bits, MSB first), the 4-bit length code
    ``spec.A2_LENGTH_CODES[N-1]``, then the message (platform ID, MSB first, ``id_bits`` wide,
    then ``20 + 32·N − id_bits`` data bits).

    Parameters
    ----------
    platform_id : int
        Platform ID.
    id_bits : {20, 28}
        ID width.
    data_bits : int, bytes or sequence of 0/1
        Sensor data (see :func:`a2_data_bits`).
    n_blocks : int
        N, 1…8.

    Returns
    -------
    numpy.ndarray
        uint8 array of ``24 + 4 + 20 + 32·N`` bits (0/1).

    Raises
    ------
    ScenarioError
        If any field is out of range.
    """
    return np.concatenate([
        int_to_bits(spec.A2_SYNC_WORD, spec.A2_SYNC_BITS),
        int_to_bits(a2_length_code(n_blocks), spec.A2_LENGTH_FIELD_BITS),
        a2_message_bits(platform_id, id_bits, data_bits, n_blocks),
    ])


# --- waveform -----------------------------------------------------------------------------------


def a2_chip_levels(bits) -> np.ndarray:
    """Biphase-L chip levels (±1, int8) of a bit stream: two per bit, first chip of a 1 bit is
    ``spec.A2_BIT_ONE_FIRST_CHIP_SIGN``."""
    b = np.asarray(bits, dtype=np.int8).reshape(-1)
    first = (2 * b - 1) * np.int8(spec.A2_BIT_ONE_FIRST_CHIP_SIGN)
    return np.stack([first, -first], axis=1).reshape(-1).astype(np.int8)


def a2_burst_duration(n_bits: int, *, chip_rate: float = spec.A2_CHIP_RATE,
                      carrier_s: float = spec.A2_CARRIER_DURATION_S) -> float:
    """Burst duration (s) for ``n_bits`` bits after the carrier: ``carrier_s + 2·n_bits / chip_rate``
    (A2: 0.16 s + n_bits / 400 s; A4 VLD: 0.16 s + n_bits / 200 s)."""
    return carrier_s + 2 * int(n_bits) / chip_rate


def a2_waveform_phase(
    bits,
    t,
    *,
    beta: float = spec.A2_PHASE_DEVIATION_RAD,
    transition_fraction: float = spec.A2_CHIP_TRANSITION_FRACTION,
    chip_rate: float = spec.A2_CHIP_RATE,
    carrier_s: float = spec.A2_CARRIER_DURATION_S,
) -> np.ndarray:
    """Modulation phase (rad) of a residual-carrier biphase-L burst (A2, A4 VLD) at arbitrary times.

    Parameters
    ----------
    bits : sequence of 0/1
        Over-air bits after the carrier (sync, length, message).
    t : array_like of float
        Seconds since the burst start (start of the carrier).
    beta : float
        Peak phase deviation (rad).
    transition_fraction : float
        Fraction of a chip taken by each linear phase transition, centred on the chip
        boundary, in [0, 1). Applies to every boundary where the level changes, including
        carrier (0) → first chip.
    chip_rate : float
        Chips per second (two per bit): ``spec.A2_CHIP_RATE`` (800) for A2, 400 for A4 VLD.
    carrier_s : float
        Duration of the pure carrier before the first chip (s).

    Returns
    -------
    numpy.ndarray
        float64 phase, same shape as ``t``: 0 during the carrier, ±β on chips; 0 outside the
        burst (before 0 and from the end of the last chip on; see :func:`a2_burst_duration`).
    """
    w = float(transition_fraction)
    if not 0.0 <= w < 1.0:
        raise ScenarioError(f"chip transition fraction must be in [0, 1), got {transition_fraction!r}")
    chips = a2_chip_levels(bits).astype(np.float64)
    n_chips = chips.size
    t = np.asarray(t, dtype=np.float64)
    # ext[k + 1] is the level of chip k; chip -1 is the carrier (0); the last level is repeated
    # so that out-of-range look-ups stay valid (those samples are masked out below)
    ext = np.concatenate([[0.0], chips, [chips[-1] if n_chips else 0.0]])
    x = (t - float(carrier_s)) * float(chip_rate)               # time in chips since modulation
    k = np.floor(x)
    u = x - k                                                    # position inside chip k, [0, 1)
    kc = np.clip(k, -1, n_chips).astype(np.int64)
    cur = ext[kc + 1]
    phase = cur.copy()
    if w > 0.0 and n_chips:
        half = 0.5 * w
        prev = ext[np.clip(kc, 0, n_chips + 1)]
        nxt = ext[np.clip(kc + 2, 0, n_chips + 1)]
        # second half of the transition into chip k (k = 0: carrier → first chip)
        rin = (u < half) & (k >= 0) & (k < n_chips)
        phase = np.where(rin, cur + (cur - prev) * (u / w - 0.5), phase)
        # first half of the transition out of chip k (k = -1: end of carrier); none after the last chip
        rout = (u > 1.0 - half) & (k >= -1) & (k <= n_chips - 2)
        phase = np.where(rout, cur + (nxt - cur) * ((u - 1.0) / w + 0.5), phase)
    inside = (t >= 0.0) & (k < n_chips)
    return np.where(inside, phase * float(beta), 0.0)


def burst_sample_times(first_sample: int, n_out: int, start_sample: float, duration_s: float,
                       sample_rate: float) -> tuple[slice, np.ndarray]:
    """Where a burst overlaps a buffer of absolute samples, and the time of each of those samples.

    The buffer holds samples ``first_sample … first_sample + n_out − 1``; the burst covers
    ``0 <= t < duration_s`` with ``t = (n − start_sample) / sample_rate``. Returns the slice of
    the buffer the burst touches and ``t`` (float64, s) for it — an empty slice and array when
    they do not overlap. Computed from absolute indices, so a burst rendered in pieces gets the
    same times as rendered at once.
    """
    fs = float(sample_rate)
    # first sample at t >= 0 and first sample at t >= duration (exclusive end)
    lo = max(math.ceil(start_sample), int(first_sample))
    hi = min(math.ceil(start_sample + duration_s * fs), int(first_sample) + int(n_out))
    if hi <= lo:
        return slice(0, 0), np.empty(0, dtype=np.float64)
    t = (np.arange(lo, hi, dtype=np.int64) - math.floor(start_sample)).astype(np.float64)
    t -= start_sample - math.floor(start_sample)   # keeps precision for large sample indices
    t /= fs
    return slice(lo - int(first_sample), hi - int(first_sample)), t


def render_a2_burst(
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
    beta: float = spec.A2_PHASE_DEVIATION_RAD,
    transition_fraction: float = spec.A2_CHIP_TRANSITION_FRACTION,
    chip_rate: float = spec.A2_CHIP_RATE,
    carrier_s: float = spec.A2_CARRIER_DURATION_S,
) -> slice:
    """Add (the part of) an A2 (or A4 VLD) burst that falls inside a sample buffer.

    Sample ``n`` (absolute index) is at time ``t = (n − start_sample) / sample_rate`` from the
    burst start and receives ``amplitude · exp(j(phase0 + 2π(f0·t + drift·t²/2) + φ(t)))``
    where φ is :func:`a2_waveform_phase`; samples with ``t < 0`` or past the last chip get
    nothing. The instantaneous carrier frequency is ``f0 + drift·t``. Everything is computed
    from absolute sample indices, so rendering a burst in pieces gives the same samples as
    rendering it at once.

    Parameters
    ----------
    out : numpy.ndarray
        Complex buffer holding absolute samples ``first_sample ... first_sample + len(out) - 1``;
        the burst is *added* to it in place.
    first_sample : int
        Absolute index of ``out[0]``.
    sample_rate : float
        Samples per second.
    start_sample : float
        Absolute (fractional) sample position of the burst start (carrier onset).
    bits : sequence of 0/1
        Over-air bits after the carrier.
    offset_hz : float
        Carrier frequency at the burst start, relative to the capture centre (Hz).
    drift_hz_s : float
        Frequency rate (Hz/s).
    phase0 : float
        Carrier phase at the burst start (rad).
    amplitude : float
        Envelope amplitude (the burst's power is ``amplitude**2``).
    beta, transition_fraction, chip_rate, carrier_s : float
        Modulation parameters (see :func:`a2_waveform_phase`); the defaults are A2's.

    Returns
    -------
    slice
        The slice of ``out`` that was touched (empty when the burst does not overlap it).
    """
    n_bits = int(np.asarray(bits).size)
    duration = a2_burst_duration(n_bits, chip_rate=chip_rate, carrier_s=carrier_s)
    sl, t = burst_sample_times(first_sample, len(out), start_sample, duration, sample_rate)
    if not t.size:
        return sl
    phi = a2_waveform_phase(bits, t, beta=beta, transition_fraction=transition_fraction,
                            chip_rate=chip_rate, carrier_s=carrier_s)
    phi += 2.0 * math.pi * (offset_hz + 0.5 * drift_hz_s * t) * t
    phi += phase0
    # cos/sin of a float64 array rather than a complex exp: both are elementwise and do not depend
    # on where the slice starts, which keeps piecewise renders bit-identical
    seg = np.empty(t.size, dtype=np.complex128)
    seg.real = np.cos(phi)
    seg.imag = np.sin(phi)
    seg *= amplitude
    out[sl] += seg
    return sl
