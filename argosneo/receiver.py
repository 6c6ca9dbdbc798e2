"""The PTT-A2 receiver chain, assembled in one place:

    samples → PolyphaseChannelizer → channel history ring → CarrierDetector
            → (per detection, once its whole burst window has arrived) A2Demodulator
            → A2 deframer → DecodedBurst

Everything is indexed by absolute sample numbers, so the output does not depend on how the input
is cut into chunks: frames, windows and decisions all fall on the same samples whatever the chunk
size. A chunk marked ``discontinuity`` (samples lost before it) resets the chain: bursts whose
window spans the gap are reported as rejected ("cut by a gap in the input"), never stitched.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field

import numpy as np

from argosneo import spec
from argosneo.channelize.pfb import PolyphaseChannelizer
from argosneo.channelize.prototype import receiver_passband_fraction
from argosneo.deframe.a2 import A2Frame, deframe_a2
from argosneo.deframe.vld import VLDFrame, deframe_vld
from argosneo.deframe.a3 import A3BurstDemodulator, A3Frame
from argosneo.demodulate.a2 import A2Demodulator, BurstWindow, DemodulationRejected, VLDDemodulator
from argosneo.detect.carrier import DEFAULT_PFA, CarrierDetection, CarrierDetector
from argosneo.errors import ArgosneoError
from argosneo.io.chunk import SampleChunk, StreamInfo

#: Channel spacing aimed at (Hz): a few A2 bandwidths (±2.5 kHz) so a channel holds a whole
#: burst; the real spacing is fs/M with M a power of two.
TARGET_CHANNEL_SPACING_HZ = 8000.0
#: Channel history kept before a detection (s): the carrier may have started up to a frame
#: before it was seen, and the demodulator wants noise-only samples ahead of the carrier.
LOOKBACK_S = 0.30
#: Samples kept after the longest burst could have ended (s).
TAIL_S = 0.15
#: Two decodes this close in frequency that overlap in time are the same burst seen twice.
DUPLICATE_FREQ_HZ = 100.0
#: Another burst this close in frequency limits a burst's window (its carrier and sidebands
#: would otherwise enter the carrier search, the sync search and the noise estimate) (Hz).
NEIGHBOUR_HZ = 3500.0
#: Window ends tried on one detection at most: the cleared window's, then later ones when it
#: was cut at a later nearby detection and did not decode (see ``A2Receiver._later_ends``).
MAX_WINDOW_ENDS = 3


#: Demodulator of every format the receiver knows, by name.
DEMODULATORS = {"A2": A2Demodulator, "VLD": VLDDemodulator, "A3": A3BurstDemodulator}


def choose_num_channels(sample_rate: float) -> int:
    """Power-of-two channel count giving a spacing near ``TARGET_CHANNEL_SPACING_HZ``."""
    m = 2 ** int(round(math.log2(max(sample_rate / TARGET_CHANNEL_SPACING_HZ, 2.0))))
    return max(2, m)


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
            "time_utc": None if self.time_utc is None else _iso(self.time_utc),
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
            "time_utc": None if self.time_utc is None else _iso(self.time_utc),
            "frequency_hz": None if self.center_freq is None else round(self.center_freq + self.offset_hz, 1),
            "offset_hz": round(self.offset_hz, 1),
        }


def _iso(t: _dt.datetime) -> str:
    return t.astimezone(_dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class _Job:
    detection: CarrierDetection
    start: int      # channel-output index of the window's first sample
    end: int        # one past the last


@dataclass
class ReceiverStats:
    samples: int = 0
    chunks: int = 0
    detections: int = 0
    decoded: int = 0
    rejected: int = 0
    duplicates: int = 0
    discontinuities: int = 0
    reject_reasons: dict = field(default_factory=dict)


class A2Receiver:
    """Decodes every PTT-A2 burst in a sample stream.

    Parameters
    ----------
    info : StreamInfo
        Sample rate, centre frequency and start time of the stream.
    id_bits : {20, 28}
        Platform-ID width used to split the message (the frame does not say).
    pfa : float
        Detector false-alarm probability per spectral bin and frame.
    polarity : {None, 1, -1}
        Force the bit polarity instead of resolving it from the sync word.
    keep_rejected : bool
        Also return :class:`RejectedBurst` items for carriers that did not decode.
    num_channels : int, optional
        Channelizer size (default: power of two for ≈ 8 kHz spacing).
    formats : tuple of str
        Formats tried, in order, on every detected carrier: ``"A2"`` (PTT-A2) and ``"VLD"``
        (A4 VLD, raw coded blocks). Both open with a 160 ms carrier; the sync word decides.
        ``"A3"`` adds PTT-A3/ZE (82 ms carrier; modulation model UNCONFIRMED, so not default).
    """

    def __init__(self, info: StreamInfo, *, id_bits: int = spec.A2_DEFAULT_ID_BITS,
                 pfa: float = DEFAULT_PFA, polarity: int | None = None,
                 keep_rejected: bool = False, num_channels: int | None = None,
                 formats: tuple[str, ...] = ("A2", "VLD")):
        if id_bits not in spec.A2_ID_BITS_CHOICES:
            raise ArgosneoError(f"--id-bits must be 20 or 28, got {id_bits}")
        if info.sample_rate <= 0:
            raise ArgosneoError(f"sample rate must be positive, got {info.sample_rate}")
        self.info = info
        self.id_bits = id_bits
        self.keep_rejected = keep_rejected
        fs = float(info.sample_rate)
        self.num_channels = num_channels or choose_num_channels(fs)
        passband = receiver_passband_fraction(fs, self.num_channels) if self.num_channels > 2 else None
        self.channelizer = PolyphaseChannelizer(self.num_channels, oversample=2,
                                                passband_hz_fraction=passband)
        self.channel_rate = self.channelizer.channel_rate(fs)
        self.channel_offsets_hz = self.channelizer.channel_offsets_hz(fs)
        self.channel_spacing_hz = fs / self.num_channels
        self.detector = CarrierDetector(self.channel_offsets_hz, self.channel_rate,
                                        self.channel_spacing_hz, pfa=pfa)
        unknown = set(formats) - set(DEMODULATORS)
        if unknown or not formats:
            raise ArgosneoError(f"unknown format(s) {sorted(unknown)}; choose from {sorted(DEMODULATORS)}")
        self.formats = tuple(formats)
        self.demodulators = [DEMODULATORS[f](polarity=polarity) for f in self.formats]
        rate = self.channel_rate
        self._lookback = int(math.ceil(LOOKBACK_S * rate))
        longest = max(d.frame_format.duration_s() for d in self.demodulators)
        self._after = int(math.ceil((longest + TAIL_S) * rate))
        # rows are written in pieces of ``_piece`` so a finished window is read before any of
        # its samples can be overwritten
        self._piece = 2 * self.detector.fft_size
        capacity = self._lookback + self._after + self._piece + self.detector.fft_size
        self._ring = np.zeros((capacity, self.num_channels), dtype=np.complex64)
        self._ring_count = 0           # channel-output samples written since the last reset
        self._jobs: list[_Job] = []
        self._recent: list[tuple[float, float, float]] = []    # decoded (start, end, offset)
        self._detections: list[CarrierDetection] = []         # recent, for window clearing
        self._decoded_ends: list[tuple[float, int]] = []       # (offset_hz, channel index)
        self._segment_first_sample = 0       # input index where the current segment starts
        self._segment_time: _dt.datetime | None = info.start_time
        self.stats = ReceiverStats()

    # -- configuration ------------------------------------------------------------------------

    def set_pfa(self, pfa: float) -> None:
        """Change the detection false-alarm rate (takes effect at the next frame)."""
        self.detector.set_pfa(pfa)

    @property
    def pfa(self) -> float:
        return self.detector.pfa

    # -- streaming ----------------------------------------------------------------------------

    def process(self, chunk: SampleChunk) -> list:
        """Feed one chunk; return the bursts completed by it (in order of window end)."""
        out: list = []
        if chunk.discontinuity or (self._ring_count == 0 and self.stats.samples == 0):
            if self.stats.samples:
                # bursts that ended before the gap still decode; the others are reported cut
                out.extend(self._finish_pending("cut by a gap in the input"))
                self.stats.discontinuities += 1
            self._reset(chunk)
        x = np.ascontiguousarray(chunk.samples, dtype=np.complex64)
        self.stats.samples += len(x)
        self.stats.chunks += 1
        rows = self.channelizer.process(x)
        if len(rows):
            out.extend(self._take_rows(rows))
        return out

    def flush(self) -> list:
        """End of stream: decode every pending burst that the samples there are hold whole."""
        return self._finish_pending("cut by the end of the input")

    def _finish_pending(self, cut_reason: str) -> list:
        out = []
        for job in sorted(self._jobs, key=lambda j: (j.end, j.detection.offset_hz)):
            job.end = min(job.end, self._ring_count)
            out.extend(self._run_job(job, cut_reason))
        self._jobs.clear()
        return out

    # -- internals ----------------------------------------------------------------------------

    def _reset(self, chunk: SampleChunk) -> None:
        self.channelizer.reset()
        self.detector.reset(0)
        self._ring_count = 0
        self._jobs.clear()
        self._detections.clear()
        self._decoded_ends.clear()
        self._segment_first_sample = chunk.first_sample
        if chunk.time_anchor is not None:
            self._segment_time = chunk.time_anchor
        elif chunk.info.start_time is not None:
            self._segment_time = chunk.info.time_of(chunk.first_sample)
        else:
            self._segment_time = None

    def _take_rows(self, rows: np.ndarray) -> list:
        out = []
        capacity = len(self._ring)
        # write into the ring in pieces that never overrun a pending window
        pos = 0
        while pos < len(rows):
            n = min(len(rows) - pos, self._piece)
            piece = rows[pos:pos + n]
            start = self._ring_count % capacity
            first = min(n, capacity - start)
            self._ring[start:start + first] = piece[:first]
            if first < n:
                self._ring[: n - first] = piece[first:]
            self._ring_count += n
            for det in self.detector.process(piece):
                self.stats.detections += 1
                self._detections.append(det)
                job_start = max(0, det.frame_start - self._lookback)
                job_start = max(job_start, self._ring_count - capacity + 1)
                self._jobs.append(_Job(det, job_start, det.frame_start + self._after))
            out.extend(self._run_ready())
            pos += n
        return out

    def _forget_old(self) -> None:
        horizon = self._ring_count - len(self._ring)
        self._detections = [d for d in self._detections if d.frame_start >= horizon]
        self._decoded_ends = [e for e in self._decoded_ends if e[1] >= horizon]

    def _run_ready(self) -> list:
        ready = [j for j in self._jobs if j.end <= self._ring_count]
        if not ready:
            return []
        self._jobs = [j for j in self._jobs if j.end > self._ring_count]
        self._forget_old()
        out = []
        for job in sorted(ready, key=lambda j: (j.end, j.detection.offset_hz)):
            out.extend(self._run_job(job))
        return out

    def _read_ring(self, channel: int, start: int, end: int) -> np.ndarray:
        capacity = len(self._ring)
        start = max(start, self._ring_count - capacity)
        idx = np.arange(start, end) % capacity
        return self._ring[idx, channel], start

    def _input_time(self, output_index: float) -> float:
        """Stream time (s since the segment start) of a channel-output index."""
        return self.channelizer.input_index_of_output(output_index) / self.info.sample_rate

    def _clear_window(self, job: _Job) -> tuple[int, int]:
        """The job's window, shortened so it holds no other burst close in frequency: it ends
        where the frame that found a later carrier nearby begins, and starts after an earlier decoded burst
        nearby ended (its tail would spoil the noise estimate and the carrier search)."""
        det = job.detection
        start, end = job.start, job.end
        frame = self.detector.fft_size
        for other in self._detections:
            if other is det or abs(other.offset_hz - det.offset_hz) > NEIGHBOUR_HZ:
                continue
            if det.frame_start < other.frame_start < end:
                # the later carrier began within (about) the frame that found it
                end = min(end, other.frame_start)
        for offset, burst_end in self._decoded_ends:
            if abs(offset - det.offset_hz) <= NEIGHBOUR_HZ and start < burst_end < det.frame_start:
                start = max(start, burst_end + frame // 4)
        return start, max(start, end)

    def _later_ends(self, job: _Job, end: int) -> list[int]:
        """Window ends to retry with when the window cut at ``end`` did not decode: the frames
        of the later nearby detections beyond it, then the full window. A detection inside the
        burst is its own line seen again (a weak residual carrier that faded below the threshold
        for a few frames) or a burst more than the collision guard away that overlaps it in
        time; neither is a reason to cut it short."""
        det = job.detection
        ends = sorted({o.frame_start for o in self._detections
                       if o is not det and abs(o.offset_hz - det.offset_hz) <= NEIGHBOUR_HZ
                       and end < o.frame_start < job.end})
        return (ends + [job.end])[:MAX_WINDOW_ENDS - 1]

    def _attempt(self, det: CarrierDetection, start: int, end: int):
        """Demodulate ``[start, end)`` of the detection's channel with every format; the first
        that decodes, its window, and why the others (or all) did not."""
        samples, start = self._read_ring(det.channel, start, end)
        if len(samples) == 0:
            return None, None, []
        window = BurstWindow(
            samples=samples,
            sample_rate=self.channel_rate,
            time_of_first=self._input_time(start),
            baseband_offset_hz=float(self.channel_offsets_hz[det.channel]),
            coarse_carrier_hz=det.offset_hz - float(self.channel_offsets_hz[det.channel]),
            coarse_start_s=self._input_time(det.frame_start),
        )
        reasons = []
        for demodulator in self.demodulators:
            try:
                return demodulator.demodulate(window), window, reasons
            except DemodulationRejected as exc:
                reasons.append(f"{demodulator.frame_format.name}: {exc}")
        return None, window, reasons

    def _run_job(self, job: _Job, cut_reason: str = "cut by the end of the window") -> list:
        det = job.detection
        start, end = self._clear_window(job)
        ends = [end]
        if end < job.end:
            ends += self._later_ends(job, end)
        windows = [(start, e) for e in ends]
        if start > job.start:
            # a neighbour decoded as ending before the detection may still have ended after this
            # burst's carrier began (a weak carrier is sometimes only found in its sync word)
            windows += [(job.start, e) for e in ends]
        reason = cut_reason
        for start, end in windows:
            demod, window, reasons = self._attempt(det, start, end)
            if window is None:
                reason = cut_reason
                continue
            if demod is None:
                reason = "; ".join(reasons)
                continue
            # a burst whose last bit lies beyond the samples received would have made-up bits
            window_end_s = window.time_of_first + len(window.samples) / self.channel_rate
            if demod.end_s > window_end_s + 0.25 / spec.A2_BIT_RATE:
                reason = cut_reason
                continue
            break
        else:
            return self._reject(det, reason)
        if demod.format == "A2":
            frame = deframe_a2(demod, self.id_bits)
        elif demod.format == "VLD":
            frame = deframe_vld(demod)
        else:
            frame = A3Frame(demod)
        burst = self._make_burst(demod, frame, det.channel)
        if self._is_duplicate(burst, demod.end_s - demod.carrier_start_s):
            self.stats.duplicates += 1
            return []
        end_index = (demod.end_s * self.info.sample_rate + self.channelizer.group_delay) / self.channelizer.decimation
        self._decoded_ends.append((burst.offset_hz, int(math.ceil(end_index))))
        self.stats.decoded += 1
        return [burst]

    def _make_burst(self, demod, frame, channel) -> DecodedBurst:
        fs = self.info.sample_rate
        exact = self._segment_first_sample + demod.carrier_start_s * fs
        time_utc = None
        if self._segment_time is not None:
            time_utc = self._segment_time + _dt.timedelta(seconds=demod.carrier_start_s)
        return DecodedBurst(
            sample_start=int(round(exact)),
            sample_start_exact=float(exact),
            time_utc=time_utc,
            center_freq=self.info.center_freq,
            offset_hz=demod.offset_hz,
            drift_hz_s=demod.drift_hz_s,
            cn0_dbhz=(demod.cn0_dbhz if hasattr(demod, "cn0_dbhz")
                      else demod.ebn0_db + 10 * math.log10(frame.bit_rate)),
            level_dbfs=(20 * math.log10(max(demod.amplitude, 1e-12))
                        if hasattr(demod, "amplitude") else None),
            beta_rad=getattr(demod, "beta_rad", None),
            polarity=getattr(demod, "polarity", getattr(demod, "q_polarity", 1)),
            frame=frame,
            channel=channel,
            duration_s=demod.end_s - demod.carrier_start_s,
        )

    def _is_duplicate(self, burst: DecodedBurst, duration_s: float) -> bool:
        """Two decodes at the same frequency whose bursts overlap in time are one burst seen
        twice (e.g. from two detections): two real bursts there would have collided."""
        fs = self.info.sample_rate
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

    def _reject(self, det: CarrierDetection, reason: str) -> list:
        self.stats.rejected += 1
        key = re.sub(r"\d+", "#", reason)
        self.stats.reject_reasons[key] = self.stats.reject_reasons.get(key, 0) + 1
        if not self.keep_rejected:
            return []
        t = self._input_time(det.frame_start)
        return [RejectedBurst(
            sample_start=int(round(self._segment_first_sample + t * self.info.sample_rate)),
            time_utc=None if self._segment_time is None else self._segment_time + _dt.timedelta(seconds=t),
            center_freq=self.info.center_freq,
            offset_hz=det.offset_hz,
            reason=reason,
            channel=det.channel,
        )]
