"""Flowgraph blocks for the stages of the PTT-A2 receiver, so a receiver is a graph:

    samples ─→ a2_channelizer ─channels→ a2_burst_windows ─candidates→ a2_decoder ─events→ sinks

* ``a2_channelizer`` (:class:`~argosneo.channelize.stage.ChannelizerStage`) turns sample chunks
  into :class:`~argosneo.io.chunk.ChannelChunk` items that carry their row index and the mapping
  back to input samples, time and absolute frequency.
* ``a2_burst_windows`` (:class:`~argosneo.detect.bursts.BurstWindowStage`) detects carriers and
  emits one :class:`~argosneo.detect.bursts.BurstCandidate` per detection once its window is
  complete; its ``pfa`` changes in flight.
* ``a2_decoder`` (:class:`~argosneo.deframe.decoder.BurstDecoder`) is a demodulator bank: its
  ``formats`` change in flight, and several decoders may read the same candidates (or one can be
  swapped for another) while the stages upstream keep their state, so no burst in progress is lost.

Port kinds ``channels`` and ``candidates`` make the loader refuse a wrong connection (a channel
stream into a sample port, say) with the file and line. A device retune (a discontinuity with a
new centre frequency) opens a new channel segment at the new centre: bursts before it are
finished and reported against the old centre, those after against the new one.
"""

from __future__ import annotations

import math

from argosneo import spec
from argosneo.errors import ArgosneoError, FlowgraphError
from argosneo.flowgraph.block import Block, Param
from argosneo.flowgraph.registry import register_block
from argosneo.io.chunk import ChannelChunk, SampleChunk

#: Formats a decoder knows (``argosneo.deframe.decoder.DEMODULATORS``; listed here so loading
#: the block registry does not import the DSP).
FORMAT_NAMES = ("A2", "VLD", "A3")
#: The ``polarity`` parameter's values and what the demodulators take for them.
POLARITY_BY_NAME = {"auto": None, "normal": 1, "inverted": -1}
#: Narrowest channel spacing that holds an A2 burst (±2.5 kHz) (Hz).
MIN_CHANNEL_SPACING_HZ = 2 * 2.5e3


def parse_formats(value, block: str) -> tuple[str, ...]:
    """``"A2,VLD"`` → ``("A2", "VLD")``, or a FlowgraphError naming the unknown ones."""
    names = tuple(f.strip().upper() for f in str(value).split(",") if f.strip())
    unknown = sorted(set(names) - set(FORMAT_NAMES))
    if unknown or not names:
        raise FlowgraphError(f"{block}: formats: unknown {unknown or value!r}; choose from {list(FORMAT_NAMES)}")
    if len(set(names)) != len(names):
        raise FlowgraphError(f"{block}: formats: {value!r} names a format twice")
    return names


def _check_pfa(block: str, pfa) -> float:
    pfa = float(pfa)
    if not (0 < pfa < 1 and math.isfinite(pfa)):
        raise FlowgraphError(f"{block}: pfa must be in (0, 1), got {pfa!r}")
    return pfa


