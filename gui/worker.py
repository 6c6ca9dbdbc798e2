"""The DSP side of the GUI: a thread that runs the same flowgraph as the CLI and never waits for
the display.

Nothing here imports Qt. The worker thread runs a flowgraph file through
:class:`~argosneo.flowgraph.runtime.Runtime` — by default the shipped ``a2_receiver`` (replay,
what ``argosneo replay`` runs) or ``a2_live`` (SoapySDR device, what ``argosneo run a2_live``
runs) — and observes it through runtime taps:

- a tap on the source (or on the GUI's tuning block) feeds a :class:`SpectrumAnalyzer`, whose
  lines go into a :class:`DropQueue` (bounded: when the display falls behind, the oldest *lines*
  are dropped and counted — samples never are, the runtime does not wait for the display);
- a tap on the ``a2_receiver`` block (or, in a graph of the receiver's stages, on the
  ``a2_decoder`` fed by the ``a2_burst_windows`` stage, whose ``pfa`` is the threshold) hands the
  decoded bursts (``to_record()`` dicts) to an unbounded queue (there are few of them);
- :meth:`ReceiverWorker.status` combines :meth:`Runtime.status` (rates, drops, the receiver
  block's threshold and counts, the configuration) with the display's own figures.

Controls are queued by any thread and taken by the runtime's *gate* (called in the processing
thread before each chunk), which turns them into :meth:`Runtime.submit` commands — ``set`` of the
receiver's ``pfa``, ``set`` of the source's ``center_freq``/``gain``, ``configuration NAME`` —
applied in flight at that chunk's first sample and logged with it. The same gate paces and
pauses a replay. A seek, and a retune of a replay (a digital shift: the receiver must be rebuilt
at the new centre for absolute frequencies to stay right), restart the runtime at a capture
sample index (``file_source`` with ``renumber: false`` keeps the capture's numbering).
"""

from __future__ import annotations

import dataclasses
import math
import queue
import shutil
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from argosneo.errors import ArgosneoError
from argosneo.io.chunk import StreamInfo

#: Spectrum lines per second of *stream* time (the waterfall's time resolution).
DEFAULT_LINE_RATE = 15.0
#: Spectrum resolution aimed at (Hz per bin): A2 bursts are ~4 kHz wide, carriers narrow.
TARGET_BIN_HZ = 150.0
#: Time constant of the average trace (s of stream time).
AVERAGE_TIME_S = 2.0
#: Spectrum lines kept for a display that has fallen behind (then the oldest are dropped).
LINE_QUEUE_LENGTH = 256
#: Chunk length aimed at (s): short enough for a smooth display at real time.
CHUNK_DURATION_S = 0.05
#: Smoothing of the real-time headroom figure (fraction of the new value per chunk).
HEADROOM_SMOOTHING = 0.1


class DropQueue:
    """Bounded FIFO whose producer never blocks: when full, the oldest item is dropped and counted.

    Parameters
    ----------
    maxlen : int
        Capacity; ``maxlen=1`` makes it a one-slot mailbox that always holds the latest item.
    """

    def __init__(self, maxlen: int):
        if maxlen < 1:
            raise ValueError("maxlen must be >= 1")
        self._items: deque = deque()
        self._maxlen = int(maxlen)
        self._lock = threading.Lock()
        self.dropped = 0

    def put(self, item) -> None:
        with self._lock:
            if len(self._items) >= self._maxlen:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)

    def drain(self) -> list:
        """Take every waiting item, oldest first."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
        return items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


@dataclass
class SpectrumLine:
    """Power spectrum of ``n_samples`` stream samples starting at ``first_sample``.

    Frequencies are ``center_freq + offsets_hz`` (``offsets_hz`` ascending, FFT-shifted order).
    ``average_db`` and ``peak_db`` are the analyzer's running average and peak hold after this
    line. Powers are dBFS per bin (a full-scale tone on a bin centre reads 0 dBFS).
    """

    first_sample: int
    n_samples: int
    sample_rate: float
    center_freq: float | None
    offsets_hz: np.ndarray
    power_db: np.ndarray
    average_db: np.ndarray
    peak_db: np.ndarray
    epoch: int = 0

    @property
    def time_s(self) -> float:
        """Stream time of the line's first sample (s since stream sample 0)."""
        return self.first_sample / self.sample_rate

    @property
    def frequencies_hz(self) -> np.ndarray:
        return (self.center_freq or 0.0) + self.offsets_hz


def choose_nfft(sample_rate: float, target_bin_hz: float = TARGET_BIN_HZ) -> int:
    """Power-of-two FFT length giving bins near ``target_bin_hz`` (256 … 16384)."""
    n = 2 ** int(round(math.log2(max(sample_rate / target_bin_hz, 2.0))))
    return int(min(max(n, 256), 16384))


