"""PTT-A2 deframer: from demodulated bits to the frame fields (argos-spec.md §2).

The A2 frame carries no check besides the length field's parity, so the deframer reports what
was checked: sync-word bit errors, length parity, and whether the length had to be chosen by
maximum likelihood among the eight valid codes. The platform ID width (20 or 28 bits) is not in
the frame; it is a setting, and the raw message bits are always reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from argosneo import spec


def bits_to_hex(bits: np.ndarray) -> str:
    """MSB-first bits as hex digits, zero-padded on the left to whole digits."""
    bits = np.asarray(bits, dtype=np.uint8)
    if len(bits) == 0:
        return ""
    value = int("".join("1" if b else "0" for b in bits), 2)
    digits = (len(bits) + 3) // 4
    return format(value, f"0{digits}X")


@dataclass(frozen=True)
class A2Frame:
    n_blocks: int
    length_field: int             #: the 4 bits received (hard decisions)
    length_parity_ok: bool
    length_corrected: bool
    sync_bit_errors: int
    message_bits: np.ndarray      #: 20 + 32N bits after the length field
    id_bits: int

    @property
    def message_hex(self) -> str:
        return bits_to_hex(self.message_bits)

    @property
    def platform_id(self) -> int:
        return int(bits_to_hex(self.message_bits[: self.id_bits]), 16)

    @property
    def platform_id_hex(self) -> str:
        return "0x" + bits_to_hex(self.message_bits[: self.id_bits])

    @property
    def data_hex(self) -> str:
        return bits_to_hex(self.message_bits[self.id_bits:])

    format = "A2"
    bit_rate = spec.A2_BIT_RATE

    def record_fields(self) -> dict:
        """The format-specific keys of a decoded burst's JSON record."""
        return {
            "length_code": self.n_blocks,
            "length_field": format(self.length_field, "04b"),
            "message_bits": len(self.message_bits),
            "message_hex": self.message_hex,
            "platform_id": self.platform_id_hex,
            "id_bits": self.id_bits,
            "data_hex": self.data_hex,
            "checks": length_checks(self),
        }


def length_checks(frame) -> dict:
    """The checks a residual-carrier biphase frame (A2, VLD) reports: sync-word bit errors, the
    length field's validity and whether maximum likelihood had to choose the length."""
    return {
        "sync_bit_errors": frame.sync_bit_errors,
        "length_parity_ok": frame.length_parity_ok,
        "length_corrected": frame.length_corrected,
    }


def demodulated_fields(demod) -> dict:
    """Constructor arguments shared by the A2 and VLD frames, from a demodulated burst."""
    return dict(
        n_blocks=demod.n_blocks,
        length_field=demod.length_code,
        length_parity_ok=demod.length_parity_ok,
        length_corrected=demod.length_corrected,
        sync_bit_errors=demod.sync_bit_errors,
        message_bits=np.asarray(demod.message_bits, dtype=np.uint8),
    )


def deframe_a2(demod, id_bits: int = spec.A2_DEFAULT_ID_BITS) -> A2Frame:
    """Split a demodulated burst (:class:`~argosneo.demodulate.a2.A2Demodulated`) into fields."""
    if id_bits not in spec.A2_ID_BITS_CHOICES:
        raise ValueError(f"id_bits must be one of {spec.A2_ID_BITS_CHOICES}")
    expected = spec.a2_message_bits(demod.n_blocks)
    if len(demod.message_bits) != expected:
        raise ValueError(f"A2 frame with N={demod.n_blocks} needs {expected} message bits, "
                         f"got {len(demod.message_bits)}")
    return A2Frame(**demodulated_fields(demod), id_bits=id_bits)
