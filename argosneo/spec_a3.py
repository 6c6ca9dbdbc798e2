"""Physical constants of PTT-A3 and PTT-ZE (Argos-3, 400 bit/s).

Sources: ``argos-research.md`` §2.1 and §6.1 (coding chain VERIFIED-HERE bit-exactly against the
CNES AS3-SP-516-274 ZE example), ``argos-spec.md`` §3. Kept apart from :mod:`argosneo.spec` so the
two can be edited independently. Everything marked ``UNCONFIRMED`` has no public primary source:
each is one named constant so one edit changes it.
"""

from __future__ import annotations

import math

from argosneo import spec

# --- framing and coding (high confidence: reproduces the CNES ZE example) ---------------------

#: Sync word: the low 30 bits of 0x2BEEEEBF, MSB first on air; not coded, not permuted.
A3_SYNC_WORD = spec.A3_ZE_SYNC_WORD_30
A3_SYNC_BITS = 30
#: Platform ID width (bits) for A3 and ZE.
A3_ID_BITS = 28
#: A3 length field: 4 bits, the same eight codes as A2, indexed by N − 1.
A3_LENGTH_FIELD_BITS = 4
A3_LENGTH_CODES = spec.A2_LENGTH_CODES
A3_MAX_BLOCKS = 8
#: A3 user data: 24 + 32·(N − 1) bits.
A3_USER_BASE_BITS = 24
A3_BLOCK_BITS = 32
#: Zero tail bits closing an A3 datagram, indexed by N − 1 (they make every datagram a multiple
#: of 3 bits, i.e. whole groups of the I/Q permutation).
A3_TAIL_BITS = (7, 8, 9, 7, 8, 9, 7, 8)
#: ZE datagram: 28-bit ID then 8 tail zeros, no length field.
ZE_TAIL_BITS = 8
ZE_INFO_BITS = A3_ID_BITS + ZE_TAIL_BITS

# --- modulation (LOW confidence: student model of the CNES spec, research notes §2.1) ---------

#: QPSK symbols per second (= information bits per second: rate-1/2 code, 2 code bits/symbol).
A3_SYMBOL_RATE = 400.0
#: Manchester chips per second on Q (two per symbol). UNCONFIRMED (Q Manchester is the model's).
A3_Q_CHIP_RATE = 2 * A3_SYMBOL_RATE
#: Pure-carrier preamble (s); the notes give 82 ± 2 ms. UNCONFIRMED exact value.
A3_CARRIER_DURATION_S = 0.082
#: Baseband level during the preamble: d_I = 1, d_Q = 0 (model's "portadora pura"). UNCONFIRMED.
A3_CARRIER_I = 1.0
A3_CARRIER_Q = 0.0
#: Scale of the data constellation (d_I + j·d_Q)·scale: 1/√2 gives the same envelope as the
#: carrier (a constant-envelope transmitter). UNCONFIRMED (the model does not normalise).
A3_DATA_SCALE = 1.0 / math.sqrt(2.0)
#: Level sent on I for a 1 bit (NRZ); the sync's I half is all ones, so +1 continues the carrier.
#: UNCONFIRMED sign.
A3_I_ONE_LEVEL = +1
#: First Manchester chip on Q for a 1 bit (bit 1 → (+1, −1)). UNCONFIRMED; the demodulator
#: resolves the Q sign from the sync.
A3_Q_ONE_FIRST_CHIP = +1
#: Fraction of a Q chip taken by a linear level transition, centred on the boundary (0 =
#: rectangular pulses; the model uses RRC α = 0.8). UNCONFIRMED pulse shape.
A3_TRANSITION_FRACTION = 0.125


def a3_user_bits(n_blocks: int) -> int:
    """A3 user-data bits for N blocks: 24 + 32·(N − 1)."""
    return A3_USER_BASE_BITS + A3_BLOCK_BITS * (int(n_blocks) - 1)


def a3_info_bits(n_blocks: int) -> int:
    """A3 datagram length before coding: length field + ID + user data + tail."""
    return (A3_LENGTH_FIELD_BITS + A3_ID_BITS + a3_user_bits(n_blocks)
            + A3_TAIL_BITS[int(n_blocks) - 1])


def a3_burst_duration_s(n_info_bits: int) -> float:
    """Burst duration (s) for a datagram of ``n_info_bits``: carrier, 15 sync symbols, then one
    QPSK symbol per information bit (two code bits per symbol)."""
    return A3_CARRIER_DURATION_S + (A3_SYNC_BITS // 2 + int(n_info_bits)) / A3_SYMBOL_RATE
