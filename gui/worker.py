"""The DSP side of the GUI: a thread that runs source → receiver and never waits for the display.

Nothing here imports Qt. The worker thread reads samples (a capture paced at real time × a speed
factor, or a live :class:`~argosneo.io.soapy_source.SoapySource`), feeds every sample to the
:class:`~argosneo.receiver.A2Receiver` and to a :class:`SpectrumAnalyzer`, and publishes:

- spectrum lines into a :class:`DropQueue` (bounded: when the display falls behind, the oldest
  *lines* are dropped and counted — samples never are);
- decoded bursts (``to_record()`` dicts) into an unbounded queue (there are few of them);
- a status snapshot (:meth:`ReceiverWorker.status`).

Controls (threshold, retune, gain, configuration, speed, pause, seek) are queued by any thread and
applied by the worker thread between two chunks, i.e. on an exact sample boundary, so the DSP
objects are only ever touched by one thread.
"""

from __future__ import annotations

import dataclasses
import math
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from argosneo.errors import ArgosneoError
from argosneo.io.chunk import SampleChunk, StreamInfo

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


def frequency_shift(samples: np.ndarray, first_sample: int, shift_hz: float, sample_rate: float) -> np.ndarray:
    """Multiply by ``exp(2πj·shift·n/fs)`` with ``n`` the *stream* index (split-invariant)."""
    if shift_hz == 0.0:
        return samples
    n = first_sample + np.arange(len(samples), dtype=np.float64)
    cycles = np.mod(n * (shift_hz / sample_rate), 1.0)
    return (samples * np.exp(2j * np.pi * cycles).astype(np.complex64)).astype(np.complex64)


def _default_receiver_factory(info: StreamInfo, **kwargs):
    from argosneo.receiver import A2Receiver

    return A2Receiver(info, **kwargs)


