"""Flowgraph block around the committed PTT-A2 receiver chain (:class:`argosneo.receiver.A2Receiver`).

``a2_receiver`` is the whole chain — channelizer, carrier detector, demodulator, deframer — as
one block: samples in, decoded bursts out. Its false-alarm probability (detection threshold)
changes in flight at an exact sample, and the bursts in progress keep decoding. A device retune
(a discontinuity with a new centre frequency) starts a fresh receiver at the new centre, so the
absolute frequencies stay right.
"""

from __future__ import annotations

import dataclasses
import math

from argosneo import spec
from argosneo.errors import FlowgraphError
from argosneo.flowgraph.block import Block, Param
from argosneo.flowgraph.blocks_stages import POLARITY_BY_NAME, parse_formats
from argosneo.flowgraph.registry import register_block
from argosneo.io.chunk import SampleChunk


@register_block
class A2ReceiverBlock(Block):
    """Decode every PTT-A2 burst in the sample stream (channelize, detect, demodulate, deframe).

    Emits ``DecodedBurst`` items (``RejectedBurst`` too with ``keep_rejected``); a ``jsonl_sink``
    writes them as the same records as ``argosneo replay``.
    """

    kind = "a2_receiver"
    port_kinds = {"in": "samples", "out": "events"}
    outputs = ("out",)
    params = (
        Param("id_bits", int, spec.A2_DEFAULT_ID_BITS, "platform-ID width used to split the message",
              choices=spec.A2_ID_BITS_CHOICES),
        Param("pfa", float, 5e-8, "detector false-alarm probability per spectral bin and frame "
              "(the detection threshold)", minimum=1e-30, maximum=0.1, reconfigurable=True),
        Param("polarity", str, "auto", "bit polarity: resolved from the sync word unless forced",
              choices=tuple(POLARITY_BY_NAME)),
        Param("keep_rejected", bool, False, "also emit detected bursts that did not decode, with the reason"),
        Param("num_channels", int, None, "channelizer size (even; default: power of two for ~8 kHz spacing)",
              minimum=2, maximum=65536),
        Param("formats", str, "A2,VLD", "formats tried on every carrier, comma-separated: A2, VLD, "
              "A3 (PTT-A3/ZE; modulation model unconfirmed)"),
    )

    def __init__(self, id_bits=spec.A2_DEFAULT_ID_BITS, pfa=5e-8, polarity="auto", keep_rejected=False,
                 num_channels=None, formats="A2,VLD"):
        if num_channels is not None and num_channels % 2:
            raise FlowgraphError(f"num_channels must be even, got {num_channels}")
        names = parse_formats(formats, self.kind)
        self._kw = dict(id_bits=id_bits, pfa=pfa, polarity=POLARITY_BY_NAME[polarity], keep_rejected=keep_rejected,
                        num_channels=num_channels, formats=names)
        self.rx = None
        self._retired: list = []     # stats of the receivers replaced at retunes

    @classmethod
    def output_rates(cls, params, input_rates):
        rate = input_rates.get("in")
        m = params.get("num_channels")
        if rate is not None and m is not None and rate / m < 2 * 2.5e3:
            raise FlowgraphError(f"{m} channels at {rate:g} S/s are {rate / m:.0f} Hz apart: too narrow for "
                                 "an A2 burst (needs > 5 kHz)")
        return {"out": None}

    def process(self, item, port="in"):
        if not isinstance(item, SampleChunk):
            raise FlowgraphError(f"a2_receiver: takes sample chunks, got {type(item).__name__}")
        out = []
        if self.rx is not None and item.discontinuity and item.info.center_freq != self.rx.info.center_freq:
            # A device retune (soapy_source center_freq): the receiver reports absolute
            # frequencies from the centre it was built with, so the bursts received before the
            # retune are finished by the old receiver and a new one takes the stream from here.
            # The retuned chunk is a discontinuity: nothing could be stitched across it anyway.
            # (A phase-continuous digital shift, frequency_shift, keeps the receiver and its
            # bursts in progress; their absolute frequency then uses the old centre.)
            out.extend(self._retuned(self.rx.flush()))
            self._retired.append(self.rx.stats)
            self.rx = None
        if self.rx is None:
            from argosneo.receiver import A2Receiver

            self.rx = A2Receiver(item.info, **self._kw)
        out.extend(self.rx.process(item))
        return [("out", out)] if out else []

    @staticmethod
    def _retuned(items):
        """Bursts cut by a retune say so (the receiver's flush calls it the end of the input)."""
        out = []
        for b in items:
            if getattr(b, "reason", None) == "cut by the end of the input" and dataclasses.is_dataclass(b):
                b = dataclasses.replace(b, reason="cut by a retune")
            out.append(b)
        return out

    def flush(self):
        if self.rx is None:
            return []
        out = self.rx.flush()
        return [("out", out)] if out else []

    def reconfigure(self, **changes):
        bad = set(changes) - {"pfa"}
        if bad:
            raise FlowgraphError(f"a2_receiver: cannot change {', '.join(sorted(bad))} while running")
        pfa = float(changes["pfa"])
        if not (0 < pfa < 1 and math.isfinite(pfa)):
            raise FlowgraphError(f"a2_receiver: pfa must be in (0, 1), got {pfa!r}")
        self._kw["pfa"] = pfa
        if self.rx is not None:
            self.rx.set_pfa(pfa)

    def state(self):
        if self.rx is None:
            return {"pfa": self._kw["pfa"]}
        keys = ("detections", "decoded", "rejected", "duplicates", "discontinuities")
        totals = {k: sum(getattr(s, k) for s in [*self._retired, self.rx.stats]) for k in keys}
        return {"pfa": self.rx.pfa, **totals, "retunes": len(self._retired)}
