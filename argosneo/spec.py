"""Physical constants of the Argos uplink.

Every value here comes from ``argos-spec.md`` (the project's signal specification, kept in
``../shared/`` and summarised in ``docs/argos-spec.md``) and its companion research notes.
Values the specification marks *unconfirmed* are flagged ``UNCONFIRMED`` so one edit can change
them.
"""

from __future__ import annotations

import math

# --- PTT-A2 (Argos-2, 400 bit/s) — argos-spec.md §2 -------------------------------------------

#: Nominal A2 uplink centre frequency (Hz); transmitters sit within ±30 kHz (spec §1).
A2_NOMINAL_CENTER_HZ = 401.650e6
#: A2 allocation half-width around the nominal centre (Hz) (spec §1).
A2_BAND_HALF_WIDTH_HZ = 30e3

#: Bit rate (bit/s) (spec §2, high confidence).
A2_BIT_RATE = 400.0
#: Biphase-L chip rate: two chips per bit (spec §2).
A2_CHIP_RATE = 2 * A2_BIT_RATE
#: Peak phase deviation (rad): ±π/3 (spec §2; real burst measured ≈1.05 rad).
A2_PHASE_DEVIATION_RAD = math.pi / 3
#: Range of deviations a receiver must tolerate (spec §2).
A2_PHASE_DEVIATION_TOLERANCE_RAD = (0.9, 1.2)
#: Fraction of a chip taken by one linear phase transition (trapezoid model, spec §2:
#: "ramps take ~12 % of a chip"; research notes: 12.5 % in the CNES-derived model). UNCONFIRMED.
A2_CHIP_TRANSITION_FRACTION = 0.125
#: Duration of the unmodulated carrier that opens every burst (s) (spec §2).
A2_CARRIER_DURATION_S = 0.160
#: 24-bit synchronisation word, MSB first: 15 ones then format sync 000101111 (spec §2).
A2_SYNC_WORD = 0xFFFE2F
A2_SYNC_BITS = 24
#: Length field width (bits): 3-bit N−1, MSB first, then an even-parity bit (spec §2).
A2_LENGTH_FIELD_BITS = 4
#: Valid length codes, indexed by N−1 (N = 1…8 blocks of 32 bits) (spec §2, ARTIC R2 driver).
A2_LENGTH_CODES = (0x0, 0x3, 0x5, 0x6, 0x9, 0xA, 0xC, 0xF)
#: Message bits after the length field: 20 + 32·N (spec §2).
A2_MESSAGE_BASE_BITS = 20
A2_BLOCK_BITS = 32
A2_MAX_BLOCKS = 8
#: Platform ID widths the A2 frame can carry; the frame does not say which (spec §2).
A2_ID_BITS_CHOICES = (20, 28)
A2_DEFAULT_ID_BITS = 28

#: Which chip comes first for a 1 bit: bit 1 → (+β, −β), bit 0 → (−β, +β) (spec §2; the
#: absolute sign is UNCONFIRMED, so receivers resolve it from the sync word).
A2_BIT_ONE_FIRST_CHIP_SIGN = +1

# --- Doppler and drift (spec §1) ---------------------------------------------------------------

#: Frequency-rate range a receiver must track through a burst (Hz/s): transmitter drift plus
#: satellite Doppler rate (spec §1: "design for ±200 Hz/s").
MAX_DRIFT_HZ_S = 200.0
#: Largest Doppler rate seen from a LEO satellite, 850 km orbit (Hz/s) (spec §1).
LEO_DOPPLER_RATE_850KM_HZ_S = 77.0
#: Largest Doppler shift seen from a LEO satellite (Hz) (spec §1).
LEO_DOPPLER_MAX_HZ = 9.5e3 + 0.6e3

# --- A4 VLD and Argos-3 sync words (spec §3) ---------------------------------------------------

#: A4 VLD: 200 bit/s on air (400 chips/s), residual-carrier biphase-L PM like A2 (research
#: notes §2.3, measured on real IQ), after a ≈160 ms carrier (measured; UNCONFIRMED by a spec).
A4_VLD_BIT_RATE = 200.0
A4_VLD_CARRIER_DURATION_S = 0.160
#: 24-bit sync 0xAC5353 (A4-SS-TER-SP-0079-CNES via Desert-Tortoise; high confidence).
A4_VLD_SYNC_WORD = 0xAC5353
A4_VLD_SYNC_BITS = 24
#: 2-bit length right after the sync, uncoded: 00 = short (1 block), 11 = long (3 blocks).
A4_VLD_LENGTH_BITS = 2
A4_VLD_LENGTH_CODES = (0b00, 0b11)
A4_VLD_BLOCKS = (1, 3)
#: Each 34-bit information block (28 data + 6 tail) is sent as 45 coded bits; the code is
#: UNCONFIRMED (research notes §2.3), so receivers report the raw coded blocks.
A4_VLD_CODED_BLOCK_BITS = 45
A4_VLD_INFO_BLOCK_BITS = 34
A3_ZE_SYNC_WORD_30 = 0x2BEEEEBF & ((1 << 30) - 1)


def a2_message_bits(n_blocks: int) -> int:
    """Number of message bits (platform ID + data) after the length field for N blocks."""
    if not 1 <= n_blocks <= A2_MAX_BLOCKS:
        raise ValueError(f"A2 length N must be 1..{A2_MAX_BLOCKS}, got {n_blocks}")
    return A2_MESSAGE_BASE_BITS + A2_BLOCK_BITS * n_blocks


def a2_burst_duration_s(n_blocks: int) -> float:
    """Total A2 burst duration (carrier + sync + length + message) in seconds."""
    bits = A2_SYNC_BITS + A2_LENGTH_FIELD_BITS + a2_message_bits(n_blocks)
    return A2_CARRIER_DURATION_S + bits / A2_BIT_RATE


def a2_theoretical_ber(ebn0_db, beta: float = A2_PHASE_DEVIATION_RAD):
    """Coherent matched-filter BER of residual-carrier biphase PM (spec §2):
    ``Q(sqrt(2 sin²β Eb/N0))`` with Eb = total received power / bit rate."""
    import numpy as np
    from scipy.special import erfc

    ebn0 = 10.0 ** (np.asarray(ebn0_db, dtype=float) / 10.0)
    x = np.sqrt(2.0 * math.sin(beta) ** 2 * ebn0)
    return 0.5 * erfc(x / math.sqrt(2.0))


def a2_theoretical_per(ebn0_db, n_blocks: int, beta: float = A2_PHASE_DEVIATION_RAD):
    """Packet error rate when every bit after the sync must be right (length + message)."""
    n_bits = A2_LENGTH_FIELD_BITS + a2_message_bits(n_blocks)
    return 1.0 - (1.0 - a2_theoretical_ber(ebn0_db, beta)) ** n_bits