@register_block
class A2ChannelizerBlock(Block):
    """Split the sample stream into the receiver's channels (polyphase filter bank).

    Emits ``ChannelChunk`` items (rows × channels, with their row index, channel rate and
    offsets, and the mapping back to input samples) for ``a2_burst_windows``.
    """

    kind = "a2_channelizer"
    port_kinds = {"in": "samples", "out": "channels"}
    params = (
        Param("num_channels", int, None, "channelizer size (even; default: power of two for ~8 kHz spacing)",
              minimum=2, maximum=65536),
    )

    def __init__(self, num_channels=None):
        if num_channels is not None and num_channels % 2:
            raise FlowgraphError(f"num_channels must be even, got {num_channels}")
        self.num_channels = num_channels
        self.stage = None
        self._retired = 0       # channelizers replaced after a change of sample rate

    @classmethod
    def output_rates(cls, params, input_rates):
        rate = input_rates.get("in")
        m = params.get("num_channels")
        if rate is not None and m is not None and rate / m < MIN_CHANNEL_SPACING_HZ:
            raise FlowgraphError(f"{m} channels at {rate:g} S/s are {rate / m:.0f} Hz apart: too narrow for "
                                 f"an A2 burst (needs > {MIN_CHANNEL_SPACING_HZ:.0f} Hz)")
        return {"out": None}

    def process(self, item, port="in"):
        from argosneo.channelize.stage import ChannelizerStage

        if not isinstance(item, SampleChunk):
            raise FlowgraphError(f"{self.kind}: takes sample chunks, got {type(item).__name__}")
        if self.stage is not None and item.info.sample_rate != self.stage.info.sample_rate:
            if not item.discontinuity:
                raise FlowgraphError(f"{self.kind}: the sample rate changed to {item.info.sample_rate:g} S/s "
                                     "without a discontinuity")
            # a new rate needs a new filter bank (its first item opens a new segment, which
            # ends what the stages downstream had in progress)
            self.stage = None
            self._retired += 1
        if self.stage is None:
            try:
                self.stage = ChannelizerStage(item.info, num_channels=self.num_channels)
            except ArgosneoError as exc:
                raise FlowgraphError(f"{self.kind}: {exc}") from None
        out = self.stage.process(item)
        return [("out", out)] if out is not None else []

    def state(self):
        if self.stage is None:
            return {"num_channels": self.num_channels}
        s = self.stage.stats
        return {"num_channels": self.stage.num_channels, "channel_rate": self.stage.channel_rate,
                "center_freq": self.stage.info.center_freq, "samples": s.samples, "rows": s.rows,
                "discontinuities": s.discontinuities, "retunes": s.retunes, "rate_changes": self._retired}


@register_block
class A2BurstWindowsBlock(Block):
    """Detect carriers in the channels and cut each one's burst window (history ring).

    Emits ``BurstCandidate`` items (the detection, its channel's samples over the window, the
    nearby detections) for ``a2_decoder`` blocks, each once its whole window has arrived.
    """

    kind = "a2_burst_windows"
    port_kinds = {"in": "channels", "out": "candidates"}
    params = (
        Param("pfa", float, 5e-8, "detector false-alarm probability per spectral bin and frame "
              "(the detection threshold)", minimum=1e-30, maximum=0.1, reconfigurable=True),
        Param("formats", str, "A2,VLD", "formats the windows must hold, comma-separated (the longest sets "
              "the window length; a decoder may try any format whose bursts are no longer)"),
    )

    def __init__(self, pfa=5e-8, formats="A2,VLD"):
        self.pfa = _check_pfa(self.kind, pfa)
        self.formats = parse_formats(formats, self.kind)
        self.stage = None
        self._detections = 0        # of the stages replaced after a change of channel layout
        self._segment = None        # the segment of the last item, to count retunes for state()
        self._retunes = 0

    def process(self, item, port="in"):
        from argosneo.deframe.decoder import longest_burst_s
        from argosneo.detect.bursts import CUT_BY_GAP, BurstWindowStage

        if not isinstance(item, ChannelChunk):
            raise FlowgraphError(f"{self.kind}: takes channel chunks (from a2_channelizer), got {type(item).__name__}")
        out = []
        if self.stage is not None and not self.stage.fits(item.segment):
            out.extend(self.stage.finish(CUT_BY_GAP))
            self._detections += self.stage.detections
            self.stage = None
        if self.stage is None:
            self.stage = BurstWindowStage.for_segment(item.segment, longest_burst_s(self.formats), pfa=self.pfa)
        if (self._segment is not None and item.segment is not self._segment
                and item.segment.info.center_freq != self._segment.info.center_freq):
            self._retunes += 1
        self._segment = item.segment
        out.extend(self.stage.process(item))
        return [("out", out)] if out else []

    def flush(self):
        if self.stage is None:
            return []
        out = self.stage.finish()
        return [("out", out)] if out else []

    def reconfigure(self, **changes):
        bad = set(changes) - {"pfa"}
        if bad:
            raise FlowgraphError(f"{self.kind}: cannot change {', '.join(sorted(bad))} while running")
        pfa = _check_pfa(self.kind, changes["pfa"])
        self.pfa = pfa
        if self.stage is not None:
            self.stage.set_pfa(pfa)

    def state(self):
        # no "decoded" here: only blocks that emit decoded bursts report it (runtime.DECODED_KEY)
        st = {"pfa": self.pfa, "formats": ",".join(self.formats), "retunes": self._retunes}
        if self.stage is not None:
            st.update(detections=self._detections + self.stage.detections, pending=self.stage.pending,
                      segments=self.stage.segments)
        return st


