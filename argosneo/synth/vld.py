"""A4 VLD (Argos-4 very low data rate) transmitter model: over-air bit stream and waveform.

Frame (research notes §2.3, verified on real IQ), in over-air order::

    [ 160 ms carrier ][ sync 0xAC5353, 24 bits ][ length, 2 bits: 00 short / 11 long ][ 45 coded bits × 1 or 3 blocks ]

The modulation is A2's residual-carrier biphase-L PM at half the rate (200 bit/s, 400 chips/s),
so bursts are rendered by :func:`argosneo.synth.a2.render_a2_burst` with VLD's chip rate and
carrier duration.

The block code (each 34-bit information block → 45 coded bits: convolutional, punctured,
interleaved) is UNKNOWN. The emulator therefore cannot encode a platform ID: the coded blocks are
either the CNES known-answer block (the published example stream for ID 0x1234567, which the
real recordings reproduce) or 45 random bits per block — a random stream that exercises the
demodulator and deframer exactly as real traffic would, but encodes nothing.
"""

from __future__ import annotations

import numpy as np

from argosneo import spec
from argosneo.errors import ScenarioError
from argosneo.synth.a2 import int_to_bits, render_a2_burst

__all__ = [
    "VLD_CHIP_RATE",
    "VLD_KNOWN_ANSWER_BLOCK",
    "VLD_KNOWN_ANSWER_ID",
    "VLD_BLOCK_SOURCES",
    "vld_length_field",
    "vld_frame_bits",
    "vld_known_answer_blocks",
    "vld_burst_duration",
    "vld_bit_count",
    "render_vld_burst",
    "hex_and_tail",
]

#: Chips per second (biphase-L: two per bit).
VLD_CHIP_RATE = 2.0 * spec.A4_VLD_BIT_RATE
#: The coded block of the CNES A4-SS-TER-SP-0079 example (ID 0x1234567): the short example
#: stream is ``0xAC53531C651CECA2F`` + ``011`` and the long one repeats this block three times
#: (``0xAC5353DC651CECA2F6E328E76517B719473B28BD`` + ``1``), research notes KAV-5/KAV-6.
VLD_KNOWN_ANSWER_BLOCK = 0x0E328E76517B
#: Platform ID the known-answer stream encodes.
VLD_KNOWN_ANSWER_ID = 0x1234567
#: Values of a platform's ``vld_blocks``.
VLD_BLOCK_SOURCES = ("known_answer", "random")


def _check_blocks(n_blocks) -> int:
    if isinstance(n_blocks, bool) or n_blocks not in spec.A4_VLD_BLOCKS:
        raise ScenarioError(f"VLD length must be one of {spec.A4_VLD_BLOCKS} blocks (short/long), got {n_blocks!r}")
    return int(n_blocks)


def vld_length_field(n_blocks: int) -> int:
    """The 2-bit VLD length field: ``0b00`` for 1 block (short), ``0b11`` for 3 (long)."""
    return spec.A4_VLD_LENGTH_CODES[spec.A4_VLD_BLOCKS.index(_check_blocks(n_blocks))]


def vld_bit_count(n_blocks: int) -> int:
    """Over-air bits after the carrier: 24 + 2 + 45·n_blocks (71 short, 161 long)."""
    return spec.A4_VLD_SYNC_BITS + spec.A4_VLD_LENGTH_BITS + spec.A4_VLD_CODED_BLOCK_BITS * _check_blocks(n_blocks)


def vld_burst_duration(n_blocks: int) -> float:
    """Burst duration (s): 0.16 s carrier + bits / 200 bit/s (0.515 s short, 0.965 s long)."""
    return spec.A4_VLD_CARRIER_DURATION_S + vld_bit_count(n_blocks) / spec.A4_VLD_BIT_RATE


def vld_known_answer_blocks(n_blocks: int) -> np.ndarray:
    """Coded bits of the CNES example (ID 0x1234567): the known-answer block ``n_blocks`` times."""
    block = int_to_bits(VLD_KNOWN_ANSWER_BLOCK, spec.A4_VLD_CODED_BLOCK_BITS)
    return np.tile(block, _check_blocks(n_blocks))


def vld_frame_bits(coded_bits, n_blocks: int) -> np.ndarray:
    """The complete over-air VLD bit stream after the carrier.

    Parameters
    ----------
    coded_bits : sequence of 0/1
        The coded blocks, ``45·n_blocks`` bits, as they go on air (the block code is unknown, so
        they are taken as given: see :func:`vld_known_answer_blocks`).
    n_blocks : {1, 3}
        Short (1) or long (3) message.

    Returns
    -------
    numpy.ndarray
        uint8 0/1: sync ``0xAC5353`` (24 bits), the length field (2 bits), the coded blocks.

    Raises
    ------
    ScenarioError
        If the length is invalid or the coded bits do not match it.
    """
    n = _check_blocks(n_blocks)
    coded = np.asarray(coded_bits)
    need = spec.A4_VLD_CODED_BLOCK_BITS * n
    if coded.ndim != 1 or coded.size != need:
        raise ScenarioError(f"VLD with {n} block(s) needs {need} coded bits, got {coded.size}")
    if not np.isin(coded, (0, 1)).all():
        raise ScenarioError("VLD coded bits must be 0 or 1")
    return np.concatenate([
        int_to_bits(spec.A4_VLD_SYNC_WORD, spec.A4_VLD_SYNC_BITS),
        int_to_bits(vld_length_field(n), spec.A4_VLD_LENGTH_BITS),
        coded.astype(np.uint8),
    ])


def hex_and_tail(bits) -> tuple[str, str]:
    """Whole hex digits (no prefix, MSB first) and the remaining 0–3 bits as a '0'/'1' string:
    the ``over_air_hex`` / ``over_air_tail_bits`` form of the receiver's VLD records."""
    b = np.asarray(bits, dtype=np.uint8).reshape(-1)
    whole = b.size - b.size % 4
    value = 0
    for x in b[:whole]:
        value = (value << 1) | int(x)
    digits = whole // 4
    head = format(value, f"0{digits}X") if digits else ""
    return head, "".join("1" if x else "0" for x in b[whole:])


def render_vld_burst(out: np.ndarray, first_sample: int, **kwargs) -> slice:
    """Add (the part of) a VLD burst inside a sample buffer.

    Same parameters as :func:`argosneo.synth.a2.render_a2_burst` (``bits`` from
    :func:`vld_frame_bits`), with VLD's chip rate (400 chips/s) and carrier duration.
    """
    return render_a2_burst(out, first_sample, chip_rate=VLD_CHIP_RATE,
                           carrier_s=spec.A4_VLD_CARRIER_DURATION_S, **kwargs)
