"""Frame layouts of the residual-carrier biphase-L formats (PTT-A2 and A4 VLD).

Both formats are a pure carrier, then biphase-L phase modulation carrying a sync word, a length
field and the rest of the frame (argos-spec.md §2 and §3, argos-research.md §2.3). The
demodulator is shared; what differs is described here: bit rate, carrier length, sync word, the
valid length codes and how many over-air bits each announces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from argosneo import spec


def bits_msb_first(value: int, width: int) -> np.ndarray:
    return np.array([(value >> (width - 1 - i)) & 1 for i in range(width)], dtype=np.int8)


@dataclass(frozen=True, eq=False)
class BiphaseFrameFormat:
    """One residual-carrier biphase-L frame layout.

    ``length_codes[i]`` is a valid length field (as an int of ``length_bits`` bits) announcing
    ``frame_bits[i]`` over-air bits in all (sync + length field + the rest) and ``blocks[i]``
    blocks.
    """

    name: str
    bit_rate: float
    carrier_s: float
    sync_word: int
    sync_bits_count: int
    length_bits: int
    length_codes: tuple[int, ...]
    frame_bits: tuple[int, ...]
    blocks: tuple[int, ...]

    @property
    def chip_rate(self) -> float:
        return 2.0 * self.bit_rate

    @property
    def sync_bits(self) -> np.ndarray:
        return bits_msb_first(self.sync_word, self.sync_bits_count)

    @property
    def header_bits(self) -> int:
        return self.sync_bits_count + self.length_bits

    @property
    def min_bits(self) -> int:
        return min(self.frame_bits)

    @property
    def max_bits(self) -> int:
        return max(self.frame_bits)

    def duration_s(self, frame_bits: int | None = None) -> float:
        return self.carrier_s + (self.max_bits if frame_bits is None else frame_bits) / self.bit_rate

    def frame_length(self, soft: np.ndarray) -> tuple[int, int, dict]:
        """Maximum-likelihood length among the valid codes from the soft length-field bits.

        Returns ``(over-air bits, blocks, info)`` where ``info`` has the hard-decided
        ``length_code``, ``length_parity_ok`` (the hard code is a valid code: for A2 exactly the
        even-parity check) and ``length_corrected`` (the ML choice differs from the hard code).
        """
        lo = self.sync_bits_count
        field = np.asarray(soft[lo: lo + self.length_bits], dtype=np.float64)
        hard = (field > 0).astype(np.int8)
        code = int(sum(int(b) << (self.length_bits - 1 - i) for i, b in enumerate(hard)))
        candidates = np.array([bits_msb_first(c, self.length_bits) for c in self.length_codes])
        scores = (2.0 * candidates - 1) @ field
        best = int(np.argmax(scores))
        return self.frame_bits[best], self.blocks[best], dict(
            length_code=code,
            length_parity_ok=code in self.length_codes,
            length_corrected=code != self.length_codes[best],
        )


A2_FRAME = BiphaseFrameFormat(
    name="A2",
    bit_rate=spec.A2_BIT_RATE,
    carrier_s=spec.A2_CARRIER_DURATION_S,
    sync_word=spec.A2_SYNC_WORD,
    sync_bits_count=spec.A2_SYNC_BITS,
    length_bits=spec.A2_LENGTH_FIELD_BITS,
    length_codes=spec.A2_LENGTH_CODES,
    frame_bits=tuple(spec.A2_SYNC_BITS + spec.A2_LENGTH_FIELD_BITS + spec.a2_message_bits(n)
                     for n in range(1, spec.A2_MAX_BLOCKS + 1)),
    blocks=tuple(range(1, spec.A2_MAX_BLOCKS + 1)),
)

VLD_FRAME = BiphaseFrameFormat(
    name="VLD",
    bit_rate=spec.A4_VLD_BIT_RATE,
    carrier_s=spec.A4_VLD_CARRIER_DURATION_S,
    sync_word=spec.A4_VLD_SYNC_WORD,
    sync_bits_count=spec.A4_VLD_SYNC_BITS,
    length_bits=spec.A4_VLD_LENGTH_BITS,
    length_codes=spec.A4_VLD_LENGTH_CODES,
    frame_bits=tuple(spec.A4_VLD_SYNC_BITS + spec.A4_VLD_LENGTH_BITS + spec.A4_VLD_CODED_BLOCK_BITS * b
                     for b in spec.A4_VLD_BLOCKS),
    blocks=spec.A4_VLD_BLOCKS,
)

FORMATS = {f.name: f for f in (A2_FRAME, VLD_FRAME)}