class SpectrumAnalyzer:
    """Welch power spectra of a sample stream, one line per ``sample_rate / line_rate`` samples.

    Every sample is used (non-overlapping Hann-windowed FFTs, averaged over a line); lines start
    at the stream index of the first sample after a :meth:`reset`, so the result does not depend
    on how the input is cut into chunks.

    Parameters
    ----------
    sample_rate : float
        Input rate, S/s.
    nfft : int, optional
        FFT length (default :func:`choose_nfft`).
    line_rate : float
        Lines per second of stream time.
    average_time_s : float
        Time constant of the exponential average trace.
    """

    def __init__(self, sample_rate: float, *, nfft: int | None = None,
                 line_rate: float = DEFAULT_LINE_RATE, average_time_s: float = AVERAGE_TIME_S):
        if not (sample_rate > 0 and math.isfinite(sample_rate)):
            raise ArgosneoError(f"sample rate must be positive, got {sample_rate!r}")
        if not line_rate > 0:
            raise ArgosneoError(f"spectrum line rate must be positive, got {line_rate!r}")
        self.sample_rate = float(sample_rate)
        self.nfft = int(nfft or choose_nfft(sample_rate))
        self.segments_per_line = max(1, int(round(sample_rate / line_rate / self.nfft)))
        self.line_samples = self.nfft * self.segments_per_line
        window = np.hanning(self.nfft + 1)[:-1]
        self._window = window.astype(np.float32)
        # a full-scale complex tone on a bin centre gives |X|² = (Σw)²: that is 0 dBFS
        self._norm = float(window.sum()) ** 2
        self.offsets_hz = np.fft.fftshift(np.fft.fftfreq(self.nfft, 1.0 / self.sample_rate))
        lines_per_tau = max(average_time_s * self.sample_rate / self.line_samples, 1.0)
        self._alpha = 1.0 - math.exp(-1.0 / lines_per_tau)
        self.average_power: np.ndarray | None = None
        self.peak_db: np.ndarray | None = None
        self.reset()

    def reset(self, keep_traces: bool = False) -> None:
        """Drop the partial line (after a gap, seek or retune); optionally keep average/peak."""
        self._carry = np.zeros(0, dtype=np.complex64)
        self._carry_first: int | None = None
        self._acc = np.zeros(self.nfft, dtype=np.float64)
        self._nseg = 0
        self._line_first = 0
        if not keep_traces:
            self.average_power = None
            self.peak_db = None

    def reset_peak(self) -> None:
        self.peak_db = None

    def process(self, samples: np.ndarray, first_sample: int) -> list[tuple[int, np.ndarray]]:
        """Feed samples; return ``(first_sample, power_db)`` of every line they complete.

        A chunk that does not continue the previous one starts a new line (the partial one is
        dropped).
        """
        first_sample = int(first_sample)
        if self._carry_first is None or self._carry_first + len(self._carry) != first_sample:
            self._carry = np.zeros(0, dtype=np.complex64)
            self._carry_first = first_sample
            self._acc[:] = 0.0
            self._nseg = 0
        x = np.concatenate([self._carry, np.asarray(samples, dtype=np.complex64)])
        x_first = self._carry_first
        k = len(x) // self.nfft
        used = k * self.nfft
        self._carry = x[used:].copy()
        self._carry_first = x_first + used
        if k == 0:
            return []
        segs = x[:used].reshape(k, self.nfft) * self._window
        spec = np.fft.fft(segs, axis=1)
        power = spec.real ** 2 + spec.imag ** 2
        out = []
        i = 0
        while i < k:
            if self._nseg == 0:
                self._line_first = x_first + i * self.nfft
            take = min(self.segments_per_line - self._nseg, k - i)
            self._acc += power[i:i + take].sum(axis=0)
            self._nseg += take
            i += take
            if self._nseg == self.segments_per_line:
                line = np.fft.fftshift(self._acc / (self.segments_per_line * self._norm))
                out.append((self._line_first, self._update_traces(line)))
                self._acc[:] = 0.0
                self._nseg = 0
        return out

    def _update_traces(self, line_power: np.ndarray) -> np.ndarray:
        db = (10.0 * np.log10(line_power + 1e-20)).astype(np.float32)
        if self.average_power is None:
            self.average_power = line_power.copy()
        else:
            self.average_power += self._alpha * (line_power - self.average_power)
        self.peak_db = db.copy() if self.peak_db is None else np.maximum(self.peak_db, db)
        return db

    @property
    def average_db(self) -> np.ndarray:
        return (10.0 * np.log10(self.average_power + 1e-20)).astype(np.float32)


