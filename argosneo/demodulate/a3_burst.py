"""The receiver-facing PTT-A3/ZE demodulator: lets the receiver try A3/ZE on a detected carrier
like A2 and VLD, and rejects decodes whose checks fail.

The A3/ZE *coding* chain is verified against the CNES ZE example; the *modulation* (I NRZ /
Q Manchester QPSK after an 82 ms carrier) follows one student model and is UNCONFIRMED (see
``argosneo/spec_a3.py``), which is why the receiver only tries A3/ZE when asked
(``formats=(..., "A3")``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from argosneo import spec_a3
from argosneo.coding.a3 import datagram_length
from argosneo.demodulate.a2 import DemodulationRejected
from argosneo.demodulate.a3 import A3Demodulator

#: Measured Eb/N0 under which an A3/ZE decode is taken for chance (dB).
MIN_EBN0_DB = 1.0
#: Sync-word bit errors (of 30) accepted in the receiver: the A3/ZE demodulator's own default
#: (8) lets a mis-timed lock through as a wrong "ZE" decode.
MAX_SYNC_BIT_ERRORS = 2
#: End check: around the carrier (±END_CHECK_BAND_HZ/2), the signal power (above the noise
#: measured before the carrier) over this span after the decoded end must stay below this
#: fraction of the signal power over the same span before it.
END_CHECK_S = 0.03
END_CHECK_BAND_HZ = 4000.0
END_CHECK_RATIO = 0.4
#: Carrier-onset guesses tried around the detector's (s): the detection frame is 65 ms long.
COARSE_START_SHIFTS_S = (-0.06, -0.04, -0.02, 0.0, 0.02, 0.04)



class _A3FrameFormat:
    name = "A3"

    @staticmethod
    def duration_s(frame_bits=None) -> float:
        return spec_a3.a3_burst_duration_s(datagram_length("A3", spec_a3.A3_MAX_BLOCKS))


class A3BurstDemodulator:
    """The receiver-facing A3/ZE demodulator: rejects decodes whose checks fail."""

    frame_format = _A3FrameFormat()

    def __init__(self, *, polarity=None):
        self._demodulator = A3Demodulator(max_sync_bit_errors=MAX_SYNC_BIT_ERRORS)

    def demodulate(self, window):
        # the A3/ZE demodulator wants the carrier onset within ~10 ms, the detector gives it to a
        # frame (65 ms): try onsets across the frame and keep the cleanest sync
        best, reasons = None, []
        for shift in COARSE_START_SHIFTS_S:
            try:
                d = self._demodulator.demodulate(
                    dataclasses.replace(window, coarse_start_s=window.coarse_start_s + shift))
            except DemodulationRejected as exc:
                reasons.append(str(exc))
                continue
            if best is None or (d.sync_bit_errors, -d.score) < (best.sync_bit_errors, -best.score):
                best = d
        if best is None:
            raise DemodulationRejected(reasons[0] if reasons else "no A3/ZE sync")
        d = best
        if not d.tail_ok:
            raise DemodulationRejected("decoded tail is not all zeros")
        if d.format == "A3" and not d.length_code_ok:
            raise DemodulationRejected("decoded length code does not match the length")
        if not math.isfinite(d.ebn0_db) or d.ebn0_db < MIN_EBN0_DB:
            raise DemodulationRejected(f"too weak for a burst (Eb/N0 {d.ebn0_db:.1f} dB)")
        self._check_ends_where_decoded(window, d)
        return d

    @staticmethod
    def _check_ends_where_decoded(window, d) -> None:
        """A decode must end where the signal ends: the terminated Viterbi decoder always returns
        a zero tail, so a longer burst cut short (e.g. an A3 burst whose window was shortened)
        can otherwise pass for a ZE burst with a wrong ID. Around the carrier (±~2 kHz), the
        power just after the decoded end must be back near the noise before the carrier."""
        fs = window.sample_rate
        x = np.asarray(window.samples, dtype=np.complex64)
        t = np.arange(len(x)) / fs
        carrier = d.offset_hz - window.baseband_offset_hz
        y = x * np.exp(-2j * np.pi * carrier * t).astype(np.complex64)
        box = max(1, int(fs / END_CHECK_BAND_HZ))
        p = np.abs(np.convolve(y, np.ones(box, dtype=np.float32) / box, mode="same")) ** 2
        to_index = lambda s_: int(round((s_ - window.time_of_first) * fs))  # noqa: E731
        span, guard = int(round(END_CHECK_S * fs)), int(round(0.005 * fs))
        end, onset = to_index(d.end_s), to_index(d.carrier_start_s)
        before = p[max(0, end - guard - span): max(0, end - guard)]
        after = p[end + guard: end + guard + span]
        noise = p[max(0, onset - guard - span): max(0, onset - guard)]
        if len(before) < span // 2 or len(after) < span // 2 or len(noise) < span // 2:
            return
        excess_before = float(np.mean(before)) - float(np.mean(noise))
        excess_after = float(np.mean(after)) - float(np.mean(noise))
        if excess_before > 0 and excess_after > END_CHECK_RATIO * excess_before:
            raise DemodulationRejected(
                f"signal continues after the decoded {d.format} end "
                f"({excess_after / excess_before:.0%} of the signal power before it)")
