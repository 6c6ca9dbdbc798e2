"""A4 VLD deframer: sync 0xAC5353, 2-bit length (00 short / 11 long), then 45 coded bits per
34-bit information block (research notes §2.3).

The block code (convolutional, punctured, interleaved) is UNCONFIRMED: the research notes list
what was already ruled out. Until it is found the deframer reports the raw coded blocks and the
whole over-air bit stream — never a guessed platform ID.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from argosneo import spec
from argosneo.deframe.a2 import bits_to_hex, demodulated_fields, length_checks
from argosneo.demodulate.frames import bits_msb_first


@dataclass(frozen=True)
class VLDFrame:
    n_blocks: int                 #: 1 (short) or 3 (long)
    length_field: int             #: the 2 bits received (hard decisions)
    length_parity_ok: bool        #: the hard length bits are a valid code (00 or 11)
    length_corrected: bool
    sync_bit_errors: int
    message_bits: np.ndarray      #: the coded bits after the length field (45 per block)
    format = "VLD"
    bit_rate = spec.A4_VLD_BIT_RATE

    @property
    def blocks(self) -> list[np.ndarray]:
        n = spec.A4_VLD_CODED_BLOCK_BITS
        return [self.message_bits[i * n:(i + 1) * n] for i in range(self.n_blocks)]

    @property
    def over_air_bits(self) -> np.ndarray:
        """Sync + length field + coded blocks, as received (after error-free sync)."""
        sync = bits_msb_first(spec.A4_VLD_SYNC_WORD, spec.A4_VLD_SYNC_BITS).astype(np.uint8)
        length = bits_msb_first(self.length_field, spec.A4_VLD_LENGTH_BITS).astype(np.uint8)
        return np.concatenate([sync, length, self.message_bits.astype(np.uint8)])

    def record_fields(self) -> dict:
        bits = self.over_air_bits
        whole = len(bits) - len(bits) % 4
        return {
            "length_code": self.n_blocks,
            "length_field": format(self.length_field, "02b"),
            "message_bits": len(self.message_bits),
            "message_hex": bits_to_hex(self.message_bits),
            "blocks_hex": [bits_to_hex(b) for b in self.blocks],
            "over_air_hex": bits_to_hex(bits[:whole]),
            "over_air_tail_bits": "".join(str(int(b)) for b in bits[whole:]),
            "platform_id": None,
            "note": "A4 VLD block code unconfirmed: raw coded blocks reported",
            "checks": length_checks(self),
        }


def deframe_vld(demod) -> VLDFrame:
    """Split a demodulated VLD burst into its fields."""
    expected = spec.A4_VLD_CODED_BLOCK_BITS * demod.n_blocks
    if len(demod.message_bits) != expected:
        raise ValueError(f"VLD frame with {demod.n_blocks} blocks needs {expected} bits, "
                         f"got {len(demod.message_bits)}")
    return VLDFrame(**demodulated_fields(demod))