class ReceiverWorker:
    """Runs source → receiver (+ spectrum) in a thread; the GUI (or a test) drives and reads it.

    Create with :meth:`for_replay` or :meth:`for_device`, then :meth:`start`.

    Parameters
    ----------
    source : CaptureReader or SoapySource
        Where the samples come from (``mode`` says which).
    mode : {"replay", "live"}
    configs : dict of str to dict, optional
        Named receiver configurations: name → ``A2Receiver`` keyword arguments (``id_bits``,
        ``pfa``, ``polarity``, ``num_channels``...). Default: one configuration ``"default"``.
    config : str, optional
        The configuration to start with (default: the first).
    speed : float
        Replay pace as a multiple of real time; ``math.inf`` (or 0) = as fast as possible.
    chunk_size : int, optional
        Samples per chunk (replay; default ≈ 50 ms).
    line_rate : float
        Spectrum/waterfall lines per second of stream time.
    nfft : int, optional
        Spectrum FFT length.
    line_queue : int
        Spectrum lines held for the display; beyond that the oldest are dropped (and counted).
    receiver_factory : callable
        ``factory(info, **kwargs)`` → receiver with ``process``, ``flush``, ``set_pfa``, ``stats``.
    """

    def __init__(self, source, mode: str, *, configs: dict[str, dict] | None = None,
                 config: str | None = None, speed: float = 1.0, chunk_size: int | None = None,
                 line_rate: float = DEFAULT_LINE_RATE, nfft: int | None = None,
                 line_queue: int = LINE_QUEUE_LENGTH, receiver_factory: Callable[..., Any] = _default_receiver_factory):
        if mode not in ("replay", "live"):
            raise ArgosneoError(f"unknown source mode {mode!r}")
        self.source = source
        self.mode = mode
        self.configs = {"default": {}} if not configs else {str(k): dict(v) for k, v in configs.items()}
        if config is None:
            config = next(iter(self.configs))
        if config not in self.configs:
            raise ArgosneoError(f"no configuration named {config!r} (have: {', '.join(self.configs)})")
        self._factory = receiver_factory
        self.source_info: StreamInfo = source.info
        rate = float(self.source_info.sample_rate)
        self.sample_rate = rate
        self.chunk_size = int(chunk_size or 2 ** int(round(math.log2(max(rate * CHUNK_DURATION_S, 256)))))
        self.analyzer = SpectrumAnalyzer(rate, nfft=nfft, line_rate=line_rate)
        self.lines = DropQueue(line_queue)
        self.bursts: queue.SimpleQueue = queue.SimpleQueue()
        self.errors: queue.SimpleQueue = queue.SimpleQueue()

        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._posted = 0
        self._applied = 0
        self._applied_cond = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

        # DSP state (worker thread only, once started)
        self._config = config
        self._pfa_override: float | None = None
        self._center = self.source_info.center_freq     # what the display/receiver are tuned to
        self._shift_hz = 0.0                              # replay: digital shift to reach _center
        self._gain: float | None = None
        self._speed = self._check_speed(speed)
        self._paused = False
        self._finished = False
        self._pos = 0
        self._epoch = 0
        self._pending_discontinuity = False
        self._pace_ref: tuple[float, int] | None = None
        self._load = None
        self._decoded = 0
        self._state = "idle"
        self._error: str | None = None
        self.receiver = self._new_receiver()

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def for_replay(cls, reader, **kwargs) -> "ReceiverWorker":
        """Worker replaying a :class:`~argosneo.io.reader.CaptureReader` (pause, seek, speed)."""
        return cls(reader, "replay", **kwargs)

    @classmethod
    def for_device(cls, source, *, gain_db: float | None = None, **kwargs) -> "ReceiverWorker":
        """Worker receiving from a :class:`~argosneo.io.soapy_source.SoapySource` (``gain_db``:
        the gain it was opened with, None = automatic)."""
        kwargs.pop("speed", None)
        worker = cls(source, "live", **kwargs)
        worker._gain = gain_db
        return worker

    def _rx_info(self) -> StreamInfo:
        return dataclasses.replace(self.source_info, center_freq=self._center)

    def _new_receiver(self):
        kwargs = dict(self.configs[self._config])
        if self._pfa_override is not None:
            kwargs["pfa"] = self._pfa_override
        return self._factory(self._rx_info(), **kwargs)

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

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread, wait for it and close the source (the worker owns it); safe to call
        twice."""
        self._stop.set()
        self._wake.set()
        if self.mode == "live":
            self.source.stop()
        if self._thread is not None:
            self._thread.join(timeout)
        if not self.running:
            # a device must be released here, not left to the garbage collector at exit
            self.source.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ---- controls (any thread) ---------------------------------------------------------------
    def _post(self, name: str, *args) -> None:
        with self._applied_cond:
            self._posted += 1
            self._commands.put((name, args))
        self._wake.set()

    def wait_applied(self, timeout: float = 5.0) -> bool:
        """Wait until every control posted so far has been applied by the worker thread.

        Returns False on timeout (or when the thread is not running and cannot apply them).
        """
        with self._applied_cond:
            target = self._posted
            return self._applied_cond.wait_for(lambda: self._applied >= target, timeout)

    def set_threshold(self, pfa: float) -> None:
        """Detection threshold as a false-alarm probability per bin and frame (0 < pfa < 1)."""
        pfa = float(pfa)
        if not (0.0 < pfa < 1.0):
            raise ArgosneoError(f"false-alarm probability must be between 0 and 1, got {pfa!r}")
        self._post("pfa", pfa)

    def retune(self, freq_hz: float) -> None:
        """New centre frequency. Live: the device is retuned. Replay: the capture is shifted
        digitally, so only frequencies within ±fs/2 of the recorded centre are reachable (the
        band wraps round at the edges, as any digital shift does)."""
        freq_hz = float(freq_hz)
        if not math.isfinite(freq_hz) or freq_hz <= 0:
            raise ArgosneoError(f"centre frequency must be a positive number of Hz, got {freq_hz!r}")
        if self.mode == "replay":
            recorded = self.source_info.center_freq
            if recorded is None:
                raise ArgosneoError("the capture does not say its centre frequency; it cannot be retuned")
            if abs(freq_hz - recorded) > self.sample_rate / 2:
                raise ArgosneoError(
                    f"a replay can only be shifted within ±{self.sample_rate / 2e3:g} kHz of its recorded "
                    f"centre {recorded / 1e6:.6f} MHz")
        self._post("retune", freq_hz)

    def set_gain(self, gain_db: float | None) -> None:
        """Device gain in dB, None = automatic (live only)."""
        if self.mode != "live":
            raise ArgosneoError("gain can only be set on a live device, not on a replay")
        self._post("gain", None if gain_db is None else float(gain_db))

    def select_config(self, name: str) -> None:
        """Switch to a named configuration (the receiver is rebuilt at a chunk boundary)."""
        if name not in self.configs:
            raise ArgosneoError(f"no configuration named {name!r} (have: {', '.join(self.configs)})")
        self._post("config", name)

    def set_speed(self, speed: float) -> None:
        """Replay pace (× real time; 0 or inf = as fast as possible)."""
        self._post("speed", self._check_speed(speed))

    def pause(self) -> None:
        self._post("pause", True)

    def resume(self) -> None:
        self._post("pause", False)

    def seek(self, seconds: float) -> None:
        """Replay: restart at this stream time (clipped to the capture); the receiver is reset."""
        if self.mode != "replay":
            raise ArgosneoError("seek is only possible on a replay")
        self._post("seek", float(seconds))

    def reset_peak(self) -> None:
        self._post("reset_peak")

    # ---- status -------------------------------------------------------------------------------
    @property
    def config(self) -> str:
        return self._config

    def status(self) -> dict:
        """Snapshot for the status bar: position, rate, drops, headroom, counts."""
        with self._lock:
            rx_stats = getattr(self.receiver, "stats", None)
            st = {
                "mode": self.mode,
                "state": self._state,
                "error": self._error,
                "sample_rate": self.sample_rate,
                "center_freq": self._center,
                "recorded_center_freq": self.source_info.center_freq,
                "position_samples": self._pos,
                "position_s": self._pos / self.sample_rate,
                "total_samples": self.source_info.total_samples,
                "speed": self._speed,
                "paused": self._paused,
                "config": self._config,
                "pfa": float(getattr(self.receiver, "pfa", float("nan"))),
                "gain_db": self._gain,
                "headroom": None if not self._load else 1.0 / self._load,
                "decoded": self._decoded,
                "detections": getattr(rx_stats, "detections", 0),
                "rejected": getattr(rx_stats, "rejected", 0),
                "display_drops": self.lines.dropped,
                "epoch": self._epoch,
            }
        if self.mode == "live":
            s = self.source.stats
            st.update(overflows=s.overflows, dropped_samples=s.dropped_estimate, reopens=s.reopens,
                      discontinuities=s.discontinuities)
        else:
            st.update(overflows=0, dropped_samples=0, reopens=0, discontinuities=0)
        return st

    # ---- worker thread ----------------------------------------------------------------------
    def _main(self) -> None:
        try:
            if self.mode == "replay":
                self._run_replay()
            else:
                self._run_live()
            with self._lock:
                self._state = "stopped"
        except ArgosneoError as exc:
            self._fail(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown in the GUI instead of killing it silently
            self._fail(f"{type(exc).__name__}: {exc}")

    def _fail(self, message: str) -> None:
        with self._lock:
            self._state = "error"
            self._error = message
        self.errors.put(message)

    def _apply_commands(self) -> None:
        while True:
            try:
                name, args = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                self._apply(name, *args)
            except ArgosneoError as exc:
                self.errors.put(str(exc))
            finally:
                with self._applied_cond:
                    self._applied += 1
                    self._applied_cond.notify_all()

    def _apply(self, name: str, *args) -> None:
        if name == "pfa":
            self._pfa_override = args[0]
            self.receiver.set_pfa(args[0])
        elif name == "config":
            self._config = args[0]
            self._pfa_override = None
            self._restart_dsp(new_epoch=False)
        elif name == "retune":
            freq = args[0]
            if self.mode == "live":
                freq = self.source.retune(freq)   # the next chunk is a discontinuity
            else:
                self._shift_hz = self.source_info.center_freq - freq
            self._center = freq
            self._restart_dsp(new_epoch=True)
        elif name == "gain":
            self.source.set_gain(args[0])
            self._gain = args[0]
        elif name == "speed":
            self._speed = args[0]
            self._pace_ref = None
        elif name == "pause":
            self._paused = bool(args[0])
            self._pace_ref = None
            with self._lock:
                if self._state in ("running", "paused"):
                    self._state = "paused" if self._paused else "running"
        elif name == "seek":
            total = self.source_info.total_samples or 0
            self._pos = int(min(max(round(args[0] * self.sample_rate), 0), total))
            self._finished = False
            self._pace_ref = None
            self._restart_dsp(new_epoch=True)
            with self._lock:
                self._state = "paused" if self._paused else "running"
        elif name == "reset_peak":
            self.analyzer.reset_peak()

    def _restart_dsp(self, new_epoch: bool) -> None:
        """Fresh receiver (and spectrum, on a new epoch): nothing is stitched across the change."""
        rx = self._new_receiver()
        with self._lock:
            self.receiver = rx
            if new_epoch:
                self._epoch += 1
        if new_epoch:
            self.analyzer.reset()
        self._pending_discontinuity = False

    def _process(self, samples: np.ndarray, first_sample: int, discontinuity: bool = False,
                 time_anchor=None) -> None:
        t0 = time.perf_counter()
        if self._shift_hz:
            samples = frequency_shift(samples, first_sample, self._shift_hz, self.sample_rate)
        if discontinuity:
            self.analyzer.reset(keep_traces=True)
        chunk = SampleChunk(samples=samples, first_sample=first_sample, info=self._rx_info(),
                            discontinuity=discontinuity, time_anchor=time_anchor)
        bursts = self.receiver.process(chunk)
        lines = self.analyzer.process(samples, first_sample)
        load = (time.perf_counter() - t0) / (len(samples) / self.sample_rate)
        self._publish(bursts, lines)
        with self._lock:
            self._pos = first_sample + len(samples)
            self._load = load if self._load is None else self._load + HEADROOM_SMOOTHING * (load - self._load)

    def _publish(self, bursts, lines) -> None:
        for b in bursts:
            rec = b.to_record()
            if rec.get("decoded", True):     # the GUI shows decoded bursts only
                self._decoded += 1
                self.bursts.put(rec)
        if self.mode == "live" and self._paused:
            return      # live "pause" freezes the display; the receiver keeps going
        if lines:
            avg, peak = self.analyzer.average_db, self.analyzer.peak_db.copy()
            for first, power in lines:
                self.lines.put(SpectrumLine(
                    first_sample=first, n_samples=self.analyzer.line_samples, sample_rate=self.sample_rate,
                    center_freq=self._center, offsets_hz=self.analyzer.offsets_hz, power_db=power,
                    average_db=avg, peak_db=peak, epoch=self._epoch))

    def _end_of_stream(self) -> None:
        self._publish(self.receiver.flush(), [])
        self._finished = True
        with self._lock:
            self._state = "finished"

    def _run_replay(self) -> None:
        reader = self.source
        total = int(self.source_info.total_samples)
        while not self._stop.is_set():
            self._apply_commands()
            if self._paused or self._finished:
                self._wake.wait(0.05)
                self._wake.clear()
                continue
            pos = self._pos
            if pos >= total:
                self._end_of_stream()
                continue
            if self._speed != math.inf:
                now = time.monotonic()
                if self._pace_ref is None:
                    self._pace_ref = (now, pos)
                due = self._pace_ref[0] + (pos - self._pace_ref[1]) / self.sample_rate / self._speed
                if due > now:
                    # woken early by a command: go round and apply it first
                    self._wake.wait(min(due - now, 0.1))
                    self._wake.clear()
                    continue
            n = min(self.chunk_size, total - pos)
            self._process(reader.read(pos, n), pos)

    def _run_live(self) -> None:
        it = iter(self.source)
        while not self._stop.is_set():
            self._apply_commands()
            try:
                chunk = next(it)
            except StopIteration:
                if not self._stop.is_set():
                    self._end_of_stream()
                break
            if chunk.discontinuity and chunk.info.center_freq != self._center and chunk.info.center_freq:
                # the device settled on a slightly different frequency than asked
                self._center = chunk.info.center_freq
                self._restart_dsp(new_epoch=True)
            self._process(chunk.samples, chunk.first_sample, chunk.discontinuity, chunk.time_anchor)
        while not self._stop.is_set():
            self._apply_commands()
            self._wake.wait(0.1)
            self._wake.clear()


#: Flowgraph block type whose parameters configure the GUI's receiver.
RECEIVER_BLOCK_TYPE = "a2_receiver"
#: Its parameters that are :class:`~argosneo.receiver.A2Receiver` arguments.
RECEIVER_PARAMS = ("id_bits", "pfa", "polarity", "num_channels")


def default_configs(id_bits: int = 28, pfa: float | None = None) -> dict[str, dict]:
    """The configurations offered without a flowgraph file: the two A2 platform-ID widths
    (the frame does not say which one a platform uses), ``id_bits`` first."""
    from argosneo import spec

    widths = [id_bits] + [b for b in spec.A2_ID_BITS_CHOICES if b != id_bits]
    out = {}
    for bits in widths:
        kwargs: dict = {"id_bits": bits}
        if pfa is not None:
            kwargs["pfa"] = pfa
        out[f"A2 {bits}-bit IDs"] = kwargs
    return out


def configs_from_flowgraph(path, variables: dict | None = None) -> dict[str, dict]:
    """Receiver arguments of every named configuration of a flowgraph file (``base`` first).

    The GUI runs its own source and receiver; from the flowgraph it takes the parameters of the
    ``a2_receiver`` block in each configuration, so switching configuration in the GUI applies
    the same receiver settings a flowgraph run would. Variables without a value (the input of a
    file flowgraph) are allowed: the GUI supplies its own source.

    Raises
    ------
    FlowgraphError
        If the file is invalid or has no ``a2_receiver`` block.
    """
    from argosneo.errors import FlowgraphError
    from argosneo.flowgraph.blocks_a2 import _POLARITY
    from argosneo.flowgraph.schema import Unresolved, load_flowgraph

    fg = load_flowgraph(path, variables=variables, allow_unresolved=True)
    out: dict[str, dict] = {}
    for name in fg.configuration_names():
        blocks = [b for b in fg.graph_for(name).blocks.values() if b.type == RECEIVER_BLOCK_TYPE]
        if not blocks:
            continue
        kwargs = {k: v for k, v in blocks[0].params.items()
                  if k in RECEIVER_PARAMS and v is not None and not isinstance(v, Unresolved)}
        if "polarity" in kwargs:
            kwargs["polarity"] = _POLARITY[kwargs["polarity"]]
        out[name] = kwargs
    if not out:
        raise FlowgraphError(f"{path}: the flowgraph has no {RECEIVER_BLOCK_TYPE} block for the GUI to run")
    return out
