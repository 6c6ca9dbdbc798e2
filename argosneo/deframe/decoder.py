"""The receiver's last stage: burst candidates → decoded (or rejected) bursts.

A :class:`BurstDecoder` owns a bank of demodulators (one per format, tried in order), the
deframers, the duplicate suppression and the memory of where the bursts it decoded ended. With
that memory it narrows each candidate's window itself: the window ends where a later carrier
nearby begins and starts after an earlier decoded burst nearby ended; when the narrowed window
does not decode, later ends and the full start are tried. Every input it needs travels with the
:class:`~argosneo.detect.bursts.BurstCandidate`, so nothing flows back to the window stage and
a graph of these stages stays acyclic. The bank (``formats``) can change between two candidates.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field

from argosneo import spec
from argosneo.deframe.a2 import A2Frame, deframe_a2
from argosneo.deframe.a3 import A3Frame
from argosneo.deframe.vld import VLDFrame, deframe_vld
from argosneo.demodulate.a2 import (
    A2Demodulator,
    BurstWindow,
    DemodulationRejected,
    VLDDemodulator,
)
from argosneo.demodulate.a3_burst import A3BurstDemodulator
from argosneo.detect.bursts import CUT_BY_WINDOW, NEIGHBOUR_HZ, BurstCandidate
from argosneo.errors import ArgosneoError
from argosneo.io.writer import sigmf_datetime

#: Two decodes this close in frequency that overlap in time are the same burst seen twice.
DUPLICATE_FREQ_HZ = 100.0
#: Window ends tried on one detection at most: the cleared window's, then later ones when it
#: was cut at a later nearby detection and did not decode (see :meth:`BurstDecoder._later_ends`).
MAX_WINDOW_ENDS = 3

#: Demodulator of every format the receiver knows, by name.
DEMODULATORS = {"A2": A2Demodulator, "VLD": VLDDemodulator, "A3": A3BurstDemodulator}


def check_formats(formats) -> tuple[str, ...]:
    """The format names as a tuple, or an ArgosneoError naming the unknown ones."""
    formats = tuple(formats)
    unknown = set(formats) - set(DEMODULATORS)
    if unknown or not formats:
        raise ArgosneoError(f"unknown format(s) {sorted(unknown)}; choose from {sorted(DEMODULATORS)}")
    return formats


def longest_burst_s(formats) -> float:
    """Air time of the longest burst of any of ``formats`` (what a window must hold)."""
    return max(DEMODULATORS[f].frame_format.duration_s() for f in check_formats(formats))


@dataclass
class DecodedBurst:
    """One decoded A2 burst with its measurements (see :meth:`to_record`)."""

    sample_start: int
    sample_start_exact: float
    time_utc: _dt.datetime | None
    center_freq: float | None
    offset_hz: float
    drift_hz_s: float
    cn0_dbhz: float
    level_dbfs: float | None
    beta_rad: float | None
    polarity: int
    frame: A2Frame | VLDFrame | A3Frame
    channel: int
    duration_s: float = 0.0      #: air time, carrier start to the end of the last bit

    @property
    def format(self) -> str:
        return self.frame.format

    @property
    def frequency_hz(self) -> float | None:
        return None if self.center_freq is None else self.center_freq + self.offset_hz

    @property
    def ebn0_db(self) -> float:
        return self.cn0_dbhz - 10 * math.log10(self.frame.bit_rate)

    def to_record(self) -> dict:
        """The JSON-lines record of ``argosneo replay`` / ``rx``."""
        f = self.frame
        return {
            "format": self.format,
            "sample_start": int(self.sample_start),
            "time_utc": None if self.time_utc is None else sigmf_datetime(self.time_utc),
            "frequency_hz": None if self.frequency_hz is None else round(self.frequency_hz, 3),
            "offset_hz": round(self.offset_hz, 3),
            "drift_hz_s": round(self.drift_hz_s, 3),
            "cn0_dbhz": round(self.cn0_dbhz, 2),
            "ebn0_db": round(self.ebn0_db, 2),
            "level_dbfs": None if self.level_dbfs is None else round(self.level_dbfs, 2),
            "duration_s": round(self.duration_s, 6),
            **f.record_fields(),
            "polarity": self.polarity,
            "beta_rad": None if self.beta_rad is None else round(self.beta_rad, 3),
        }


@dataclass
class RejectedBurst:
    """A detected carrier that did not decode (reported with ``--all-bursts``)."""

    sample_start: int
    time_utc: _dt.datetime | None
    center_freq: float | None
    offset_hz: float
    reason: str
    channel: int
    format: str = "A2"

    def to_record(self) -> dict:
        return {
            "format": self.format,
            "decoded": False,
            "reason": self.reason,
            "sample_start": int(self.sample_start),
            "time_utc": None if self.time_utc is None else sigmf_datetime(self.time_utc),
            "frequency_hz": None if self.center_freq is None else round(self.center_freq + self.offset_hz, 1),
            "offset_hz": round(self.offset_hz, 1),
        }


@dataclass
class DecoderStats:
    candidates: int = 0
    decoded: int = 0
    rejected: int = 0
    duplicates: int = 0
    reject_reasons: dict = field(default_factory=dict)


class BurstDecoder:
    """Decode burst candidates with a bank of demodulators.

    Parameters
    ----------
    formats : tuple of str
        Formats tried, in order, on every candidate: ``"A2"``, ``"VLD"``, ``"A3"`` (see
        :class:`~argosneo.receiver.A2Receiver`); :meth:`set_formats` changes the bank in flight.
    id_bits : {20, 28}
        Platform-ID width used to split an A2 message.
    polarity : {None, 1, -1}
        Force the bit polarity instead of resolving it from the sync word.
    keep_rejected : bool
        Also return :class:`RejectedBurst` items for candidates that did not decode.
    """

    def __init__(self, *, formats: tuple[str, ...] = ("A2", "VLD"), id_bits: int = spec.A2_DEFAULT_ID_BITS,
                 polarity: int | None = None, keep_rejected: bool = False):
        if id_bits not in spec.A2_ID_BITS_CHOICES:
            raise ArgosneoError(f"--id-bits must be 20 or 28, got {id_bits}")
        self.id_bits = id_bits
        self.polarity = polarity
        self.keep_rejected = keep_rejected
        self.set_formats(formats)
        self._recent: list[tuple[float, float, float]] = []    # decoded (start, end, offset), input samples
        self._decoded_ends: list[tuple[float, int]] = []       # (offset_hz, row) in ``_segment``
        self._segment = None
        self.stats = DecoderStats()

    def set_formats(self, formats) -> None:
        """Replace the demodulator bank (applies from the next candidate). A format already
        in the bank keeps its demodulator."""
        formats = check_formats(formats)
        old = dict(zip(getattr(self, "formats", ()), getattr(self, "demodulators", ())))
        self.formats = formats
        self.demodulators = [old.get(f) or DEMODULATORS[f](polarity=self.polarity) for f in formats]

    @property
    def longest_burst_s(self) -> float:
        return longest_burst_s(self.formats)

    # -- streaming ----------------------------------------------------------------------------

    def process(self, cand: BurstCandidate) -> list:
        """Decode one candidate: ``[DecodedBurst]``, ``[RejectedBurst]`` (with
        ``keep_rejected``) or ``[]`` (rejected, or a duplicate of a burst already decoded)."""
        self.stats.candidates += 1
        if cand.segment is not self._segment:
            # rows of another segment: the ends remembered are in another index space
            self._decoded_ends.clear()
            self._segment = cand.segment
        self._decoded_ends = [e for e in self._decoded_ends if e[1] >= cand.horizon]
        start, end = self._clear_window(cand)
        ends = [end]
        if end < cand.end:
            ends += self._later_ends(cand, end)
        windows = [(start, e) for e in ends]
        if start > cand.start:
            # a neighbour decoded as ending before the detection may still have ended after this
            # burst's carrier began (a weak carrier is sometimes only found in its sync word)
            windows += [(cand.start, e) for e in ends]
        cut_reason = cand.cut_reason
        reason = cut_reason
        rate = cand.segment.channel_rate
        for start, end in windows:
            demod, window, reasons = self._attempt(cand, start, end)
            if window is None:
                reason = cut_reason
                continue
            if demod is None:
                reason = "; ".join(reasons)
                continue
            # a burst whose last bit lies beyond the samples received would have made-up bits
            window_end_s = window.time_of_first + len(window.samples) / rate
            if demod.end_s > window_end_s + 0.25 / spec.A2_BIT_RATE:
                reason = cut_reason
                continue
            break
        else:
            if cut_reason != CUT_BY_WINDOW and reason != cut_reason:
                # a window cut by a gap, a retune or the end of the input: say so first, the
                # demodulators' complaints are only its consequence
                reason = f"{cut_reason}: {reason}"
            return self._reject(cand, reason)
        if demod.format == "A2":
            frame = deframe_a2(demod, self.id_bits)
        elif demod.format == "VLD":
            frame = deframe_vld(demod)
        else:
            frame = A3Frame(demod)
        burst = self._make_burst(cand, demod, frame)
        if self._is_duplicate(burst, demod.end_s - demod.carrier_start_s, cand.segment.info.sample_rate):
            self.stats.duplicates += 1
            return []
        seg = cand.segment
        end_index = (demod.end_s * seg.info.sample_rate + seg.group_delay) / seg.decimation
        self._decoded_ends.append((burst.offset_hz, int(math.ceil(end_index))))
        self.stats.decoded += 1
        return [burst]

    # -- internals ----------------------------------------------------------------------------

    def _clear_window(self, cand: BurstCandidate) -> tuple[int, int]:
        """The candidate's window, shortened so it holds no other burst close in frequency: it
        ends where the frame that found a later carrier nearby begins, and starts after an
        earlier decoded burst nearby ended (its tail would spoil the noise estimate and the
        carrier search)."""
        det = cand.detection
        start, end = cand.start, cand.end
        frame = det.frame_length
        for other in cand.neighbours:
            if det.frame_start < other < end:
                # the later carrier began within (about) the frame that found it
                end = min(end, other)
        for offset, burst_end in self._decoded_ends:
            if abs(offset - det.offset_hz) <= NEIGHBOUR_HZ and start < burst_end < det.frame_start:
                start = max(start, burst_end + frame // 4)
        return start, max(start, end)

    def _later_ends(self, cand: BurstCandidate, end: int) -> list[int]:
        """Window ends to retry with when the window cut at ``end`` did not decode: the frames
        of the later nearby detections beyond it, then the full window. A detection inside the
        burst is its own line seen again (a weak residual carrier that faded below the threshold
        for a few frames) or a burst more than the collision guard away that overlaps it in
        time; neither is a reason to cut it short."""
        ends = sorted({o for o in cand.neighbours if end < o < cand.end})
        return (ends + [cand.end])[:MAX_WINDOW_ENDS - 1]

    def _attempt(self, cand: BurstCandidate, start: int, end: int):
        """Demodulate rows ``[start, end)`` with every format; the first that decodes, its
        window, and why the others (or all) did not."""
        samples, start = cand.window(start, end)
        if len(samples) == 0:
            return None, None, []
        det, seg = cand.detection, cand.segment
        base = float(seg.channel_offsets_hz[det.channel])
        window = BurstWindow(
            samples=samples,
            sample_rate=seg.channel_rate,
            time_of_first=seg.input_time(start),
            baseband_offset_hz=base,
            coarse_carrier_hz=det.offset_hz - base,
            coarse_start_s=seg.input_time(det.frame_start),
        )
        reasons = []
        for demodulator in self.demodulators:
            try:
                return demodulator.demodulate(window), window, reasons
            except DemodulationRejected as exc:
                reasons.append(f"{demodulator.frame_format.name}: {exc}")
        return None, window, reasons

    def _make_burst(self, cand: BurstCandidate, demod, frame) -> DecodedBurst:
        seg = cand.segment
        exact = seg.first_sample + demod.carrier_start_s * seg.info.sample_rate
        time_utc = None
        if seg.time_anchor is not None:
            time_utc = seg.time_anchor + _dt.timedelta(seconds=demod.carrier_start_s)
        return DecodedBurst(
            sample_start=int(round(exact)),
            sample_start_exact=float(exact),
            time_utc=time_utc,
            center_freq=seg.info.center_freq,
            offset_hz=demod.offset_hz,
            drift_hz_s=demod.drift_hz_s,
            cn0_dbhz=(demod.cn0_dbhz if hasattr(demod, "cn0_dbhz")
                      else demod.ebn0_db + 10 * math.log10(frame.bit_rate)),
            level_dbfs=(20 * math.log10(max(demod.amplitude, 1e-12))
                        if hasattr(demod, "amplitude") else None),
            beta_rad=getattr(demod, "beta_rad", None),
            polarity=getattr(demod, "polarity", getattr(demod, "q_polarity", 1)),
            frame=frame,
            channel=cand.detection.channel,
            duration_s=demod.end_s - demod.carrier_start_s,
        )

    def _is_duplicate(self, burst: DecodedBurst, duration_s: float, fs: float) -> bool:
        """Two decodes at the same frequency whose bursts overlap in time are one burst seen
        twice (e.g. from two detections): two real bursts there would have collided."""
        start = burst.sample_start_exact
        end = start + duration_s * fs
        horizon = start - 5 * fs
        self._recent = [r for r in self._recent if r[1] >= horizon]
        for other_start, other_end, other_offset in self._recent:
            if (abs(other_offset - burst.offset_hz) <= DUPLICATE_FREQ_HZ
                    and start < other_end and other_start < end):
                return True
        self._recent.append((start, end, burst.offset_hz))
        return False

    def _reject(self, cand: BurstCandidate, reason: str) -> list:
        self.stats.rejected += 1
        key = re.sub(r"\d+", "#", reason)
        self.stats.reject_reasons[key] = self.stats.reject_reasons.get(key, 0) + 1
        if not self.keep_rejected:
            return []
        det, seg = cand.detection, cand.segment
        t = seg.input_time(det.frame_start)
        return [RejectedBurst(
            sample_start=int(round(seg.first_sample + t * seg.info.sample_rate)),
            time_utc=None if seg.time_anchor is None else seg.time_anchor + _dt.timedelta(seconds=t),
            center_freq=seg.info.center_freq,
            offset_hz=det.offset_hz,
            reason=reason,
            channel=det.channel,
        )]
