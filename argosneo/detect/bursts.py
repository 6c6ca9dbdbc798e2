"""The receiver's second stage: channelized rows → burst candidates.

It keeps a history ring of every channel, runs the :class:`~argosneo.detect.carrier.CarrierDetector`
over the rows, and for each detection waits until the longest burst it could be has arrived;
then it hands a :class:`BurstCandidate` downstream: the detection, the samples of its channel
over the whole window, and what a decoder needs to narrow the window (the nearby detections)
and to place the burst in the stream (the :class:`~argosneo.io.chunk.ChannelSegment`).

Everything is indexed by channel-output rows since the segment start, so the candidates do not
depend on how the input was cut into items. A :class:`~argosneo.io.chunk.ChannelChunk` marked
``discontinuity`` ends the segment: the pending windows are handed over cut where the old
segment stopped (with the reason), and a fresh segment starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from argosneo.detect.carrier import DEFAULT_PFA, CarrierDetection, CarrierDetector
from argosneo.io.chunk import ChannelChunk, ChannelSegment

#: Channel history kept before a detection (s): the carrier may have started up to a frame
#: before it was seen, and the demodulator wants noise-only samples ahead of the carrier.
LOOKBACK_S = 0.30
#: Samples kept after the longest burst could have ended (s).
TAIL_S = 0.15
#: Another burst this close in frequency limits a burst's window (its carrier and sidebands
#: would otherwise enter the carrier search, the sync search and the noise estimate) (Hz).
NEIGHBOUR_HZ = 3500.0

#: Reasons given to a window that could not be completed.
CUT_BY_WINDOW = "cut by the end of the window"
CUT_BY_GAP = "cut by a gap in the input"
CUT_BY_RETUNE = "cut by a retune"
CUT_BY_END = "cut by the end of the input"


@dataclass
class BurstCandidate:
    """A detected carrier with the samples of its window, ready for a decoder.

    ``samples[i]`` is row ``samples_start + i`` of channel ``detection.channel``, for rows
    ``[samples_start, end)``; ``start``/``end`` are the full window (``samples_start`` is later
    than ``start`` only when the history no longer held the window's beginning).
    """

    detection: CarrierDetection
    start: int                    #: row of the window's first sample
    end: int                      #: one past its last (cut at the data there was for a cut window)
    samples: np.ndarray           #: complex64, rows ``[samples_start, end)`` of the channel
    samples_start: int
    neighbours: tuple[int, ...]   #: frame starts of the other detections within ``NEIGHBOUR_HZ``
    horizon: int                  #: no later candidate of this segment starts before this row
    segment: ChannelSegment
    cut_reason: str = CUT_BY_WINDOW   #: what a window too short for its burst was cut by

    def window(self, start: int, end: int) -> tuple[np.ndarray, int]:
        """A copy of the samples of rows ``[start, end)`` (from ``samples_start`` at the
        earliest) and the row of its first sample."""
        start = max(start, self.samples_start)
        lo = start - self.samples_start
        return self.samples[lo:max(lo, end - self.samples_start)].copy(), start


def window_rows(longest_burst_s: float, channel_rate: float) -> tuple[int, int]:
    """(rows before, rows after) a detection that its window spans."""
    return (int(math.ceil(LOOKBACK_S * channel_rate)),
            int(math.ceil((longest_burst_s + TAIL_S) * channel_rate)))


@dataclass
class _Job:
    detection: CarrierDetection
    start: int      # row of the window's first sample
    end: int        # one past the last


class BurstWindowStage:
    """Detect carriers in channelized rows and cut the window of each for a decoder.

    Parameters
    ----------
    num_channels : int
    channel_offsets_hz : array
        Channel centres relative to the capture centre (FFT order).
    channel_rate : float
        Rows per second.
    channel_spacing_hz : float
    longest_burst_s : float
        Longest burst a window must hold (carrier start to last bit).
    pfa : float
        Detector false-alarm probability per spectral bin and frame (:meth:`set_pfa` changes it
        in flight).
    """

    def __init__(self, num_channels: int, channel_offsets_hz, channel_rate: float, channel_spacing_hz: float,
                 longest_burst_s: float, *, pfa: float = DEFAULT_PFA):
        self.num_channels = int(num_channels)
        self.channel_rate = float(channel_rate)
        self.longest_burst_s = float(longest_burst_s)
        self.detector = CarrierDetector(channel_offsets_hz, channel_rate, channel_spacing_hz, pfa=pfa)
        self._lookback, self._after = window_rows(longest_burst_s, channel_rate)
        # rows are written in pieces of ``_piece`` so a finished window is read before any of
        # its samples can be overwritten
        self._piece = 2 * self.detector.fft_size
        capacity = self._lookback + self._after + self._piece + self.detector.fft_size
        self._ring = np.zeros((capacity, self.num_channels), dtype=np.complex64)
        self._ring_count = 0           # rows of the segment seen (the next row's index)
        self._jobs: list[_Job] = []
        self._detections: list[CarrierDetection] = []         # recent, for window clearing
        self.segment: ChannelSegment | None = None
        self.detections = 0
        self.segments = 0

    @classmethod
    def for_segment(cls, segment: ChannelSegment, longest_burst_s: float, *, pfa: float = DEFAULT_PFA):
        """A stage for the channel layout of ``segment``."""
        return cls(segment.num_channels, segment.channel_offsets_hz, segment.channel_rate,
                   segment.channel_spacing_hz, longest_burst_s, pfa=pfa)

    def fits(self, segment: ChannelSegment) -> bool:
        """True when ``segment`` has the channel layout this stage was built for."""
        return (segment.num_channels == self.num_channels and segment.channel_rate == self.channel_rate
                and np.array_equal(segment.channel_offsets_hz, self.detector.channel_offsets_hz))

    # -- configuration ------------------------------------------------------------------------

    def set_pfa(self, pfa: float) -> None:
        """Change the detection false-alarm rate (takes effect at the next frame)."""
        self.detector.set_pfa(pfa)

    @property
    def pfa(self) -> float:
        return self.detector.pfa

    @property
    def pending(self) -> int:
        """Windows waiting for their samples."""
        return len(self._jobs)

    # -- streaming ----------------------------------------------------------------------------

    def process(self, chunk: ChannelChunk) -> list[BurstCandidate]:
        """Take one item of rows; return the candidates whose windows it completed (in order
        of window end)."""
        out: list[BurstCandidate] = []
        if chunk.discontinuity or self.segment is None or chunk.segment is not self.segment:
            if self.segment is not None:
                retuned = chunk.segment.info.center_freq != self.segment.info.center_freq
                out.extend(self.finish(CUT_BY_RETUNE if retuned else CUT_BY_GAP))
            self._reset(chunk)
        if len(chunk.rows):
            out.extend(self._take_rows(chunk.rows))
        return out

    def finish(self, cut_reason: str = CUT_BY_END) -> list[BurstCandidate]:
        """Hand over every pending window, cut at the last row received (end of the stream,
        or before a gap)."""
        out = []
        horizon = self._ring_count - len(self._ring)
        for job in sorted(self._jobs, key=lambda j: (j.end, j.detection.offset_hz)):
            job.end = min(job.end, self._ring_count)
            out.append(self._candidate(job, horizon, cut_reason))
        self._jobs.clear()
        return out

    # -- internals ----------------------------------------------------------------------------

    def _reset(self, chunk: ChannelChunk) -> None:
        # a stage may join a segment under way (added to a running graph): rows count from there
        self.detector.reset(chunk.first_row)
        self._ring_count = chunk.first_row
        self._jobs.clear()
        self._detections.clear()
        self.segment = chunk.segment
        self.segments += 1

    def _take_rows(self, rows: np.ndarray) -> list[BurstCandidate]:
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
                self.detections += 1
                self._detections.append(det)
                job_start = max(0, det.frame_start - self._lookback)
                job_start = max(job_start, self._ring_count - capacity + 1)
                self._jobs.append(_Job(det, job_start, det.frame_start + self._after))
            out.extend(self._run_ready())
            pos += n
        return out

    def _run_ready(self) -> list[BurstCandidate]:
        ready = [j for j in self._jobs if j.end <= self._ring_count]
        if not ready:
            return []
        self._jobs = [j for j in self._jobs if j.end > self._ring_count]
        horizon = self._ring_count - len(self._ring)
        self._detections = [d for d in self._detections if d.frame_start >= horizon]
        return [self._candidate(job, horizon) for job in sorted(ready, key=lambda j: (j.end, j.detection.offset_hz))]

    def _candidate(self, job: _Job, horizon: int, cut_reason: str = CUT_BY_WINDOW) -> BurstCandidate:
        det = job.detection
        capacity = len(self._ring)
        start = max(job.start, self._ring_count - capacity)
        idx = np.arange(start, job.end) % capacity
        neighbours = tuple(o.frame_start for o in self._detections
                           if o is not det and abs(o.offset_hz - det.offset_hz) <= NEIGHBOUR_HZ)
        return BurstCandidate(detection=det, start=job.start, end=job.end, samples=self._ring[idx, det.channel],
                              samples_start=start, neighbours=neighbours, horizon=horizon,
                              segment=self.segment, cut_reason=cut_reason)
