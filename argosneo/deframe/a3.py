"""PTT-A3 / PTT-ZE frame fields (the record the receiver writes for an A3/ZE decode).

The A3/ZE *coding* chain is verified against the CNES ZE example; the *modulation* is
UNCONFIRMED (see ``argosneo/spec_a3.py`` and :mod:`argosneo.demodulate.a3_burst`).
"""

from __future__ import annotations

from dataclasses import dataclass

from argosneo import spec_a3
from argosneo.demodulate.a3 import A3Demodulated


@dataclass(frozen=True)
class A3Frame:
    demod: A3Demodulated
    bit_rate = spec_a3.A3_SYMBOL_RATE

    @property
    def format(self) -> str:
        return self.demod.format

    def record_fields(self) -> dict:
        d = self.demod
        return {
            "length_code": d.n_blocks if d.format == "A3" else None,
            "platform_id": f"0x{d.platform_id:07X}",
            "id_bits": 28,
            "data_hex": d.data_hex.removeprefix("0x"),
            "message_bits": len(d.datagram),
            "checks": {
                "sync_bit_errors": d.sync_bit_errors,
                "length_code_ok": d.length_code_ok,
                "tail_ok": d.tail_ok,
                "code_bit_errors_corrected": d.code_bit_errors,
            },
            "note": "A3/ZE modulation model unconfirmed (coding chain verified)",
        }
