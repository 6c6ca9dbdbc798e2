"""The receiver's first stage: sample chunks → :class:`~argosneo.io.chunk.ChannelChunk` items.

It owns the :class:`~argosneo.channelize.pfb.PolyphaseChannelizer` and the bookkeeping that
makes its output self-describing: every item carries the row index of its first row and the
:class:`~argosneo.io.chunk.ChannelSegment` that maps rows back to input samples, time and
absolute frequency. A chunk marked ``discontinuity`` restarts the channelizer (nothing is
stitched across a gap) and opens a new segment; a retune (new centre frequency on such a chunk)
is followed when ``follow_retunes`` is set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from argosneo.channelize.pfb import PolyphaseChannelizer
from argosneo.channelize.prototype import receiver_passband_fraction
from argosneo.errors import ArgosneoError
from argosneo.io.chunk import ChannelChunk, ChannelSegment, SampleChunk, StreamInfo

#: Channel spacing aimed at (Hz): a few A2 bandwidths (±2.5 kHz) so a channel holds a whole
#: burst; the real spacing is fs/M with M a power of two.
TARGET_CHANNEL_SPACING_HZ = 8000.0


def choose_num_channels(sample_rate: float) -> int:
    """Power-of-two channel count giving a spacing near ``TARGET_CHANNEL_SPACING_HZ``."""
    m = 2 ** int(round(math.log2(max(sample_rate / TARGET_CHANNEL_SPACING_HZ, 2.0))))
    return max(2, m)


@dataclass
class ChannelizerStats:
    samples: int = 0            #: input samples consumed
    chunks: int = 0             #: input chunks consumed
    rows: int = 0               #: output rows produced
    discontinuities: int = 0    #: resets after a gap (the first chunk does not count)
    retunes: int = 0            #: discontinuities that came with a new centre frequency


class ChannelizerStage:
    """Channelize a sample stream into self-describing :class:`ChannelChunk` items.

    Parameters
    ----------
    info : StreamInfo
        The stream (its sample rate fixes the channelizer).
    num_channels : int, optional
        Channelizer size (even; default: power of two for ≈ 8 kHz spacing).
    follow_retunes : bool
        Adopt the centre frequency of a chunk that opens a new segment (a device retune), so
        absolute frequencies stay right. Off, every segment reports ``info``'s centre (the
        behaviour of :class:`~argosneo.receiver.A2Receiver`, whose ``info`` is fixed).
    """

    def __init__(self, info: StreamInfo, *, num_channels: int | None = None, follow_retunes: bool = True):
        if info.sample_rate <= 0:
            raise ArgosneoError(f"sample rate must be positive, got {info.sample_rate}")
        if num_channels is not None and (num_channels < 2 or num_channels % 2):
            raise ArgosneoError(f"num_channels must be even and at least 2, got {num_channels}")
        self.info = info
        self.follow_retunes = follow_retunes
        fs = float(info.sample_rate)
        self.num_channels = num_channels or choose_num_channels(fs)
        passband = receiver_passband_fraction(fs, self.num_channels) if self.num_channels > 2 else None
        self.channelizer = PolyphaseChannelizer(self.num_channels, oversample=2, passband_hz_fraction=passband)
        self.channel_rate = self.channelizer.channel_rate(fs)
        self.channel_offsets_hz = self.channelizer.channel_offsets_hz(fs)
        self.channel_spacing_hz = fs / self.num_channels
        self.segment: ChannelSegment | None = None
        self.stats = ChannelizerStats()

    def _new_segment(self, chunk: SampleChunk) -> ChannelSegment:
        if self.follow_retunes and chunk.info.center_freq != self.info.center_freq:
            if chunk.info.sample_rate != self.info.sample_rate:
                raise ArgosneoError(f"the sample rate changed from {self.info.sample_rate:g} to "
                                    f"{chunk.info.sample_rate:g} S/s: the channelizer must be rebuilt")
            if self.segment is not None:
                self.stats.retunes += 1
            self.info = chunk.info
        if chunk.time_anchor is not None:
            anchor = chunk.time_anchor
        elif chunk.info.start_time is not None:
            anchor = chunk.info.time_of(chunk.first_sample)
        else:
            anchor = None
        return ChannelSegment(
            info=self.info, num_channels=self.num_channels, channel_rate=self.channel_rate,
            channel_offsets_hz=self.channel_offsets_hz, group_delay=self.channelizer.group_delay,
            decimation=self.channelizer.decimation, first_sample=chunk.first_sample, time_anchor=anchor)

    def process(self, chunk: SampleChunk) -> ChannelChunk | None:
        """Channelize one chunk; the item holding its rows, or None when it made none and
        opened no segment (rows come out once the channelizer has enough history)."""
        gap = False
        if chunk.discontinuity or (self.channelizer.output_count == 0 and self.stats.samples == 0):
            if self.stats.samples:
                self.stats.discontinuities += 1
                gap = True
            self.channelizer.reset()
            self.segment = self._new_segment(chunk)
        x = np.ascontiguousarray(chunk.samples, dtype=np.complex64)
        self.stats.samples += len(x)
        self.stats.chunks += 1
        first = self.channelizer.output_count
        rows = self.channelizer.process(x)
        self.stats.rows += len(rows)
        if not len(rows) and not gap:
            return None
        return ChannelChunk(rows=rows, first_row=first, segment=self.segment, discontinuity=gap,
                            input_samples=len(x))