@register_block
class A2DecoderBlock(Block):
    """Demodulate and deframe burst candidates with a bank of demodulators (one per format).

    Emits ``DecodedBurst`` items (``RejectedBurst`` too with ``keep_rejected``); a ``jsonl_sink``
    writes them as the same records as ``argosneo replay``. ``formats`` changes in flight (add
    or remove a demodulator bank); several decoders may read one candidate stream.
    """

    kind = "a2_decoder"
    port_kinds = {"in": "candidates", "out": "events"}
    params = (
        Param("formats", str, "A2,VLD", "formats tried on every carrier, in order, comma-separated: A2, VLD, "
              "A3 (PTT-A3/ZE; modulation model unconfirmed)", reconfigurable=True),
        Param("id_bits", int, spec.A2_DEFAULT_ID_BITS, "platform-ID width used to split an A2 message",
              choices=spec.A2_ID_BITS_CHOICES, reconfigurable=True),
        Param("polarity", str, "auto", "bit polarity: resolved from the sync word unless forced",
              choices=tuple(POLARITY_BY_NAME)),
        Param("keep_rejected", bool, False, "also emit detected bursts that did not decode, with the reason",
              reconfigurable=True),
    )

    def __init__(self, formats="A2,VLD", id_bits=spec.A2_DEFAULT_ID_BITS, polarity="auto", keep_rejected=False):
        from argosneo.deframe.decoder import BurstDecoder

        try:
            self.decoder = BurstDecoder(formats=parse_formats(formats, self.kind), id_bits=id_bits,
                                        polarity=POLARITY_BY_NAME[polarity], keep_rejected=bool(keep_rejected))
        except ArgosneoError as exc:
            raise FlowgraphError(f"{self.kind}: {exc}") from None

    def process(self, item, port="in"):
        from argosneo.detect.bursts import BurstCandidate

        items = item if isinstance(item, list) else [item]
        out = []
        for cand in items:
            if not isinstance(cand, BurstCandidate):
                raise FlowgraphError(f"{self.kind}: takes burst candidates (from a2_burst_windows), "
                                     f"got {type(cand).__name__}")
            out.extend(self.decoder.process(cand))
        return [("out", out)] if out else []

    def reconfigure(self, **changes):
        bad = set(changes) - {"formats", "id_bits", "keep_rejected"}
        if bad:
            raise FlowgraphError(f"{self.kind}: cannot change {', '.join(sorted(bad))} while running")
        # check everything before changing anything
        formats = parse_formats(changes["formats"], self.kind) if "formats" in changes else None
        id_bits = changes.get("id_bits", self.decoder.id_bits)
        if id_bits not in spec.A2_ID_BITS_CHOICES:
            raise FlowgraphError(f"{self.kind}: id_bits must be 20 or 28, got {id_bits!r}")
        if formats is not None:
            self.decoder.set_formats(formats)
        self.decoder.id_bits = int(id_bits)
        if "keep_rejected" in changes:
            self.decoder.keep_rejected = bool(changes["keep_rejected"])

    def state(self):
        """``decoded``: bursts emitted (the graph's count, ``runtime.DECODED_KEY``); ``rejected``
        (emitted only with ``keep_rejected``), of which ``cut_short`` were cut by a gap, a retune
        or the end of the input (or of their window); ``duplicates`` suppressed."""
        s = self.decoder.stats
        cut = sum(n for reason, n in s.reject_reasons.items() if reason.startswith("cut by"))
        return {"formats": ",".join(self.decoder.formats), "id_bits": self.decoder.id_bits,
                "candidates": s.candidates, "decoded": s.decoded, "rejected": s.rejected, "cut_short": cut,
                "duplicates": s.duplicates}