#: Block type whose output the GUI shows (decoded bursts) and whose threshold it controls.
RECEIVER_BLOCK_TYPE = "a2_receiver"
#: The same receiver as stages: the threshold lives in the burst-window stage, the decoded
#: bursts (and the platform-ID width) in a decoder.
THRESHOLD_BLOCK_TYPE = "a2_burst_windows"
DECODER_BLOCK_TYPE = "a2_decoder"
#: Shipped flowgraphs run by default.
REPLAY_FLOWGRAPH = "a2_receiver"
LIVE_FLOWGRAPH = "a2_live"
#: Id of the ``frequency_shift`` block the GUI inserts after the source to retune a replay.
TUNE_BLOCK = "gui_tune"
_SOURCE_TYPES = {"replay": "file_source", "live": "soapy_source"}


def _find_blocks(fg, mode: str) -> tuple[str, str]:
    """(source id, receiver id) of a flowgraph, or a one-line FlowgraphError."""
    from argosneo.errors import FlowgraphError

    want = _SOURCE_TYPES[mode]
    sources = [b.id for b in fg.base.blocks.values() if b.type in _SOURCE_TYPES.values()]
    if not sources or fg.base.blocks[sources[0]].type != want:
        have = fg.base.blocks[sources[0]].type if sources else "none"
        raise FlowgraphError(f"{fg.path}: the GUI needs a {want} source for a "
                             f"{'capture replay' if mode == 'replay' else 'live device'} (this flowgraph's: {have})")
    rx = [b.id for b in fg.base.blocks.values() if b.type in (RECEIVER_BLOCK_TYPE, THRESHOLD_BLOCK_TYPE)]
    if not rx or (fg.base.blocks[rx[0]].type == THRESHOLD_BLOCK_TYPE and not _decoder_of(fg, rx[0])):
        raise FlowgraphError(f"{fg.path}: the flowgraph has no {RECEIVER_BLOCK_TYPE} block (or "
                             f"{THRESHOLD_BLOCK_TYPE} → {DECODER_BLOCK_TYPE} stages) for the GUI to show")
    return sources[0], rx[0]


def _decoder_of(fg, rx: str) -> str | None:
    """The block whose output is the decoded bursts: the receiver itself (``a2_receiver``), or
    the first ``a2_decoder`` fed by the burst-window stage ``rx``."""
    if fg.base.blocks[rx].type == RECEIVER_BLOCK_TYPE:
        return rx
    fed = {c.dst for c in fg.base.connections if c.src == rx}
    return next((b.id for b in fg.base.blocks.values() if b.type == DECODER_BLOCK_TYPE and b.id in fed), None)


def _declared_variables(path) -> set[str]:
    from argosneo.flowgraph.schema import load_flowgraph

    return set(load_flowgraph(path, allow_unresolved=True).variables)


def load_gui_flowgraph(mode: str, flowgraph=None, *, variables: dict | None = None,
                       source_params: dict | None = None, id_bits: int | None = None, pfa: float | None = None):
    """Load the flowgraph the GUI runs, with the source's parameters set.

    Parameters
    ----------
    mode : {"replay", "live"}
    flowgraph : str or path-like, optional
        A flowgraph file or shipped name (default ``a2_receiver`` for a replay, ``a2_live`` live).
        Its source must be a ``file_source`` (replay) or ``soapy_source`` (live), and it must have
        an ``a2_receiver`` block.
    variables : dict, optional
        Values for the file's variables (those it does not declare are left out).
    source_params : dict, optional
        Parameters of the source block (``path``, ``samp_rate``, ``device``, ...; None values are
        left out), so any flowgraph runs on the GUI's source whatever its variables are called.
    id_bits, pfa : optional
        Receiver ``id_bits``/``pfa`` in the base graph. With the default flowgraph, ``id_bits``
        also adds a configuration ``"N-bit IDs"`` for the other A2 platform-ID width (the frame
        does not say which one a platform uses).

    Returns
    -------
    Flowgraph

    Raises
    ------
    FlowgraphError
        If the file is invalid or unsuitable.
    """
    from argosneo import spec
    from argosneo.errors import FlowgraphError
    from argosneo.flowgraph import resolve_flowgraph
    from argosneo.flowgraph.schema import Configuration, Unresolved, load_flowgraph

    if mode not in _SOURCE_TYPES:
        raise ArgosneoError(f"unknown source mode {mode!r}")
    default = flowgraph is None
    path = resolve_flowgraph(REPLAY_FLOWGRAPH if mode == "replay" and default
                             else LIVE_FLOWGRAPH if default else flowgraph)
    if not Path(path).is_file():
        raise FlowgraphError(f"{path}: no such flowgraph file")
    probe = load_flowgraph(path, allow_unresolved=True)
    src, rx = _find_blocks(probe, mode)
    dec = _decoder_of(probe, rx)
    declared = set(probe.variables)
    vars_ = {k: v for k, v in (variables or {}).items() if k in declared and v is not None}
    overrides = {src: {k: v for k, v in (source_params or {}).items() if v is not None}}
    if id_bits is not None:
        overrides.setdefault(dec, {})["id_bits"] = int(id_bits)
    if pfa is not None:
        overrides.setdefault(rx, {})["pfa"] = float(pfa)
    # Sinks of the GUI's run write where the worker says (output_dir); a required variable such
    # as the replay's `input` is satisfied by the source parameters above.
    for name, var in probe.variables.items():
        if name not in vars_ and isinstance(var, Unresolved):
            vars_[name] = overrides[src].get("path") or overrides[src].get("device") or ""
    fg = load_flowgraph(path, variables=vars_, overrides=overrides)
    if default and id_bits is not None:
        other = next(b for b in spec.A2_ID_BITS_CHOICES if b != int(id_bits))
        name = f"{other}-bit IDs"
        if name not in fg.configurations:
            fg.configurations[name] = Configuration(
                name=name, set={dec: {"id_bits": other}},
                description=f"platform IDs of {other} bits (the frame does not say which width a platform uses)")
    return fg


