"""The PTT-A2 receiver chain, wired by hand from its three stages:

    samples → ChannelizerStage ──ChannelChunk──→ BurstWindowStage ──BurstCandidate──→ BurstDecoder
              (PolyphaseChannelizer)            (history ring, CarrierDetector,     (A2/VLD/A3 demodulators,
                                                 one window per detection)           deframers, duplicates)
            → DecodedBurst / RejectedBurst

The same stage classes are the flowgraph blocks ``a2_channelizer``, ``a2_burst_windows`` and
``a2_decoder`` (:mod:`argosneo.flowgraph.blocks_stages`); :class:`A2Receiver` is their plain
composition, for callers that want no runtime (the live loop, benchmarks, tests).

Everything is indexed by absolute sample numbers, so the output does not depend on how the input
is cut into chunks: frames, windows and decisions all fall on the same samples whatever the chunk
size. A chunk marked ``discontinuity`` (samples lost before it) resets the chain: bursts whose
window spans the gap are reported as rejected ("cut by a gap in the input"), never stitched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from argosneo import spec
from argosneo.channelize.stage import TARGET_CHANNEL_SPACING_HZ, ChannelizerStage, choose_num_channels
from argosneo.deframe.decoder import (
    DEMODULATORS,
    DUPLICATE_FREQ_HZ,
    MAX_WINDOW_ENDS,
    BurstDecoder,
    DecodedBurst,
    RejectedBurst,
    check_formats,
    longest_burst_s,
)
from argosneo.detect.bursts import CUT_BY_END, LOOKBACK_S, NEIGHBOUR_HZ, TAIL_S, BurstWindowStage
from argosneo.detect.carrier import DEFAULT_PFA
from argosneo.errors import ArgosneoError
from argosneo.io.chunk import SampleChunk, StreamInfo

__all__ = [
    "A2Receiver", "DecodedBurst", "RejectedBurst", "ReceiverStats", "DEMODULATORS", "choose_num_channels",
    "TARGET_CHANNEL_SPACING_HZ", "LOOKBACK_S", "TAIL_S", "DUPLICATE_FREQ_HZ", "NEIGHBOUR_HZ", "MAX_WINDOW_ENDS",
]


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
        Sample rate, centre frequency and start time of the stream. Bursts are reported
        relative to this centre frequency throughout.
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
        self.formats = check_formats(formats)
        self.channels = ChannelizerStage(info, num_channels=num_channels, follow_retunes=False)
        self.num_channels = self.channels.num_channels
        self.channelizer = self.channels.channelizer
        self.channel_rate = self.channels.channel_rate
        self.channel_offsets_hz = self.channels.channel_offsets_hz
        self.channel_spacing_hz = self.channels.channel_spacing_hz
        self.windows = BurstWindowStage(self.num_channels, self.channel_offsets_hz, self.channel_rate,
                                        self.channel_spacing_hz, longest_burst_s(self.formats), pfa=pfa)
        self.detector = self.windows.detector
        self.decoder = BurstDecoder(formats=self.formats, id_bits=id_bits, polarity=polarity,
                                    keep_rejected=keep_rejected)

    # -- configuration ------------------------------------------------------------------------

    @property
    def id_bits(self) -> int:
        return self.decoder.id_bits

    @property
    def keep_rejected(self) -> bool:
        return self.decoder.keep_rejected

    @property
    def demodulators(self) -> list:
        return self.decoder.demodulators

    def set_pfa(self, pfa: float) -> None:
        """Change the detection false-alarm rate (takes effect at the next frame)."""
        self.windows.set_pfa(pfa)

    @property
    def pfa(self) -> float:
        return self.windows.pfa

    @property
    def stats(self) -> ReceiverStats:
        """Counters of the whole chain (a snapshot)."""
        c, d = self.channels.stats, self.decoder.stats
        return ReceiverStats(samples=c.samples, chunks=c.chunks, detections=self.windows.detections,
                             decoded=d.decoded, rejected=d.rejected, duplicates=d.duplicates,
                             discontinuities=c.discontinuities, reject_reasons=dict(d.reject_reasons))

    # -- streaming ----------------------------------------------------------------------------

    def process(self, chunk: SampleChunk) -> list:
        """Feed one chunk; return the bursts completed by it (in order of window end)."""
        item = self.channels.process(chunk)
        if item is None:
            return []
        return self._decode(self.windows.process(item))

    def flush(self) -> list:
        """End of stream: decode every pending burst that the samples there are hold whole."""
        return self._decode(self.windows.finish(CUT_BY_END))

    def _decode(self, candidates) -> list:
        out = []
        for cand in candidates:
            out.extend(self.decoder.process(cand))
        return out
