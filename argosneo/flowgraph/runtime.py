"""Run a flowgraph: stream chunks through the blocks and apply reconfigurations in flight.

Threads and queues
------------------
A source thread iterates the source block and puts chunks in a bounded queue
(``queue_size`` chunks); the processing thread (the one that calls :meth:`Runtime.run`) takes
them one at a time and walks the graph in topological order, every block seeing the item(s)
its upstream produced for it. Blocks never see two items at once, so they need no locks.

* ``mode="offline"`` (files): when the queue is full the source waits — nothing is ever dropped,
  a slow decoder just makes the run take longer.
* ``mode="live"`` (devices): the source cannot wait, so a chunk that finds the queue full is
  dropped; every drop is counted (``dropped_samples``, ``drop_events``), reported through the
  log, and the next chunk that gets through is marked ``discontinuity=True`` (``extra["reason"]
  = "decoder_behind"``, with its time anchor) so no burst is stitched across the hole. With
  ``queue_seconds`` the queue is bounded in seconds of signal instead of in chunks (the same
  latency whatever the chunk size; a chunk always enters an empty queue).

``duration`` stops the run after that much stream (by sample index from the first chunk, gaps
included; the last chunk is cut at the exact sample). ``status`` is called about once per
``status_interval`` with :meth:`Runtime.live_status` (for a status line), ``on_event`` with every
event record the log gets (start, changes, drops, source/device events, end).

Sample indices are those of the source (``first_sample``); blocks that change the rate keep
their own index space (output ``n`` = stream time ``n / rate``) and ``StreamInfo`` travels with
every chunk, so time stamps survive every block.

Reconfiguration
---------------
Changes (``set``, ``configuration``, ``add``, ``remove``, ``swap``) arrive from the control
socket (:meth:`Runtime.submit`) or from the flowgraph's ``schedule``. A change is validated
first — the new graph must pass the same checks as a flowgraph file — and refused with the
reason if it does not, leaving the running graph untouched. An accepted change is applied
between two items at an exact source sample: scheduled changes split the chunk that holds
their sample, immediate ones apply at the next chunk boundary. Blocks that stay (same id and
type, only reconfigurable parameters changed) keep their state, so a burst in progress still
decodes; blocks that are removed or replaced are flushed first (their held output goes
downstream through the old graph) and then closed. Every change, applied or refused, is
logged with its sample index.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from argosneo.errors import ArgosneoError, FlowgraphError
from argosneo.flowgraph.registry import get_block_class, validate_params
from argosneo.flowgraph.schema import (
    BlockSpec,
    Flowgraph,
    FlowgraphFileError,
    Graph,
    ValidGraph,
    parse_connection,
    validate_graph,
)
from argosneo.io.chunk import SampleChunk

_END = object()
CHANGE_COMMANDS = ("set", "configuration", "add", "remove", "swap")
#: The ``state()`` key counting decoded bursts. Only blocks that emit decoded bursts report it
#: (``a2_decoder``, ``a2_receiver``; not the stages before them), as the number of decoded bursts
#: they emitted (duplicates suppressed, rejected carriers not included), so the graph's count is
#: the sum over its blocks, plus what blocks removed or replaced while running had counted. Two
#: decoders reading the same candidates each count the bursts they emit.
DECODED_KEY = "decoded"


@dataclass
class BlockTiming:
    """Wall time spent in one block's ``process``/``flush`` calls."""

    calls: int = 0
    seconds: float = 0.0


@dataclass
class RunSummary:
    """What a run did (returned by :meth:`Runtime.run`, printed by ``argosneo run``)."""

    flowgraph: str
    mode: str
    samples: int                          #: source samples that went through the graph
    chunks: int
    dropped_samples: int                  #: live mode: samples dropped (queue overflow + device)
    drop_events: int
    changes: list[dict]                   #: every change, applied or refused
    configuration: str                    #: the configuration at the end
    seconds: float
    sample_rate: float
    timing: dict[str, BlockTiming] = field(default_factory=dict)
    runtime_seconds: float = 0.0          #: processing-thread time outside blocks
    interrupted: bool = False
    stopped_by: str | None = None         #: why :meth:`Runtime.stop` was called ("SIGINT", "duration", ...)
    source_samples: int = 0               #: samples the source handed out (the runtime's drops included, not the device's losses)
    source_state: dict = field(default_factory=dict)   #: the source block's ``state()`` at the end
    decoded: int | None = None            #: decoded bursts emitted (see ``DECODED_KEY``); None: no decoder

    @property
    def processing_seconds(self) -> float:
        """Processing-thread time spent on the stream (blocks + runtime)."""
        return sum(t.seconds for t in self.timing.values()) + self.runtime_seconds

    @property
    def realtime_factor(self) -> float:
        return (self.samples / self.sample_rate) / self.seconds if self.seconds > 0 else float("inf")