def _with_source(fg, src: str, params: dict, shift_hz: float = 0.0):
    """The flowgraph with the source's parameters changed and, for ``shift_hz`` != 0, a
    ``frequency_shift`` block between the source and everything it fed (in every configuration)."""
    from argosneo.flowgraph.schema import BlockSpec, Connection

    base = fg.base.copy()
    base.blocks[src].params.update(params)
    confs = dict(fg.configurations)
    if shift_hz:
        def reroute(conns):
            return [dataclasses.replace(c, src=TUNE_BLOCK, src_port=None) if c.src == src else c for c in conns]

        base.blocks[TUNE_BLOCK] = BlockSpec(id=TUNE_BLOCK, type="frequency_shift", params={"shift_hz": float(shift_hz)})
        base.connections = reroute(base.connections) + [Connection(src, None, TUNE_BLOCK, None)]
        confs = {k: dataclasses.replace(c, connections=reroute(c.connections), disconnect=reroute(c.disconnect))
                 for k, c in confs.items()}
    return dataclasses.replace(fg, base=base, configurations=confs, schedule=list(fg.schedule))


class StageReceiver:
    """The receiver stages of a running flowgraph seen as one receiver (read-only): the same
    attributes as :class:`~argosneo.receiver.A2Receiver` that the GUI and its tests look at."""

    def __init__(self, runtime, windows_id: str, decoder_id: str):
        self._windows = runtime.blocks[windows_id]
        self._decoder = runtime.blocks[decoder_id]
        chan = next((b for b in runtime.blocks.values()
                     if getattr(getattr(b, "stage", None), "channelizer", None) is not None), None)
        self._channels = None if chan is None else chan.stage

    @property
    def info(self):
        seg = self._windows.stage.segment
        return seg.info if seg is not None else self._channels.info

    @property
    def detector(self):
        return self._windows.stage.detector

    @property
    def pfa(self) -> float:
        return self._windows.stage.pfa

    @property
    def id_bits(self) -> int:
        return self._decoder.decoder.id_bits

    @property
    def stats(self):
        from argosneo.receiver import ReceiverStats

        c = self._channels.stats
        d = self._decoder.decoder.stats
        return ReceiverStats(samples=c.samples, chunks=c.chunks, detections=self._windows.stage.detections,
                             decoded=d.decoded, rejected=d.rejected, duplicates=d.duplicates,
                             discontinuities=c.discontinuities, reject_reasons=dict(d.reject_reasons))


