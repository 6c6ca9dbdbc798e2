"""The streaming block interface shared by the hand-wired receiver and the flowgraph runtime.

A block owns its state and turns input items into output items. Items are Python objects
(``SampleChunk`` for sample streams, ``ChannelChunk`` for channelized streams, lists of
detections/bursts for event streams); every item carries its sample index so time survives
rate changes. Blocks must give the same outputs for any split of the input into items.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Param:
    """One block parameter, as the flowgraph schema and ``argosneo flowgraph blocks`` show it."""

    name: str
    type: type
    default: Any = None
    doc: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple | None = None
    reconfigurable: bool = False   #: may change while running (``reconfigure``)
    required: bool = False         #: must be given (``default`` is then ignored)


class Block(abc.ABC):
    """Base class. Subclasses set ``kind``, ``params``, ``inputs`` and ``outputs``."""

    kind: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    inputs: ClassVar[tuple[str, ...]] = ("in",)
    outputs: ClassVar[tuple[str, ...]] = ("out",)

    @abc.abstractmethod
    def process(self, item, port: str = "in") -> list[tuple[str, Any]]:
        """Consume one item arriving on ``port``; return ``(output port, item)`` pairs."""

    #: What each port carries, ``"samples"`` (SampleChunk) or ``"events"`` (lists of records);
    #: connections between ports of different kinds are refused before running. Ports not
    #: listed are not checked.
    port_kinds: ClassVar[dict[str, str]] = {}

    def flush(self) -> list[tuple[str, Any]]:
        """End of stream: emit whatever is still held (bursts in progress are decoded)."""
        return []

    def reconfigure(self, **changes) -> None:
        """Apply parameter changes between two items (exact sample boundary). Raise
        ``FlowgraphError`` without changing anything if a change is invalid."""
        from argosneo.errors import FlowgraphError

        raise FlowgraphError(f"block {self.kind!r} cannot be reconfigured while running")

    def state(self) -> dict:
        """Counters and status for the status line / GUI."""
        return {}

    def close(self) -> None:
        """Release files and devices; called once after the final :meth:`flush`."""

    @classmethod
    def output_rates(cls, params: dict, input_rates: dict) -> dict:
        """Sample rate of every output port, for validation before running.

        ``params`` are the validated parameters, ``input_rates`` maps each connected input port
        to its rate in Hz (None when not known until run time, or for event streams). Return
        ``{port: rate or None}``; raise ``FlowgraphError`` when the input rates are not
        acceptable (the loader adds file and line). Default: every output runs at the common
        rate of the inputs, and inputs at different rates are a mismatch.
        """
        from argosneo.errors import FlowgraphError

        known = {p: r for p, r in input_rates.items() if r is not None}
        rates = set(known.values())
        if len(rates) > 1:
            detail = ", ".join(f"{p} at {r:g} Hz" for p, r in sorted(known.items()))
            raise FlowgraphError(f"rate mismatch: inputs run at different rates ({detail})")
        rate = rates.pop() if rates else None
        return {port: rate for port in cls.outputs}


class SourceBlock(Block):
    """A block with no inputs that produces the stream (one per flowgraph).

    The runtime calls :meth:`open` (which sets ``info``), iterates :meth:`chunks` in its source
    thread, calls :meth:`stop` from any thread to end the iteration early, and :meth:`close`.
    Every chunk's ``first_sample`` counts samples since the start of the stream: it is the index
    space of reconfiguration schedules.
    """

    inputs: ClassVar[tuple[str, ...]] = ()
    live: ClassVar[bool] = False   #: samples arrive in real time and cannot wait

    info = None   #: ``StreamInfo`` once opened

    def process(self, item, port: str = "in"):
        from argosneo.errors import FlowgraphError

        raise FlowgraphError(f"block {self.kind!r} is a source and takes no input")

    @abc.abstractmethod
    def open(self):
        """Open the file or device and return its ``StreamInfo``."""

    @abc.abstractmethod
    def chunks(self):
        """Yield ``SampleChunk`` items until the end of the stream or :meth:`stop`."""

    def stop(self) -> None:
        """Make :meth:`chunks` end soon (thread-safe)."""