def split_chunk(chunk: SampleChunk, at: int) -> tuple[SampleChunk, SampleChunk]:
    """Split a chunk before stream sample ``at`` (``first_sample < at < end_sample``)."""
    k = at - chunk.first_sample
    anchor = None
    if chunk.time_anchor is not None:
        anchor = chunk.time_anchor + _dt.timedelta(seconds=k / chunk.info.sample_rate)
    head = dataclasses.replace(chunk, samples=chunk.samples[:k])
    tail = dataclasses.replace(chunk, samples=chunk.samples[k:], first_sample=at, discontinuity=False,
                               time_anchor=anchor, extra=dict(chunk.extra))
    return head, tail


@dataclass
class _Pending:
    command: dict
    sample: int | None = None          #: None: at the next boundary
    origin: str = "control"            #: "control" or "schedule"
    line: int | None = None
    seq: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    reply: dict | None = None
    on_reply: Callable[[dict], None] | None = None


class Runtime:
    """A flowgraph ready to run.

    Parameters
    ----------
    flowgraph : Flowgraph
        From :func:`~argosneo.flowgraph.schema.load_flowgraph`.
    configuration : str, optional
        Named configuration to start in (default: the file's ``initial``).
    mode : {"offline", "live"}, optional
        Default: the file's ``mode``, else ``live`` for live sources and ``offline`` otherwise.
    queue_size : int, optional
        Chunks the source may run ahead (default: the file's ``queue_size``).
    output_dir : path-like, optional
        Where relative sink paths point (default: the current directory).
    log : callable, optional
        ``log(message)`` for one-line reports (changes, drops); default: none.
    event_log : path-like, optional
        Also write every change and drop as a JSON line here.
    progress : callable, optional
        ``progress(n)`` after every ``n`` source samples have gone through the graph (processing
        thread; for progress bars).
    taps : dict, optional
        ``{block_id: tap(port, item)}``: every item the block emits is also handed to ``tap``
        (processing thread), so a command can see a block's output without a sink (e.g. the
        decoded bursts that ``argosneo replay --annotate`` writes back to the capture). A tap on
        the source sees every chunk before the graph does.
    gate : callable, optional
        ``gate(chunk) -> bool``, called in the processing thread before each chunk goes into the
        graph; while it returns True the chunk is held (the gate waits a little itself, e.g.
        0.05 s) and control commands keep being applied at the chunk's first sample. Commands
        submitted from inside the gate apply at that sample too. For pacing and pausing a replay
        (the GUI); offline mode only makes sense with it, since a held live source drops chunks.
    queue_seconds : float, optional
        Live mode: bound the queue by seconds of signal instead of ``queue_size`` chunks.
    duration : float, optional
        Stop after this many seconds of stream (sample count from the first chunk, gaps included).
    status : callable, optional
        ``status(snapshot)`` about every ``status_interval`` seconds (processing thread) with
        :meth:`live_status`.
    on_event : callable, optional
        ``on_event(record, message)`` for every event the log gets (``message`` may be None for
        events that are only counted, e.g. device overflows); called from the thread where the
        event happens (source events: the source thread).
    """

    def __init__(self, flowgraph: Flowgraph, *, configuration: str | None = None, mode: str | None = None,
                 queue_size: int | None = None, output_dir=None, log: Callable[[str], None] | None = None,
                 event_log=None, progress: Callable[[int], None] | None = None,
                 taps: dict[str, Callable[[str, Any], None]] | None = None,
                 gate: Callable[[SampleChunk], bool] | None = None, queue_seconds: float | None = None,
                 duration: float | None = None, status: Callable[[dict], None] | None = None,
                 status_interval: float = 1.0, on_event: Callable[[dict, str | None], None] | None = None):
        self.fg = flowgraph
        self.configuration = configuration or flowgraph.initial
        self._graph = flowgraph.graph_for(self.configuration)
        self.vg: ValidGraph = validate_graph(self._graph, source=flowgraph.path)
        src_cls = self.vg.classes[self.vg.source]
        self.mode = mode or flowgraph.mode or ("live" if getattr(src_cls, "live", False) else "offline")
        if self.mode not in ("offline", "live"):
            raise FlowgraphError(f"mode must be offline or live, got {self.mode!r}")
        self.queue_size = int(queue_size or flowgraph.queue_size)
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self._log = log or (lambda msg: None)
        self._event_log_path = event_log
        self._event_fp = None
        self._progress = progress
        self._taps = dict(taps or {})
        self._gate = gate

        self.blocks: dict[str, Any] = {}
        self.timing: dict[str, BlockTiming] = {}
        self.info = None
        self.changes: list[dict] = []
        self.samples = 0
        self.chunks = 0
        self.next_sample = 0
        self.dropped_samples = 0
        self.drop_events = 0
        for name, v in (("queue_seconds", queue_seconds), ("duration", duration), ("status_interval", status_interval)):
            if v is not None and not v > 0:
                raise FlowgraphError(f"{name} must be > 0, got {v!r}")
        self.queue_seconds = None if queue_seconds is None else float(queue_seconds)
        self.duration = None if duration is None else float(duration)
        self._status = status
        self._status_interval = float(status_interval)
        self._on_event = on_event
        self.stopped_by: str | None = None
        self.source_samples = 0
        self._queued_samples = 0
        self._qlock = threading.Lock()
        self._t_start = None
        self._status_prev = None
        # a queue bounded in seconds is bounded by _offer, not by a chunk count
        live_seconds = self.mode == "live" and self.queue_seconds is not None
        self._queue: queue.Queue = queue.Queue(maxsize=0 if live_seconds else self.queue_size)
        self._commands: queue.Queue = queue.Queue()
        self._schedule: list[_Pending] = []
        self._seq = 0
        self._stop = threading.Event()
        self._abort = threading.Event()
        self._running = threading.Event()
        self._finished = threading.Event()
        self._source_error: BaseException | None = None
        self._source_thread = None
        self._runtime_seconds = 0.0
        self.interrupted = False
        self._retired_decoded: int | None = None   # DECODED_KEY of blocks removed/replaced in flight

    # ----------------------------------------------------------------------------- blocks
    def _make_block(self, bid: str, cls, params: dict):
        kw = dict(params)
        for name in getattr(cls, "output_path_params", ()):
            v = kw.get(name)
            if isinstance(v, str) and v not in ("-", "") and self.output_dir is not None and not os.path.isabs(v):
                kw[name] = str(self.output_dir / v)
        try:
            block = cls(**kw)
        except ArgosneoError as exc:
            raise FlowgraphError(f"block {bid!r} ({cls.kind}): {exc}") from None
        self.timing.setdefault(bid, BlockTiming())
        return block

    def _close(self, blocks) -> list[str]:
        errors = []
        for bid, b in blocks:
            try:
                b.close()
            except Exception as exc:  # noqa: BLE001 - keep closing the others; reported below
                errors.append(f"block {bid!r}: close failed: {exc}")
        return errors

    # ----------------------------------------------------------------------------- logging
    def _emit(self, record: dict, message: str | None) -> None:
        if message:
            self._log(message)
        if self._on_event is not None:
            self._on_event(record, message)
        if self._event_fp is not None:
            self._event_fp.write(json.dumps(record, default=str) + "\n")
            self._event_fp.flush()

    def _time_fields(self, sample: int) -> dict:
        d = {"sample": int(sample)}
        if self.info is not None:
            d["time_s"] = sample / self.info.sample_rate
            when = self.info.time_of(sample)
            if when is not None:
                d["utc"] = when.isoformat().replace("+00:00", "Z")
        return d

    # ----------------------------------------------------------------------------- walking
    def _walk(self, vg: ValidGraph, blocks: dict, inbox: dict, flush: set = frozenset()) -> None:
        """Process everything in ``inbox`` through ``vg`` in topological order; blocks in
        ``flush`` are flushed after their inputs (their held output goes downstream too)."""
        perf = time.perf_counter
        for bid in vg.order:
            items = inbox.pop(bid, None)
            if not items and bid not in flush:
                continue
            block = blocks[bid]
            t = self.timing[bid]
            outs = []
            for port, item in items or ():
                t0 = perf()
                o = block.process(item, port)
                t.seconds += perf() - t0
                t.calls += 1
                if o:
                    outs.extend(o)
            if bid in flush:
                t0 = perf()
                o = block.flush()
                t.seconds += perf() - t0
                if o:
                    outs.extend(o)
            tap = self._taps.get(bid)
            for port, item in outs:
                if tap is not None:
                    tap(port, item)
                for dst, dport in vg.edges.get((bid, port), ()):
                    inbox.setdefault(dst, []).append((dport, item))

    def _push(self, chunk: SampleChunk) -> None:
        vg = self.vg
        inbox = {}
        tap = self._taps.get(vg.source)
        if tap is not None:
            tap("out", chunk)
        for dst, dport in vg.edges.get((vg.source, "out"), ()):
            inbox.setdefault(dst, []).append((dport, chunk))
        self._walk(vg, self.blocks, inbox)
        self.samples += len(chunk.samples)
        self.chunks += 1
        self.next_sample = chunk.end_sample
        if self._progress is not None:
            self._progress(len(chunk.samples))

    # ----------------------------------------------------------------------------- changes
    def _graph_for_command(self, cmd: dict) -> tuple[Graph, str]:
        """The graph a change command asks for, and the configuration name afterwards."""
        c = cmd["cmd"]
        g = self._graph.copy()
        if c == "configuration":
            return self.fg.graph_for(cmd["name"]), cmd["name"]
        name = self.configuration if self.configuration.endswith("*") else self.configuration + "*"
        if c == "set":
            for bid, ps in cmd["blocks"].items():
                if bid not in g.blocks:
                    raise FlowgraphError(f"set: no block named {bid!r} (blocks: {', '.join(g.blocks)})")
                cls = get_block_class(g.blocks[bid].type)
                validate_params(cls, ps, partial=True)
                fixed = [k for k in ps if not next(p for p in cls.params if p.name == k).reconfigurable]
                if fixed:
                    raise FlowgraphError(f"set: parameter {fixed[0]!r} of block {bid!r} ({cls.kind}) cannot change "
                                         f"while running; use swap to rebuild the block")
                g.blocks[bid].params.update(ps)
        elif c == "add":
            bid = cmd["block"]
            if bid in g.blocks:
                raise FlowgraphError(f"add: there is already a block named {bid!r}")
            g.blocks[bid] = BlockSpec(id=bid, type=cmd["type"], params=dict(cmd.get("params") or {}))
            for item in cmd.get("connections") or []:
                g.connections.append(parse_connection(item))
        elif c == "remove":
            bid = cmd["block"]
            if bid not in g.blocks:
                raise FlowgraphError(f"remove: no block named {bid!r}")
            del g.blocks[bid]
            g.connections = [x for x in g.connections if bid not in (x.src, x.dst)]
        elif c == "swap":
            bid = cmd["block"]
            if bid not in g.blocks:
                raise FlowgraphError(f"swap: no block named {bid!r}")
            old = g.blocks[bid]
            params = cmd.get("params")
            g.blocks[bid] = BlockSpec(id=bid, type=cmd.get("type") or old.type,
                                      params=dict(old.params if params is None and not cmd.get("type") else params or {}))
        else:
            raise FlowgraphError(f"unknown change {c!r}")
        return g, name

    def _validate_change(self, cmd: dict) -> tuple[ValidGraph, str]:
        g, name = self._graph_for_command(cmd)
        try:
            vg = validate_graph(g, source_rate=self.info.sample_rate if self.info else None)
        except FlowgraphFileError as exc:
            raise FlowgraphError("; ".join(exc.errors)) from None
        return vg, name

    def _plan(self, new: ValidGraph):
        old = self.vg
        keep, reconf, build = [], {}, []
        for bid in new.order:
            if bid in old.classes and old.classes[bid] is new.classes[bid]:
                changed = {k: v for k, v in new.params[bid].items() if old.params[bid].get(k) != v}
                if not changed:
                    keep.append(bid)
                    continue
                declared = {p.name: p for p in new.classes[bid].params}
                if all(declared[k].reconfigurable for k in changed):
                    reconf[bid] = changed
                    continue
            build.append(bid)
        removed = [b for b in old.order if b not in new.classes]
        replaced = [b for b in build if b in old.classes]
        if old.source in removed or old.source in replaced or new.source != old.source:
            raise FlowgraphError(f"the source block {old.source!r} cannot be removed or rebuilt while running "
                                 "(its parameters that can change: "
                                 f"{', '.join(p.name for p in old.classes[old.source].params if p.reconfigurable) or 'none'})")
        return keep, reconf, build, replaced, removed

    def _apply(self, p: _Pending, boundary: int) -> dict:
        """Validate and apply one change at stream sample ``boundary``; never raises."""
        cmd = p.command
        record = {"event": "change", **self._time_fields(boundary), "origin": p.origin, "command": cmd}
        if p.sample is not None and p.sample != boundary:
            record["requested_sample"] = p.sample
        where = f" (schedule, line {p.line})" if p.line else ""
        built = {}
        try:
            new, name = self._validate_change(cmd)
            keep, reconf, build, replaced, removed = self._plan(new)
            for bid in build:
                built[bid] = self._make_block(bid, new.classes[bid], new.params[bid])
            done = []
            try:
                for bid, changes in reconf.items():
                    self.blocks[bid].reconfigure(**changes)
                    done.append(bid)
            except Exception as exc:
                for bid in reversed(done):   # put back what already changed: all or nothing
                    try:
                        self.blocks[bid].reconfigure(**{k: self.vg.params[bid][k] for k in reconf[bid]})
                    except Exception:  # noqa: BLE001 - best effort; the refusal below is what counts
                        pass
                raise FlowgraphError(f"block {bid!r} refused the change: {exc}") from None
        except ArgosneoError as exc:
            self._close(built.items())
            record.update(ok=False, error=str(exc))
            self.changes.append(record)
            self._emit(record, f"change refused at sample {boundary}{where}: {exc}")
            return {"ok": False, "error": str(exc), "sample": boundary}

        # Drain the blocks that go: their held items (bursts in progress) go downstream first.
        going = set(replaced) | set(removed)
        if going:
            self._walk(self.vg, self.blocks, {}, flush=going)
            # what they decoded stays counted (a swapped decoder starts again from 0)
            for n in self._decoded_counts({b: self.blocks[b] for b in going}).values():
                self._retired_decoded = (self._retired_decoded or 0) + n
        errors = self._close([(b, self.blocks.pop(b)) for b in going])
        self.blocks.update(built)
        self.vg, self._graph, self.configuration = new, new.graph, name
        detail = {"reconfigured": {b: c for b, c in reconf.items()}, "replaced": replaced,
                  "added": [b for b in build if b not in replaced], "removed": removed}
        record.update(ok=True, configuration=name, **detail)
        if errors:
            record["close_errors"] = errors
        self.changes.append(record)
        parts = [f"{k} {v if isinstance(v, list) else ', '.join(f'{b}:{c}' for b, c in v.items())}"
                 for k, v in detail.items() if v]
        self._emit(record, f"change applied at sample {boundary}{where}: {_describe(cmd)}"
                           f"; now {name}" + (f" ({'; '.join(parts)})" if parts else ""))
        return {"ok": True, "sample": boundary, "configuration": name, **detail}

    def _finish_pending(self, p: _Pending, reply: dict) -> None:
        p.reply = reply
        p.done.set()
        if p.on_reply is not None:
            p.on_reply(reply)

    def _take_commands(self) -> None:
        """Move control commands into the schedule (future ones) or apply them now."""
        while True:
            try:
                p = self._commands.get_nowait()
            except queue.Empty:
                return
            boundary = self.next_sample
            if p.sample is not None and p.sample > boundary:
                try:
                    self._validate_change(p.command)   # refuse now what is already invalid
                except ArgosneoError as exc:
                    self._finish_pending(p, {"ok": False, "error": str(exc)})
                    continue
                self._insert(p)
                self._finish_pending(p, {"ok": True, "scheduled_sample": p.sample})
                continue
            if p.sample is not None and p.sample < boundary:
                self._finish_pending(p, {"ok": False, "error": f"sample {p.sample} has already been processed "
                                                               f"(the stream is at sample {boundary})"})
                continue
            self._finish_pending(p, self._apply(p, boundary))

    def _insert(self, p: _Pending) -> None:
        self._seq += 1
        p.seq = self._seq
        self._schedule.append(p)
        self._schedule.sort(key=lambda x: (x.sample, x.seq))

    # ----------------------------------------------------------------------------- public
    def submit(self, command: dict, *, wait: bool = True, timeout: float = 30.0,
               on_reply: Callable[[dict], None] | None = None) -> dict:
        """Hand a change command (already checked by :func:`~argosneo.flowgraph.control.check_command`)
        to the running graph; with ``wait``, return its reply (``ok`` and the sample, or ``error``).

        ``at_sample`` / ``at_time`` in the command schedule it for that stream position.
        ``on_reply(reply)`` is also called with the reply (processing thread, or at once when
        the flowgraph has finished), so a caller that does not wait still learns the outcome.
        """
        if self._finished.is_set():
            reply = {"ok": False, "error": "the flowgraph has finished"}
            if on_reply is not None:
                on_reply(reply)
            return reply
        cmd = dict(command)
        at_sample = cmd.pop("at_sample", None)
        at_time = cmd.pop("at_time", None)
        if at_time is not None:
            if self.info is None:
                return {"ok": False, "error": "at_time needs the stream to have started"}
            at_sample = int(round(at_time * self.info.sample_rate))
        p = _Pending(command=cmd, sample=at_sample, origin="control", on_reply=on_reply)
        self._commands.put(p)
        if not wait:
            return {"ok": True, "queued": True}
        if not p.done.wait(timeout):
            return {"ok": False, "error": f"no reply within {timeout:g} s (the graph is busy or stopped)"}
        return p.reply

    def status(self) -> dict:
        """A snapshot of the run (for ``argosneo reconfigure status``)."""
        blocks = {}
        for bid in list(self.vg.order):
            b = self.blocks.get(bid)
            spec = self._graph.blocks.get(bid)
            try:
                st = b.state() if b is not None else {}
            except Exception as exc:  # noqa: BLE001 - a status request must not kill the run
                st = {"state_error": str(exc)}
            t = self.timing.get(bid, BlockTiming())
            blocks[bid] = {"type": spec.type if spec else None, "params": self.vg.params.get(bid, {}),
                           "calls": t.calls, "seconds": round(t.seconds, 6), **st}
        return {
            "ok": True, "flowgraph": self.fg.name, "file": self.fg.path, "mode": self.mode,
            "configuration": self.configuration, "configurations": self.fg.configuration_names(),
            "running": self._running.is_set() and not self._finished.is_set(),
            **self._time_fields(self.next_sample),
            "samples": self.samples, "chunks": self.chunks, "queued_chunks": self._queue.qsize(),
            "dropped_samples": self.dropped_samples, "drop_events": self.drop_events,
            "changes": len(self.changes), "decoded": self.decoded_bursts(),
            "pending": [{"sample": p.sample, "command": p.command, "origin": p.origin} for p in list(self._schedule)],
            "blocks": blocks,
        }

    def stop(self, reason: str | None = None) -> None:
        """End the run soon (thread- and signal-safe): the source stops, what is queued is
        processed, every block is flushed and closed. ``reason`` (the first one given) is the
        summary's ``stopped_by``."""
        if reason is not None and self.stopped_by is None:
            self.stopped_by = reason
        self._stop.set()
        src = self.blocks.get(self.vg.source)
        if src is not None:
            try:
                src.stop()
            except Exception:  # noqa: BLE001 - stopping must not raise in a signal handler
                pass

    def abort(self, reason: str | None = None) -> None:
        """End the run at the next item boundary without processing what is queued or
        flushing the blocks; every block is still closed (outputs stay valid) and :meth:`run`
        raises ``KeyboardInterrupt``. Thread- and signal-safe: nothing is torn mid-write, unlike
        an exception raised by a signal handler inside a block."""
        self._abort.set()
        self.stop(reason)

    def wait_started(self, timeout: float = 10.0) -> bool:
        """Block until the stream is open (the source's ``info`` is known)."""
        return self._running.wait(timeout)

    # ----------------------------------------------------------------------------- source thread
    def _put(self, item) -> bool:
        while True:
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                if self._stop.is_set() and item is not _END:
                    return False

    def _offer(self, chunk: SampleChunk) -> bool:
        """Live mode: queue the chunk if there is room (never waits)."""
        n = len(chunk.samples)
        with self._qlock:
            if (self.queue_seconds is not None and self._queued_samples
                    and self._queued_samples + n > self.queue_seconds * chunk.info.sample_rate):
                return False
            try:
                self._queue.put_nowait(chunk)
            except queue.Full:
                return False
            self._queued_samples += n
            return True

    def _taken(self, item) -> None:
        if item is not _END:
            with self._qlock:
                self._queued_samples -= len(item.samples)

    def _source_event(self, kind: str, detail: dict, text: str | None) -> None:
        """A source's own event (device lost, reopened, overflow, ...): logged and counted."""
        self._emit({"event": "source", "kind": kind, **self._time_fields(self.next_sample), **detail}, text)

    def _source_loop(self, src) -> None:
        lost_before = False
        limit = None            # duration: stream sample where the run ends
        anchor = None           # (stream sample, UTC) of the latest chunk with a time anchor
        try:
            for chunk in src.chunks():
                if self._stop.is_set():
                    break
                rate = chunk.info.sample_rate
                last = False
                if self.duration is not None:
                    if limit is None:
                        limit = chunk.first_sample + int(round(self.duration * rate))
                    if chunk.end_sample >= limit:
                        chunk = dataclasses.replace(chunk, samples=chunk.samples[:max(0, limit - chunk.first_sample)])
                        last = True
                n = len(chunk.samples)
                self.source_samples += n
                if chunk.time_anchor is not None:
                    anchor = (chunk.first_sample, chunk.time_anchor)
                if not n:
                    pass
                elif self.mode == "offline":
                    with self._qlock:
                        self._queued_samples += n
                    if not self._put(chunk):
                        break
                else:
                    if lost_before and not chunk.discontinuity:
                        # the dropped samples are counted in first_sample, so time follows from
                        # the last anchor (the stream's start when there was none)
                        when = None
                        if anchor is not None:
                            when = anchor[1] + _dt.timedelta(seconds=(chunk.first_sample - anchor[0]) / rate)
                        chunk = dataclasses.replace(chunk, discontinuity=True, time_anchor=when,
                                                    extra={**chunk.extra, "reason": "decoder_behind"})
                    if self._offer(chunk):
                        lost_before = False
                    else:
                        self.dropped_samples += n
                        self.drop_events += 1
                        lost_before = True
                        bound = (f"{self.queue_seconds:g} s" if self.queue_seconds is not None
                                 else f"{self.queue_size} chunks")
                        self._emit({"event": "drop", **self._time_fields(chunk.first_sample), "samples": n,
                                    "total_dropped": self.dropped_samples},
                                   f"dropped {n} samples at sample {chunk.first_sample}: the graph is behind "
                                   f"(queue of {bound} full; {self.dropped_samples} dropped so far)")
                if last:
                    self.stop("duration")
                    break
        except BaseException as exc:  # noqa: BLE001 - handed to the processing thread
            self._source_error = exc
        finally:
            self._put(_END)

    @staticmethod
    def _decoded_counts(blocks: dict, states: dict | None = None) -> dict[str, int]:
        """``{block id: DECODED_KEY count}`` of the blocks that report one."""
        out = {}
        for bid, b in blocks.items():
            if states is not None and bid in states:
                st = states[bid]
            else:
                try:
                    st = b.state()
                except Exception:  # noqa: BLE001 - a counter must not kill the run
                    continue
            if isinstance(st, dict) and DECODED_KEY in st:
                out[bid] = int(st[DECODED_KEY])
        return out

    def decoded_bursts(self, states: dict | None = None) -> int | None:
        """Decoded bursts the graph has emitted so far: the blocks' ``decoded`` counters (see
        ``DECODED_KEY``) plus those of blocks removed or replaced while running; None when no
        block reports one (a graph without a decoder). ``states``: block states already read."""
        counts = self._decoded_counts({b: x for b, x in list(self.blocks.items()) if b != self.vg.source}, states)
        if not counts and self._retired_decoded is None:
            return None
        return sum(counts.values()) + (self._retired_decoded or 0)

    def live_status(self) -> dict:
        """Counters for a status line (processing thread; rates are since the previous call).

        Returns
        -------
        dict
            ``received_s`` (stream seconds the source delivered, dropped ones included),
            ``input_rate`` (S/s), ``headroom`` (signal seconds processed per second spent in
            blocks; inf when idle), ``queued_s``, ``samples``, ``dropped_samples``,
            ``drop_events``, ``source`` (the source block's ``state()``: device overflows,
            losses, reopens) and ``decoded`` (:meth:`decoded_bursts`, 0 without a decoder).
        """
        now = time.monotonic()
        rate = self.info.sample_rate if self.info is not None else 0.0
        in_blocks = sum(t.seconds for t in self.timing.values())
        prev = self._status_prev or (self._t_start or now, 0, 0, 0.0)
        dt = now - prev[0]
        busy = in_blocks - prev[3]
        signal_s = (self.samples - prev[2]) / rate if rate else 0.0
        self._status_prev = (now, self.source_samples, self.samples, in_blocks)
        states = {}
        for bid, b in list(self.blocks.items()):
            try:
                states[bid] = b.state()
            except Exception:  # noqa: BLE001 - a status line must not kill the run
                states[bid] = {}
        return {
            "received_s": self.source_samples / rate if rate else 0.0,
            "input_rate": (self.source_samples - prev[1]) / dt if dt > 0 else 0.0,
            "headroom": signal_s / busy if busy > 0 else float("inf"),
            "queued_s": max(0, self._queued_samples) / rate if rate else 0.0,
            "samples": self.samples, "dropped_samples": self.dropped_samples, "drop_events": self.drop_events,
            "source": states.get(self.vg.source, {}),
            "decoded": self.decoded_bursts(states) or 0,
        }

    # ----------------------------------------------------------------------------- main loop
    def run(self) -> RunSummary:
        """Open the source, stream everything through the graph, flush and close every block.

        Returns
        -------
        RunSummary

        Raises
        ------
        ArgosneoError
            Opening a block or the source failed, or a block failed while running (every
            block is still flushed where possible and closed).
        """
        if self._event_log_path is not None:
            Path(self._event_log_path).parent.mkdir(parents=True, exist_ok=True)
            self._event_fp = open(self._event_log_path, "w", encoding="utf-8")
        t_start = time.perf_counter()
        vg = self.vg
        try:
            # the source opens first: a device or file that cannot be opened leaves no empty
            # output files behind
            src = self.blocks[vg.source] = self._make_block(vg.source, vg.classes[vg.source], vg.params[vg.source])
            if hasattr(src, "on_event"):
                src.on_event = self._source_event
            self._t_start = time.monotonic()
            self.info = src.open()
            for bid in vg.order:
                if bid not in self.blocks:
                    self.blocks[bid] = self._make_block(bid, vg.classes[bid], vg.params[bid])
            # Now that the real rate is known, check the rate-dependent constraints again.
            try:
                self.vg = validate_graph(self._graph, source=self.fg.path, source_rate=self.info.sample_rate)
            except FlowgraphFileError:
                raise
            for sc in self.fg.schedule:
                self._insert(_Pending(command=dict(sc.command), origin="schedule", line=sc.line,
                                      sample=sc.sample_index(self.info.sample_rate, self.info.start_time)))
            self._emit({"event": "start", "flowgraph": self.fg.name, "mode": self.mode,
                        "configuration": self.configuration, "sample_rate": self.info.sample_rate},
                       f"running {self.fg.name} ({self.mode}, configuration {self.configuration}, "
                       f"{self.info.sample_rate:g} S/s, {len(self.fg.schedule)} scheduled change(s))")
        except BaseException:
            self._finished.set()
            errors = self._close(list(self.blocks.items()))
            self._close_log()
            if errors:
                self._log("; ".join(errors))
            raise

        self._source_thread = threading.Thread(target=self._source_loop, args=(src,), name="argosneo-source",
                                               daemon=True)
        self._running.set()
        self._source_thread.start()
        failure: BaseException | None = None
        busy = 0.0
        try:
            next_status = time.monotonic() + self._status_interval
            while True:
                if self._abort.is_set():
                    raise KeyboardInterrupt
                self._take_commands()
                if self._status is not None and time.monotonic() >= next_status:
                    next_status = time.monotonic() + self._status_interval
                    self._status(self.live_status())
                try:
                    item = self._queue.get(timeout=0.05)
                except queue.Empty:
                    continue
                self._taken(item)
                if item is _END:
                    break
                if self.chunks == 0:
                    # a source may start its numbering later than 0 (file_source renumber=false)
                    self.next_sample = item.first_sample
                if self._gate is not None:
                    while not self._stop.is_set() and self._gate(item):
                        self._take_commands()
                    self._take_commands()     # what the gate itself submitted applies here
                t0 = time.perf_counter()
                chunk = item
                while self._schedule and self._schedule[0].sample < chunk.end_sample:
                    p = self._schedule.pop(0)
                    if p.sample > chunk.first_sample:
                        head, chunk = split_chunk(chunk, p.sample)
                        self._push(head)
                    boundary = max(p.sample, chunk.first_sample)
                    self._finish_pending(p, self._apply(p, boundary))
                self._push(chunk)
                busy += time.perf_counter() - t0
            if self._source_error is not None:
                raise self._source_error
        except BaseException as exc:  # noqa: BLE001 - flush and close below, then re-raise
            failure = exc
            self.stop()
        finally:
            self._finished.set()
            self.interrupted = self._stop.is_set() and failure is None and self.stopped_by != "duration"
            # Changes scheduled past the end never happen: say so.
            for p in self._schedule:
                self._finish_pending(p, {"ok": False, "error": "the stream ended before this sample"})
                record = {"event": "change", **self._time_fields(p.sample), "origin": p.origin,
                          "command": p.command, "ok": False, "error": "the stream ended before this sample"}
                self.changes.append(record)
                self._emit(record,
                           f"scheduled change at sample {p.sample} not applied: the stream ended at "
                           f"sample {self.next_sample}")
            self._schedule.clear()
            while not self._commands.empty():
                self._finish_pending(self._commands.get_nowait(), {"ok": False, "error": "the flowgraph has finished"})
            self._stop.set()
            try:
                src.stop()
            except Exception:  # noqa: BLE001
                pass
            self._drain_source_queue(process=failure is None)
            flush_error = None
            t0 = time.perf_counter()
            try:
                if not self._abort.is_set():
                    self._walk(self.vg, self.blocks, {}, flush=set(self.vg.order) - {self.vg.source})
            except BaseException as exc:  # noqa: BLE001
                flush_error = exc
            busy += time.perf_counter() - t0
            errors = self._close(list(self.blocks.items()))
            total = time.perf_counter() - t_start
            in_blocks = sum(t.seconds for t in self.timing.values())
            self._runtime_seconds = max(0.0, busy - in_blocks)
            self._emit({"event": "end", **self._time_fields(self.next_sample), "samples": self.samples,
                        "dropped_samples": self.dropped_samples, "changes": len(self.changes)},
                       f"finished at sample {self.next_sample}: {self.samples} samples, "
                       f"{self.dropped_samples} dropped, {len(self.changes)} change(s)")
            self._close_log()
        if failure is not None:
            if isinstance(failure, ArgosneoError):
                raise failure
            raise failure
        if flush_error is not None:
            raise flush_error
        if errors:
            raise FlowgraphError("; ".join(errors))
        return self.summary(seconds=total)

    def summary(self, seconds: float | None = None) -> RunSummary:
        """What the run did so far (also after a failed run, e.g. for a command's last words)."""
        src = self.blocks.get(self.vg.source)
        src_drop = getattr(src, "dropped_samples", None)
        device_drops = int(src_drop()) if callable(src_drop) else 0
        try:
            src_state = src.state() if src is not None else {}
        except Exception:  # noqa: BLE001 - a summary must not raise over a vanished device
            src_state = {}
        if seconds is None:
            seconds = time.monotonic() - self._t_start if self._t_start is not None else 0.0
        return RunSummary(
            flowgraph=self.fg.name, mode=self.mode, samples=self.samples, chunks=self.chunks,
            dropped_samples=self.dropped_samples + device_drops, drop_events=self.drop_events,
            changes=list(self.changes), configuration=self.configuration, seconds=seconds,
            sample_rate=self.info.sample_rate if self.info is not None else 0.0, timing=dict(self.timing),
            runtime_seconds=self._runtime_seconds, interrupted=self.interrupted, stopped_by=self.stopped_by,
            source_samples=self.source_samples, source_state=src_state, decoded=self.decoded_bursts(),
        )

    def _drain_source_queue(self, process: bool) -> None:
        """Let the source thread end; what it already queued is processed (unless a block failed)."""
        th = self._source_thread
        deadline = time.monotonic() + 10.0
        while th is not None and th.is_alive() and time.monotonic() < deadline:
            try:
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            self._taken(item)
            if item is not _END and process:
                self._push(item)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            self._taken(item)
            if item is not _END and process:
                self._push(item)

    def _close_log(self) -> None:
        if self._event_fp is not None:
            self._event_fp.close()
            self._event_fp = None


def _describe(cmd: dict) -> str:
    c = cmd.get("cmd")
    if c == "configuration":
        return f"configuration {cmd['name']}"
    if c == "set":
        return "set " + "; ".join(f"{b}: " + ", ".join(f"{k}={v!r}" for k, v in ps.items())
                                  for b, ps in cmd["blocks"].items())
    if c in ("add", "swap"):
        return f"{c} {cmd['block']} ({cmd.get('type')})"
    return f"{c} {cmd.get('block', '')}".strip()


def run_flowgraph(flowgraph: Flowgraph, **kw) -> RunSummary:
    """Convenience: ``Runtime(flowgraph, **kw).run()``."""
    return Runtime(flowgraph, **kw).run()
