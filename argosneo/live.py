"""The live receive loop behind ``argosneo rx``: device thread, decoder, outputs, status, signals.

Two threads share the work so that a slow decode never stalls the device:

- the *device thread* iterates the source (e.g. :class:`~argosneo.io.soapy_source.SoapySource`)
  and puts each chunk on an unbounded queue whose content is bounded by hand, in samples. When
  the decoder is more than ``queue_seconds`` behind, whole chunks are dropped (counted), and the
  next chunk that is queued is marked ``discontinuity=True`` so the receiver never stitches a
  burst across the hole. The device is never blocked, as on a real receiver whose FIFO would
  otherwise overflow;
- the *calling thread* (the main thread under the CLI, which is also where Python runs signal
  handlers) records, decodes, writes one JSON line per burst and refreshes the status line.

SIGINT/SIGTERM stop the source; what is queued is still decoded, the receiver is flushed, the
JSON lines file and the SigMF recording are closed (valid), and :func:`run_live` returns normally.
A second signal aborts at once with ``KeyboardInterrupt`` (outputs are still closed).

Sample indices stay those of the source: ``first_sample`` counts every sample the device
produced, including those it or the decoder lost, so burst ``sample_start`` and times stay true
across gaps. The recording holds only the samples that were decoded; each gap starts a new SigMF
capture segment whose ``core:global_index`` is the stream index, plus an ``argosneo:gap``
annotation with the number of samples lost.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from argosneo import spec
from argosneo.errors import ArgosneoError
from argosneo.io.chunk import SampleChunk, StreamInfo
from argosneo.io.writer import SigMFWriter, sigmf_datetime

#: Seconds of input the decoder may fall behind before whole chunks are dropped.
DEFAULT_QUEUE_SECONDS = 4.0
#: Interval of the status line (s).
STATUS_INTERVAL_S = 1.0
#: Recording sample formats offered by ``argosneo rx --record-format``.
RECORD_FORMATS = {"cf32": "cf32_le", "ci16": "ci16_le"}


# ---- outputs ----------------------------------------------------------------------------------


class JsonLinesSink:
    """One JSON object per line, flushed after each, so nothing decoded is lost on a crash.

    Parameters
    ----------
    path : str or None
        File to create (overwritten), or None / ``"-"`` for standard output.
    """

    def __init__(self, path: str | None):
        self.path = None if path in (None, "-") else str(path)
        self.count = 0
        if self.path is None:
            self._fp, self._own = sys.stdout, False
        else:
            try:
                self._fp, self._own = open(self.path, "w", encoding="utf-8"), True
            except OSError as exc:
                raise ArgosneoError(f"cannot create {self.path}: {exc.strerror or exc}") from None

    def write(self, record: dict) -> None:
        """Write and flush one record."""
        try:
            self._fp.write(json.dumps(record, separators=(", ", ": ")) + "\n")
            self._fp.flush()
        except OSError as exc:
            raise ArgosneoError(f"cannot write {self.path or 'standard output'}: {exc.strerror or exc}") from None
        self.count += 1

    def close(self) -> None:
        """Flush; close the file unless it is standard output. Idempotent."""
        if self._fp is None:
            return
        try:
            self._fp.flush()
        finally:
            if self._own:
                self._fp.close()
            self._fp = None


class _SegmentedSigMFWriter(SigMFWriter):
    """:class:`SigMFWriter` with extra capture segments (one per gap in the stream)."""

    def __init__(self, *args, global_index: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self._first_global = int(global_index)
        self._segments: list[dict] = []

    def add_segment(self, sample_start: int, global_index: int, when: _dt.datetime | None,
                    frequency: float | None) -> None:
        seg = {"core:sample_start": int(sample_start), "core:global_index": int(global_index)}
        if when is not None:
            seg["core:datetime"] = sigmf_datetime(when)
        if frequency is not None:
            seg["core:frequency"] = float(frequency)
        self._segments.append(seg)

    def metadata(self) -> dict:
        meta = super().metadata()
        meta["captures"][0]["core:global_index"] = self._first_global
        meta["captures"].extend(self._segments)
        return meta


class LiveRecorder:
    """SigMF recording of the samples that reach the decoder, annotated with what was decoded.

    Created lazily from the first chunk (its time is the recording's ``core:datetime``).

    Parameters
    ----------
    path_base : str
        Recording base name (``x`` → ``x.sigmf-data`` + ``x.sigmf-meta``).
    datatype : {"cf32_le", "ci16_le"}
        Sample format on disk.
    description : str
        ``core:description``.
    """

    def __init__(self, path_base: str, *, datatype: str = "cf32_le", description: str = ""):
        self.path_base = str(path_base)
        self.datatype = datatype
        self.description = description
        self.writer: _SegmentedSigMFWriter | None = None
        self.gaps = 0
        self.lost_samples = 0
        self._segments: list[tuple[int, int]] = []   # (stream index, recording index) per segment
        self._next = None                             # stream index expected next

    @staticmethod
    def _time_of(chunk: SampleChunk) -> _dt.datetime | None:
        return chunk.time_anchor if chunk.time_anchor is not None else chunk.info.time_of(chunk.first_sample)

    def write(self, chunk: SampleChunk) -> None:
        """Append a chunk; a discontinuity or an index jump opens a new capture segment."""
        if self.writer is None:
            info = chunk.info
            self.writer = _SegmentedSigMFWriter(
                self.path_base, sample_rate=info.sample_rate, center_freq=info.center_freq,
                datatype=self.datatype, start_time=self._time_of(chunk),
                description=self.description or info.description, global_index=chunk.first_sample,
            )
            self._segments.append((chunk.first_sample, 0))
        elif chunk.discontinuity or chunk.first_sample != self._next:
            lost = chunk.first_sample - self._next
            where = self.writer.samples_written
            reason = chunk.extra.get("reason") or "discontinuity"
            self.writer.add_segment(where, chunk.first_sample, self._time_of(chunk), chunk.info.center_freq)
            # without hardware time a device loss does not move first_sample: the count is then
            # only what is known (0), flagged as such
            self.writer.add_annotation(
                where, 0, label="gap",
                comment=f"{lost} samples lost before stream sample {chunk.first_sample} ({reason})",
                extra={"gap": int(lost), "gap_exact": bool(lost > 0 or reason == "retune"),
                       "gap_reason": reason, "global_index": int(chunk.first_sample)},
            )
            self.gaps += 1
            self.lost_samples += max(0, lost)
            self._segments.append((chunk.first_sample, where))
        self.writer.write(chunk.samples)
        self._next = chunk.end_sample

    def recording_index(self, stream_index: int) -> int | None:
        """Sample of the recording holding stream sample ``stream_index`` (None if before it)."""
        for first, rec in reversed(self._segments):
            if stream_index >= first:
                return rec + (stream_index - first)
        return None

    def annotate(self, record: dict, sample_rate: float) -> None:
        """Annotate one ``burst.to_record()`` (decoded or rejected) at its place in the recording."""
        if self.writer is None:
            return
        start = self.recording_index(int(record["sample_start"]))
        if start is None:
            return
        decoded = record.get("decoded", True)
        if decoded:
            duration = float(record["duration_s"])
            label = f"{record['format']} {record['platform_id']}"
            comment = f"message=0x{record['message_hex']} C/N0={record['cn0_dbhz']} dB-Hz"
            extra = {k: record[k] for k in ("platform_id", "message_hex", "offset_hz", "drift_hz_s",
                                            "cn0_dbhz", "time_utc") if record.get(k) is not None}
        else:
            duration = spec.A2_CARRIER_DURATION_S
            label = f"{record['format']} rejected"
            comment = record.get("reason")
            extra = {"rejected": True}
        extra["stream_sample_start"] = int(record["sample_start"])
        lower = upper = None
        if record.get("frequency_hz") is not None:
            # the biphase-L spectrum's first nulls sit at ±2× the bit rate; add the drift over
            # the burst so the box holds the whole track
            half = 2 * spec.A2_BIT_RATE + abs(record.get("drift_hz_s") or 0.0) * duration
            lower, upper = record["frequency_hz"] - half, record["frequency_hz"] + half
        self.writer.add_annotation(
            start, int(round(duration * sample_rate)), label=label, comment=comment,
            freq_lower_edge=lower, freq_upper_edge=upper, extra=extra,
        )

    def close(self) -> None:
        """Write the metadata (valid SigMF). Idempotent; nothing is written if no chunk came."""
        if self.writer is not None:
            self.writer.close()


# ---- status -----------------------------------------------------------------------------------


class StatusLine:
    """A line on stderr refreshed in place on a terminal, printed as plain lines otherwise.

    Parameters
    ----------
    stream : file-like
        Where to write (default ``sys.stderr``).
    enabled : bool
        False prints only :meth:`message` lines.
    tty : bool or None
        Overwrite in place; None asks ``stream.isatty()``.
    """

    def __init__(self, stream: IO[str] | None = None, *, enabled: bool = True, tty: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self._lock = threading.Lock()
        self._shown = False     # a status line is on screen without its newline

    def _clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self._shown = False

    def update(self, text: str) -> None:
        """Show the status text."""
        if not self.enabled:
            return
        with self._lock:
            if self.tty:
                self.stream.write("\r" + text + "\x1b[K")
                self._shown = True
            else:
                self.stream.write(text + "\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        """Print a line of its own (events, summary) without garbling the status line."""
        with self._lock:
            self._clear()
            self.stream.write(text + "\n")
            self.stream.flush()

    def finish(self) -> None:
        """Leave the terminal on a fresh line."""
        with self._lock:
            if self._shown:
                self.stream.write("\n")
                self._shown = False
            self.stream.flush()


# ---- the loop ---------------------------------------------------------------------------------


@dataclass
class LiveSummary:
    """What a live run did (also what the status line and the final summary show)."""

    samples_in: int = 0             #: samples handed over by the source
    chunks_in: int = 0
    chunks_dropped: int = 0         #: chunks dropped because the decoder was behind
    samples_dropped: int = 0
    samples_decoded: int = 0
    bursts: int = 0                 #: decoded bursts written
    rejected: int = 0               #: rejected carriers written (``all_bursts``)
    truncated: int = 0              #: bursts rejected: a gap or the end of the input cut them
    busy_s: float = 0.0             #: time spent recording + decoding + writing
    wall_s: float = 0.0
    stopped_by: str | None = None   #: "SIGINT", "SIGTERM", "duration", or None (stream ended)
    overflows: int = 0              #: from the source's stats, when it has them
    reopens: int = 0
    device_lost_samples: int = 0    #: samples the device lost (exact, hardware time)
    discontinuities: int = 0        #: chunks the receiver saw marked as discontinuities
    recording_gaps: int = 0

    sample_rate: float = 0.0        #: of the stream (0 until the first chunk)

    @property
    def realtime_factor(self) -> float:
        """Seconds of signal decoded per second of processing (the real-time headroom)."""
        if self.busy_s <= 0 or self.sample_rate <= 0:
            return math.inf
        return self.samples_decoded / self.sample_rate / self.busy_s


_SENTINEL = object()


class LiveLoop:
    """Run a source through a receiver in real time (see the module docstring).

    Parameters
    ----------
    source : iterable of SampleChunk
        Must have ``stop()``; its ``stats`` (``overflows``, ``reopens``, ``dropped_samples``)
        and ``info`` are used when present.
    make_receiver : callable
        ``make_receiver(info) -> receiver`` with ``process(chunk) -> list`` and
        ``flush() -> list``; items have ``to_record()``. Called with the first chunk's
        ``StreamInfo`` (the first read is what fixes a live stream's start time).
    sink : JsonLinesSink
        Where burst records go.
    recorder : LiveRecorder or None
        Raw-sample recording.
    status : StatusLine or None
        Status output; None prints nothing.
    duration_s : float or None
        Stop after this much stream (sample indices from the first chunk, gaps included).
    queue_seconds : float
        How far behind the decoder may fall before chunks are dropped.
    """

    def __init__(self, source, make_receiver: Callable[[StreamInfo], object], sink: JsonLinesSink, *,
                 recorder: LiveRecorder | None = None, status: StatusLine | None = None,
                 duration_s: float | None = None, queue_seconds: float = DEFAULT_QUEUE_SECONDS,
                 status_interval_s: float = STATUS_INTERVAL_S):
        self.source = source
        self.make_receiver = make_receiver
        self.sink = sink
        self.recorder = recorder
        self.status = status
        self.duration_s = duration_s
        self.queue_seconds = float(queue_seconds)
        self.status_interval_s = float(status_interval_s)
        self.receiver = None
        self.summary = LiveSummary()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._queued = 0                    # samples waiting in the queue
        self._qlock = threading.Lock()
        self._stop = threading.Event()
        self._reader_error: BaseException | None = None
        self._signals = 0
        self._rate = None

    # -- control ---------------------------------------------------------------------------------

    def stop(self, why: str | None = None) -> None:
        """Stop reading (thread- and signal-safe); queued chunks are still decoded."""
        if self.summary.stopped_by is None and why is not None:
            self.summary.stopped_by = why
        self._stop.set()
        self.source.stop()

    def _on_signal(self, signum, frame):
        self._signals += 1
        if self._signals > 1:
            raise KeyboardInterrupt
        self.stop(signal.Signals(signum).name)

    # -- device thread ---------------------------------------------------------------------------

    def _read(self) -> None:
        it = iter(self.source)
        try:
            limit = None
            mark = False            # the next queued chunk follows dropped ones
            anchor = None           # (stream index, UTC) of the latest re-anchored chunk
            for chunk in it:
                rate = chunk.info.sample_rate
                if self._rate is None:
                    self._rate = self.summary.sample_rate = rate
                    if self.duration_s is not None:
                        limit = chunk.first_sample + int(round(self.duration_s * rate))
                if chunk.time_anchor is not None:
                    anchor = (chunk.first_sample, chunk.time_anchor)
                last = False
                if limit is not None and chunk.end_sample >= limit:
                    chunk.samples = chunk.samples[: max(0, limit - chunk.first_sample)]
                    last = True
                n = len(chunk.samples)
                self.summary.chunks_in += 1
                self.summary.samples_in += n
                with self._qlock:
                    room = self._queued + n <= self.queue_seconds * rate or self._queued == 0
                    if room:
                        self._queued += n
                if not room:
                    self.summary.chunks_dropped += 1
                    self.summary.samples_dropped += n
                    mark = True
                elif n:
                    if mark and not chunk.discontinuity:
                        # the dropped samples are counted in first_sample, so time follows from
                        # the last anchor (the stream's start when there was none)
                        when = None
                        if anchor is not None:
                            when = anchor[1] + _dt.timedelta(seconds=(chunk.first_sample - anchor[0]) / rate)
                        chunk = dataclasses.replace(chunk, discontinuity=True, time_anchor=when,
                                                    extra={**chunk.extra, "reason": "decoder_behind"})
                    mark = False
                    self._queue.put(chunk)
                if last:
                    self.stop("duration")
                    break
                if self._stop.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 - handed to the decoding thread to raise
            self._reader_error = exc
        finally:
            try:
                it.close()
            except Exception:  # noqa: BLE001 - the device may already be gone
                pass
            self._queue.put(_SENTINEL)

    # -- decoding thread -------------------------------------------------------------------------

    def _flush_receiver(self) -> None:
        """Decode the bursts still open in the receiver; a burst the input stopped inside is
        rejected by the receiver itself ("cut by the end of the input"), never invented."""
        self._emit(self.receiver.flush())
        self.summary.truncated = sum(n for reason, n in self.receiver.stats.reject_reasons.items()
                                     if reason.startswith("cut by"))

    def _emit(self, items: Iterable) -> None:
        for item in items:
            record = item.to_record()
            self.sink.write(record)
            if record.get("decoded", True):
                self.summary.bursts += 1
            else:
                self.summary.rejected += 1
            if self.recorder is not None:
                self.recorder.annotate(record, self._rate)

    def _handle(self, chunk: SampleChunk) -> None:
        t0 = time.perf_counter()
        if self.receiver is None:
            self.receiver = self.make_receiver(chunk.info)
        if chunk.discontinuity:
            # the receiver decodes the bursts that ended before the gap and rejects the others
            self.summary.discontinuities += 1
        if self.recorder is not None:
            self.recorder.write(chunk)
        self._emit(self.receiver.process(chunk))
        self.summary.samples_decoded += len(chunk.samples)
        self.summary.busy_s += time.perf_counter() - t0

    def _collect_source_stats(self) -> None:
        st = getattr(self.source, "stats", None)
        s = self.summary
        if st is not None:
            s.overflows = int(getattr(st, "overflows", 0))
            s.reopens = int(getattr(st, "reopens", 0))
            s.device_lost_samples = int(getattr(st, "dropped_samples", 0))
        if self.recorder is not None:
            s.recording_gaps = self.recorder.gaps

    def status_text(self, rate_in: float, headroom: float) -> str:
        """The status line for the current counters."""
        s = self.summary
        queued = self._queued / self._rate if self._rate else 0.0
        head = "inf" if math.isinf(headroom) else f"{headroom:.1f}"
        # short enough for an 80-column terminal, where a wrapped line could not be overwritten
        return (f"rx {s.samples_in / (self._rate or 1):.0f} s {rate_in / 1e3:.1f} kS/s x{head} rt"
                f" | queue {queued:.1f} s | ovf {s.overflows} drop {s.chunks_dropped}"
                f" reopen {s.reopens} | bursts {s.bursts}")

    def run(self) -> LiveSummary:
        """Receive until the source ends, :meth:`stop` is called, a signal or the duration.

        Returns
        -------
        LiveSummary

        Raises
        ------
        ArgosneoError
            A source failure (e.g. a device that did not come back), re-raised after every
            queued chunk was decoded and the outputs were closed.
        """
        installed = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                installed[sig] = signal.signal(sig, self._on_signal)
        reader = threading.Thread(target=self._read, name="argosneo-rx-device", daemon=True)
        t_start = time.monotonic()
        last_status = t_start
        last_in, last_busy, last_dec = 0, 0.0, 0
        s = self.summary
        try:
            reader.start()
            while True:
                try:
                    item = self._queue.get(timeout=min(0.2, self.status_interval_s))
                except queue.Empty:
                    item = None
                if item is _SENTINEL:
                    break
                if item is not None:
                    with self._qlock:
                        self._queued -= len(item.samples)
                    self._handle(item)
                now = time.monotonic()
                if self.status is not None and now - last_status >= self.status_interval_s:
                    self._collect_source_stats()
                    dt = now - last_status
                    busy = s.busy_s - last_busy
                    signal_s = (s.samples_decoded - last_dec) / (self._rate or 1)
                    headroom = math.inf if busy <= 0 else signal_s / busy
                    self.status.update(self.status_text((s.samples_in - last_in) / dt, headroom))
                    last_status, last_in, last_busy, last_dec = now, s.samples_in, s.busy_s, s.samples_decoded
            reader.join()
            if self.receiver is not None:
                t0 = time.perf_counter()
                self._flush_receiver()
                s.busy_s += time.perf_counter() - t0
        finally:
            for sig, previous in installed.items():
                signal.signal(sig, previous)
            if reader.is_alive():
                # aborted (second signal): let the device thread end on its own
                self.source.stop()
                reader.join(timeout=2.0)
            s.wall_s = time.monotonic() - t_start
            s.sample_rate = self._rate or 0.0
            self._collect_source_stats()
            if self.status is not None:
                self.status.finish()
            try:
                self.sink.close()
            finally:
                if self.recorder is not None:
                    self.recorder.close()
        if self._reader_error is not None:
            raise self._reader_error
        return s


def summary_text(s: LiveSummary) -> str:
    """One-paragraph human summary of a live run."""
    rate = s.sample_rate or 1.0
    rt = s.realtime_factor
    parts = [
        f"{s.samples_in / rate:.1f} s received ({s.samples_in} samples) in {s.wall_s:.1f} s",
        f"{s.bursts} burst{'s' if s.bursts != 1 else ''} decoded"
        + (f", {s.rejected} rejected" if s.rejected else "")
        + (f", {s.truncated} cut short by a gap or the end" if s.truncated else ""),
        f"overflows {s.overflows}, device lost {s.device_lost_samples} samples, reopens {s.reopens}",
        f"decoder dropped {s.chunks_dropped} chunks ({s.samples_dropped} samples)",
        f"{'inf' if math.isinf(rt) else f'{rt:.1f}'}x real time",
    ]
    if s.stopped_by:
        parts.append(f"stopped by {s.stopped_by}")
    return "argosneo rx: " + "; ".join(parts)
