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