class ReceiverWorker:
    """Runs a flowgraph (source → ... → ``a2_receiver`` → sinks) in a thread, plus a spectrum.

    Create with :meth:`for_replay` or :meth:`for_device`, then :meth:`start`.

    Parameters
    ----------
    flowgraph : Flowgraph
        From :func:`load_gui_flowgraph` (its source parameters already set).
    mode : {"replay", "live"}
    config : str, optional
        Named configuration to start in (default: the file's ``initial``).
    speed : float
        Replay pace as a multiple of real time; ``math.inf`` (or 0) = as fast as possible.
    chunk_size : int, optional
        Samples per chunk (default ≈ 50 ms: controls act within one chunk).
    line_rate : float
        Spectrum/waterfall lines per second of stream time.
    nfft : int, optional
        Spectrum FFT length.
    line_queue : int
        Spectrum lines held for the display; beyond that the oldest are dropped (and counted).
    output_dir : path-like, optional
        Where the flowgraph's sinks write (default: a temporary directory removed at :meth:`stop`).
    gain_db : float, optional
        Live: the gain the device starts with (None = automatic).
    """

    def __init__(self, flowgraph, mode: str, *, config: str | None = None, speed: float = 1.0,
                 chunk_size: int | None = None, line_rate: float = DEFAULT_LINE_RATE, nfft: int | None = None,
                 line_queue: int = LINE_QUEUE_LENGTH, output_dir=None, gain_db: float | None = None):
        if mode not in _SOURCE_TYPES:
            raise ArgosneoError(f"unknown source mode {mode!r}")
        self.fg = flowgraph
        self.mode = mode
        self.source_id, self.receiver_id = _find_blocks(flowgraph, mode)
        self.decoder_id = _decoder_of(flowgraph, self.receiver_id)
        config = config or flowgraph.initial
        flowgraph.graph_for(config)      # an unknown name fails here, in one line
        sp = flowgraph.base.blocks[self.source_id].params
        if mode == "replay":
            from argosneo.io.reader import open_capture

            with open_capture(sp["path"], samp_rate=sp.get("samp_rate"), center_freq=sp.get("center_freq"),
                              datatype=sp.get("datatype")) as reader:
                self.source_info: StreamInfo = reader.info
        else:
            self.source_info = StreamInfo(sample_rate=float(sp["samp_rate"]), center_freq=float(sp["center_freq"]))
        rate = float(self.source_info.sample_rate)
        self.sample_rate = rate
        if not chunk_size:
            chunk_size = sp.get("chunk_size") if mode == "live" else None
        self.chunk_size = int(chunk_size or 2 ** int(round(math.log2(max(rate * CHUNK_DURATION_S, 256)))))
        self.analyzer = SpectrumAnalyzer(rate, nfft=nfft, line_rate=line_rate)
        self.lines = DropQueue(line_queue)
        self.bursts: queue.SimpleQueue = queue.SimpleQueue()
        self.errors: queue.SimpleQueue = queue.SimpleQueue()
        self._own_output = output_dir is None
        self.output_dir = Path(tempfile.mkdtemp(prefix="argosneo-gui-") if output_dir is None else output_dir)

        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._posted = 0
        self._applied = 0
        self._applied_cond = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

        # worker-thread state (what a restarted runtime is built from)
        self.runtime = None
        self.summary = None
        self.runs = 0
        self._config = config
        self._pfa: float | None = None        # set from the control; None: the configuration's
        self._center = self.source_info.center_freq
        self._shift_hz = 0.0                  # replay: digital shift that puts _center at 0 Hz
        self._gain = gain_db
        self._speed = self._check_speed(speed)
        self._paused = False
        self._restart_at: int | None = 0 if mode == "replay" else None
        self._pos = 0
        self._epoch = 0
        self._pace_ref: tuple[float, int] | None = None
        self._t_go: float | None = None
        self._load = None
        self._decoded = 0
        self._state = "idle"
        self._error: str | None = None

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def for_replay(cls, path, *, flowgraph=None, variables: dict | None = None, samp_rate=None,
                   center_freq=None, datatype=None, id_bits: int | None = None, pfa: float | None = None,
                   chunk_size: int | None = None, **kwargs) -> "ReceiverWorker":
        """Worker replaying a capture through a flowgraph (default ``a2_receiver``): pause, seek,
        speed. ``variables`` go to the flowgraph; the capture and its overrides to its source."""
        fg = load_gui_flowgraph("replay", flowgraph, variables=variables, id_bits=id_bits, pfa=pfa,
                                source_params={"path": str(path), "samp_rate": samp_rate, "center_freq": center_freq,
                                               "datatype": datatype})
        return cls(fg, "replay", chunk_size=chunk_size, **kwargs)

    @classmethod
    def for_device(cls, device: str, *, sample_rate: float, center_freq: float, gain_db: float | None = None,
                   flowgraph=None, variables: dict | None = None, id_bits: int | None = None,
                   pfa: float | None = None, chunk_size: int | None = None, **kwargs) -> "ReceiverWorker":
        """Worker receiving from a SoapySDR device through a flowgraph (default ``a2_live``)."""
        kwargs.pop("speed", None)
        chunk = chunk_size or 2 ** int(round(math.log2(max(sample_rate * CHUNK_DURATION_S, 1024))))
        fg = load_gui_flowgraph("live", flowgraph, variables=variables, id_bits=id_bits, pfa=pfa,
                                source_params={"device": device, "samp_rate": float(sample_rate),
                                               "center_freq": float(center_freq), "gain": gain_db,
                                               "chunk_size": int(chunk)})
        return cls(fg, "live", chunk_size=chunk, gain_db=gain_db, **kwargs)

    @staticmethod
    def _check_speed(speed) -> float:
        try:
            speed = float(speed)
        except (TypeError, ValueError):
            raise ArgosneoError(f"replay speed must be a number, got {speed!r}") from None
        if speed == 0 or speed == math.inf:
            return math.inf
        if not (speed > 0 and math.isfinite(speed)):
            raise ArgosneoError(f"replay speed must be positive (0 = as fast as possible), got {speed!r}")
        return speed

    # ---- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            raise ArgosneoError("the receiver worker is already running")
        self._state = "running"
        self._thread = threading.Thread(target=self._main, name="argosneo-gui-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the flowgraph (flushed and closed, the device released), wait for the thread;
        safe to call twice."""
        self._stop.set()
        self._wake.set()
        rt = self.runtime
        if rt is not None:
            rt.stop()
        if self._thread is not None:
            self._thread.join(timeout)
        if not self.running and self._own_output:
            shutil.rmtree(self.output_dir, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ---- controls (any thread) ---------------------------------------------------------------
    def _post(self, name: str, *args) -> None:
        with self._applied_cond:
            self._posted += 1
            self._commands.put((name, args))
        self._wake.set()

    def _done(self, reply: dict | None = None) -> None:
        if reply is not None and not reply.get("ok"):
            self.errors.put(str(reply.get("error")))
        with self._applied_cond:
            self._applied += 1
            self._applied_cond.notify_all()

    def wait_applied(self, timeout: float = 5.0) -> bool:
        """Wait until every control posted so far has been applied (for flowgraph commands: the
        runtime has replied). Returns False on timeout."""
        with self._applied_cond:
            target = self._posted
            return self._applied_cond.wait_for(lambda: self._applied >= target, timeout)

    def set_threshold(self, pfa: float) -> None:
        """Detection threshold as a false-alarm probability per bin and frame (0 < pfa < 1):
        ``set`` of the receiver block's ``pfa``, in flight."""
        pfa = float(pfa)
        if not (0.0 < pfa < 1.0):
            raise ArgosneoError(f"false-alarm probability must be between 0 and 1, got {pfa!r}")
        self._post("pfa", pfa)

    def retune(self, freq_hz: float) -> None:
        """New centre frequency. Live: ``set`` of the source's ``center_freq`` (the device is
        retuned in flight). Replay: the capture is shifted digitally (a ``frequency_shift`` block
        after the source; the runtime restarts at the current sample so that the receiver works
        at the new centre), so only frequencies within ±fs/2 of the recorded centre are
        reachable."""
        freq_hz = float(freq_hz)
        if not math.isfinite(freq_hz) or freq_hz <= 0:
            raise ArgosneoError(f"centre frequency must be a positive number of Hz, got {freq_hz!r}")
        if self.mode == "replay":
            recorded = self.source_info.center_freq
            if recorded is None:
                raise ArgosneoError("the capture does not say its centre frequency; it cannot be retuned")
            if not abs(freq_hz - recorded) < self.sample_rate / 2:
                raise ArgosneoError(
                    f"a replay can only be shifted within ±{self.sample_rate / 2e3:g} kHz of its recorded "
                    f"centre {recorded / 1e6:.6f} MHz")
        self._post("retune", freq_hz)

    def set_gain(self, gain_db: float | None) -> None:
        """Device gain in dB, None = automatic (live only): ``set`` of the source's ``gain``."""
        if self.mode != "live":
            raise ArgosneoError("gain can only be set on a live device, not on a replay")
        self._post("gain", None if gain_db is None else float(gain_db))

    def select_config(self, name: str) -> None:
        """Switch to a named configuration of the flowgraph (``configuration NAME``, in flight)."""
        if name not in self.configs:
            raise ArgosneoError(f"no configuration named {name!r} (have: {', '.join(self.configs)})")
        self._post("config", name)

    def set_speed(self, speed: float) -> None:
        """Replay pace (× real time; 0 or inf = as fast as possible)."""
        self._post("speed", self._check_speed(speed))

    def pause(self) -> None:
        """Replay: hold the stream (no sample moves; controls still apply). Live: freeze the
        display (the receiver keeps going: a device cannot wait)."""
        self._post("pause", True)

    def resume(self) -> None:
        self._post("pause", False)

    def seek(self, seconds: float) -> None:
        """Replay: restart the flowgraph at this stream time (clipped to the capture)."""
        if self.mode != "replay":
            raise ArgosneoError("seek is only possible on a replay")
        self._post("seek", float(seconds))

    def reset_peak(self) -> None:
        self._post("reset_peak")

    # ---- status -------------------------------------------------------------------------------
    @property
    def configs(self) -> list[str]:
        """Names of the flowgraph's configurations (``base`` first)."""
        return self.fg.configuration_names()

    @property
    def config(self) -> str:
        return self._config

    @property
    def receiver(self):
        """The running :class:`~argosneo.receiver.A2Receiver` of the receiver block, or a
        :class:`StageReceiver` view of the stages (None before the first chunk)."""
        rt = self.runtime
        block = None if rt is None else rt.blocks.get(self.receiver_id)
        if block is None or hasattr(block, "rx"):
            return getattr(block, "rx", None)
        if block.stage is None:
            return None
        return StageReceiver(rt, self.receiver_id, self.decoder_id)

    def _configured_pfa(self) -> float:
        if self._pfa is not None:
            return self._pfa
        from argosneo.flowgraph.registry import get_block_class

        params = self.fg.graph_for(self._config).blocks[self.receiver_id].params
        if params.get("pfa") is not None:
            return float(params["pfa"])
        kind = self.fg.graph_for(self._config).blocks[self.receiver_id].type
        return float(next(p.default for p in get_block_class(kind).params if p.name == "pfa"))

    def status(self) -> dict:
        """Snapshot for the status bar: the runtime's status (``runtime``: configuration, rates,
        drops, every block's state) plus position, pace, headroom and display drops."""
        rt = self.runtime
        rts = rt.status() if rt is not None else {}
        blocks = rts.get("blocks", {})
        rx = blocks.get(self.receiver_id, {})
        dec = blocks.get(self.decoder_id, {})
        src = blocks.get(self.source_id, {})
        with self._lock:
            running = self._state in ("running", "paused")
            st = {
                "mode": self.mode,
                "state": self._state,
                "error": self._error,
                "flowgraph": self.fg.name,
                "sample_rate": self.sample_rate,
                "center_freq": self._center,
                "recorded_center_freq": self.source_info.center_freq,
                "position_samples": self._pos,
                "position_s": self._pos / self.sample_rate,
                "total_samples": self.source_info.total_samples,
                "speed": self._speed,
                "paused": self._paused,
                "config": self._config,
                "configuration": rts.get("configuration", self._config),
                "pfa": float(rx["pfa"]) if running and "pfa" in rx else self._configured_pfa(),
                "gain_db": self._gain,
                "headroom": None if not self._load else 1.0 / self._load,
                "decoded": self._decoded,
                "detections": rx.get("detections", 0),
                "rejected": dec.get("rejected", 0),
                "display_drops": self.lines.dropped,
                "epoch": self._epoch,
                "runs": self.runs,
                "changes": list(rt.changes) if rt is not None else [],
                "dropped_samples": rts.get("dropped_samples", 0) + src.get("dropped_samples", 0),
                "drop_events": rts.get("drop_events", 0),
                "overflows": src.get("overflows", 0),
                "reopens": src.get("reopens", 0),
                "runtime": rts,
            }
        return st

    # ---- worker thread ----------------------------------------------------------------------
    def _main(self) -> None:
        try:
            while not self._stop.is_set():
                self._run_once()
                if self._stop.is_set() or self._restart_at is not None:
                    continue
                with self._lock:
                    self._state = "finished"
                # the stream ended: controls still take effect (for the next seek)
                while not self._stop.is_set() and self._restart_at is None:
                    self._apply_controls(None)
                    self._wake.wait(0.05)
                    self._wake.clear()
            with self._lock:
                self._state = "stopped"
        except ArgosneoError as exc:
            self._fail(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown in the GUI instead of killing it silently
            self._fail(f"{type(exc).__name__}: {exc}")
        finally:
            # whatever was posted can no longer be applied: do not leave waiters hanging
            self._apply_controls(None)

    def _fail(self, message: str) -> None:
        with self._lock:
            self._state = "error"
            self._error = message
        self.errors.put(message)

    def _run_once(self) -> None:
        from argosneo.flowgraph.runtime import Runtime

        params = {}
        if self.mode == "replay":
            start = self._restart_at or 0
            params = {"start_sample": start, "renumber": False, "chunk_size": self.chunk_size}
            self._pos = start
        self._restart_at = None
        fg = _with_source(self.fg, self.source_id, params, self._shift_hz)
        gen = self._epoch
        spectrum_block = TUNE_BLOCK if TUNE_BLOCK in fg.base.blocks else self.source_id
        initial = []
        if self._pfa is not None:
            initial.append({"cmd": "set", "blocks": {self.receiver_id: {"pfa": self._pfa}}})
        rt = Runtime(fg, configuration=self._config, mode="live" if self.mode == "live" else "offline",
                     output_dir=self.output_dir, event_log=self.output_dir / "run-log.jsonl",
                     progress=lambda n: self._progressed(gen, rt),
                     taps={spectrum_block: lambda port, chunk: self._spectrum_tap(gen, chunk),
                           self.decoder_id: self._burst_tap},
                     gate=lambda chunk: self._gate(gen, rt, chunk, initial))
        self._pace_ref = None
        self.analyzer.reset(keep_traces=True)
        with self._lock:
            self.runtime = rt
            self.runs += 1
            self._state = "paused" if self._paused and self.mode == "replay" else "running"
        self.summary = rt.run()

    # processing thread (= the worker thread, inside Runtime.run) --------------------------------
    def _gate(self, gen: int, rt, chunk, initial: list) -> bool:
        if self._stop.is_set():
            rt.stop()           # stop() may have come before this runtime existed
            return False
        if gen != self._epoch:
            return False
        while initial:
            rt.submit(initial.pop(0), wait=False, on_reply=self._initial_reply)
        self._apply_controls(rt)
        if gen != self._epoch:
            return False            # a seek or a replay retune: this runtime is ending
        if self.mode == "live":
            self._t_go = time.perf_counter()
            return False            # a device cannot be held
        if self._paused:
            self._wake.wait(0.05)
            self._wake.clear()
            return True
        if self._speed != math.inf:
            now = time.monotonic()
            if self._pace_ref is None:
                self._pace_ref = (now, chunk.first_sample)
            due = self._pace_ref[0] + (chunk.first_sample - self._pace_ref[1]) / self.sample_rate / self._speed
            if due > now:
                self._wake.wait(min(due - now, 0.05))
                self._wake.clear()
                return True
        self._t_go = time.perf_counter()
        return False

    def _initial_reply(self, reply: dict) -> None:
        if not reply.get("ok"):
            self.errors.put(str(reply.get("error")))

    def _apply_controls(self, rt) -> None:
        """Apply the posted controls; ``rt`` is the running runtime (None: the stream ended)."""
        while True:
            try:
                name, args = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                command = self._apply(rt, name, *args)
            except ArgosneoError as exc:
                self.errors.put(str(exc))
                command = None
            if command is not None and rt is not None:
                rt.submit(command, wait=False, on_reply=self._done)
            else:
                self._done()

    def _restart(self, rt, sample: int) -> None:
        """End this runtime; the worker thread starts a new one at capture sample ``sample``."""
        with self._lock:
            self._epoch += 1
            self._restart_at = int(sample)
            self._pos = int(sample)
            if self._state == "finished":
                self._state = "running"     # not finished any more: a new run is on its way
        self.analyzer.reset()
        if rt is not None:
            rt.stop()

    def _apply(self, rt, name: str, *args) -> dict | None:
        """Apply one control; returns the flowgraph command to submit (None: nothing to submit)."""
        here = self._pos if rt is None else rt.next_sample
        if name == "pfa":
            self._pfa = args[0]
            return {"cmd": "set", "blocks": {self.receiver_id: {"pfa": args[0]}}}
        if name == "config":
            self._config = args[0]
            self._pfa = None          # a configuration brings its own threshold
            return {"cmd": "configuration", "name": args[0]}
        if name == "retune":
            freq = args[0]
            if self.mode == "live":
                self._center = freq
                return {"cmd": "set", "blocks": {self.source_id: {"center_freq": freq}}}
            self._shift_hz = self.source_info.center_freq - freq
            self._center = freq
            if rt is not None:
                self._restart(rt, here)
            return None
        if name == "gain":
            self._gain = args[0]
            return {"cmd": "set", "blocks": {self.source_id: {"gain": args[0]}}}
        if name == "speed":
            self._speed = args[0]
            self._pace_ref = None
        elif name == "pause":
            self._paused = bool(args[0])
            self._pace_ref = None
            with self._lock:
                if self.mode == "replay" and self._state in ("running", "paused"):
                    self._state = "paused" if self._paused else "running"
        elif name == "seek":
            total = self.source_info.total_samples or 0
            pos = int(min(max(round(args[0] * self.sample_rate), 0), max(total - 1, 0)))
            self._restart(rt, pos)
        elif name == "reset_peak":
            self.analyzer.reset_peak()
        return None

    def _progressed(self, gen: int, rt) -> None:
        if gen != self._epoch:
            return
        now = time.perf_counter()
        n = rt.next_sample - self._pos
        with self._lock:
            if self._t_go is not None and n > 0:
                load = (now - self._t_go) / (n / self.sample_rate)
                self._load = load if self._load is None else self._load + HEADROOM_SMOOTHING * (load - self._load)
            self._pos = rt.next_sample
        self._t_go = None

    def _spectrum_tap(self, gen: int, chunk) -> None:
        if gen != self._epoch:
            return              # a runtime that is ending (seek): its lines would be out of place
        if chunk.discontinuity:
            self.analyzer.reset(keep_traces=True)
        if self.mode == "live" and chunk.info.center_freq and chunk.info.center_freq != self._center \
                and chunk.discontinuity:
            self._center = chunk.info.center_freq      # the device settled on what it could do
        lines = self.analyzer.process(chunk.samples, chunk.first_sample)
        if not lines or (self.mode == "live" and self._paused):
            return              # live "pause" freezes the display; the receiver keeps going
        avg, peak = self.analyzer.average_db, self.analyzer.peak_db.copy()
        center = chunk.info.center_freq
        for first, power in lines:
            self.lines.put(SpectrumLine(
                first_sample=first, n_samples=self.analyzer.line_samples, sample_rate=self.sample_rate,
                center_freq=center, offsets_hz=self.analyzer.offsets_hz, power_db=power,
                average_db=avg, peak_db=peak, epoch=self._epoch))

    def _burst_tap(self, port: str, items) -> None:
        # Bursts of a runtime that is ending are kept: they are real decodes of what it read.
        for b in items if isinstance(items, (list, tuple)) else [items]:
            rec = b.to_record()
            if rec.get("decoded", True):     # the GUI shows decoded bursts only
                with self._lock:
                    self._decoded += 1
                self.bursts.put(rec)
