"""The unit of streaming: a block of complex baseband samples and where it sits in time."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class StreamInfo:
    """What is known about a sample stream as a whole."""

    sample_rate: float
    center_freq: float | None = None          #: Hz; None when the capture does not say
    start_time: _dt.datetime | None = None    #: UTC time of sample 0; None when unknown
    total_samples: int | None = None          #: None for live or unknown-length streams
    datatype: str = "cf32_le"                 #: on-disk/on-wire sample format
    description: str = ""

    def time_of(self, sample_index: float) -> _dt.datetime | None:
        """UTC time of a (possibly fractional) sample index, or None when the start is unknown."""
        if self.start_time is None:
            return None
        return self.start_time + _dt.timedelta(seconds=float(sample_index) / self.sample_rate)


@dataclass
class SampleChunk:
    """``samples[i]`` is stream sample ``first_sample + i`` (complex64, unit = full scale).

    ``discontinuity`` marks that samples were lost *before* this chunk (live overflow, device
    reopen): nothing may be stitched across it. ``time_anchor`` then re-anchors time: the UTC time
    of ``first_sample`` as measured (hardware or host clock), overriding ``info.time_of``.
    """

    samples: np.ndarray
    first_sample: int
    info: StreamInfo
    discontinuity: bool = False
    time_anchor: _dt.datetime | None = None
    extra: dict = field(default_factory=dict)

    @property
    def end_sample(self) -> int:
        return self.first_sample + len(self.samples)


@dataclass(frozen=True, eq=False)
class ChannelSegment:
    """How a channelized stream maps back to its input, constant between two resets.

    A channelizer restarts (zero history, output row 0) at every discontinuity of its input, so
    row ``n`` of a segment holds the signal of input sample
    ``first_sample + n·decimation − group_delay``. Everything a later stage needs to turn a row
    index into a stream sample, a UTC time or an absolute frequency is here.
    """

    info: StreamInfo                   #: the input stream (rate, centre frequency) of the segment
    num_channels: int
    channel_rate: float                #: output rate of every channel (S/s)
    channel_offsets_hz: np.ndarray     #: channel centres relative to ``info.center_freq`` (FFT order)
    group_delay: float                 #: channelizer delay, input samples
    decimation: int                    #: input samples per output row
    first_sample: int                  #: input index of the segment's first sample
    time_anchor: _dt.datetime | None   #: UTC time of ``first_sample`` (None when unknown)

    @property
    def channel_spacing_hz(self) -> float:
        return self.info.sample_rate / self.num_channels

    def input_index_of_output(self, n):
        """Input index (since the segment start, possibly fractional) of output row ``n``."""
        return n * self.decimation - self.group_delay

    def input_time(self, n) -> float:
        """Seconds from the segment start to output row ``n``."""
        return self.input_index_of_output(n) / self.info.sample_rate


@dataclass
class ChannelChunk:
    """``rows[i, k]`` is output row ``first_row + i`` of channel ``k`` (complex64, FFT order).

    Rows are numbered from the start of ``segment`` (see :class:`ChannelSegment`).
    ``discontinuity`` marks that the segment starts here after a gap (or a retune) in the input:
    what was in progress before it cannot be stitched to it. ``input_samples`` counts the input
    samples whose processing produced this item (a chunk of input may yield no rows).
    """

    rows: np.ndarray
    first_row: int
    segment: ChannelSegment
    discontinuity: bool = False
    input_samples: int = 0

    @property
    def end_row(self) -> int:
        return self.first_row + len(self.rows)

    @property
    def info(self) -> StreamInfo:
        return self.segment.info

    @property
    def channel_rate(self) -> float:
        return self.segment.channel_rate

    @property
    def channel_offsets_hz(self) -> np.ndarray:
        return self.segment.channel_offsets_hz
