"""Source and sink blocks: capture files, SoapySDR devices, JSON-lines events, SigMF recordings."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
import math
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from argosneo import spec
from argosneo.errors import FlowgraphError
from argosneo.flowgraph.block import Block, Param, SourceBlock
from argosneo.flowgraph.registry import register_block
from argosneo.io.chunk import SampleChunk, StreamInfo

_MAX_CHUNK = 1 << 24


@register_block
class FileSource(SourceBlock):
    """Stream a capture file (SigMF, raw IQ, IQ WAV) as sample chunks.

    With ``realtime`` the chunks are paced at the sample rate, as a receiver would deliver
    them (for rehearsing live operation from a recording).
    """

    kind = "file_source"
    port_kinds = {"out": "samples"}
    outputs = ("out",)
    params = (
        Param("path", str, required=True, doc="capture file (x.sigmf-meta, x.cu8, x.wav, ...)"),
        Param("samp_rate", float, None, "sample rate, S/s (raw files; overrides metadata)", minimum=1.0),
        Param("center_freq", float, None, "centre frequency, Hz (overrides metadata)"),
        Param("datatype", str, None, "sample format for raw files (cf32_le, ci16_le, ci8, cu8, ...)"),
        Param("start_time", str, None, "UTC time of sample 0, ISO 8601 (overrides metadata)"),
        Param("chunk_size", int, 65536, "samples per chunk", minimum=1, maximum=_MAX_CHUNK),
        Param("realtime", bool, False, "pace chunks at the sample rate"),
        Param("start_sample", int, 0, "first capture sample to read", minimum=0),
        Param("stop_sample", int, None, "stop before this capture sample (default: the end)", minimum=1),
        Param("renumber", bool, True, "number the stream from start_sample = 0 (false: stream sample = "
              "capture sample, e.g. to resume a replay where it was)"),
    )

    def __init__(self, path, samp_rate=None, center_freq=None, datatype=None, start_time=None,
                 chunk_size=65536, realtime=False, start_sample=0, stop_sample=None, renumber=True):
        self.path = path
        self._open_kw = dict(samp_rate=samp_rate, center_freq=center_freq, datatype=datatype,
                             start_time=start_time)
        self.chunk_size = int(chunk_size)
        self.realtime = bool(realtime)
        self.start_sample = int(start_sample)
        self.stop_sample = stop_sample
        self.renumber = bool(renumber)
        self._reader = None
        self._stop = threading.Event()
        self.samples_read = 0

    @classmethod
    def output_rates(cls, params, input_rates):
        rate = params.get("_actual_rate") or params.get("samp_rate")
        if rate is None and params.get("path") is not None:
            from argosneo.io.reader import open_capture

            kw = {k: params.get(k) for k in ("center_freq", "datatype", "start_time")}
            with open_capture(params["path"], samp_rate=None, **kw) as r:
                rate = r.info.sample_rate
        return {"out": rate}

    def open(self) -> StreamInfo:
        from argosneo.io.reader import open_capture

        self._reader = open_capture(self.path, **self._open_kw)
        total = self._reader.total_samples
        if self.start_sample >= max(total, 1):
            raise FlowgraphError(f"file_source: start_sample {self.start_sample} is beyond the end of "
                                 f"{self.path} ({total} samples)")
        stop = total if self.stop_sample is None else min(self.stop_sample, total)
        self._stop_at = stop
        info = self._reader.info
        if not self.renumber:
            # stream sample = capture sample; the stream ends at capture sample `stop`
            self._offset = 0
            self.info = dataclasses.replace(info, total_samples=stop)
            return self.info
        # The stream starts at start_sample: sample 0 of the stream is that capture sample.
        self._offset = self.start_sample
        start_time = info.time_of(self.start_sample) if self.start_sample else info.start_time
        self.info = dataclasses.replace(info, start_time=start_time,
                                        total_samples=max(0, stop - self.start_sample))
        return self.info

    def chunks(self):
        t0 = time.monotonic()
        rate = self.info.sample_rate
        for c in self._reader.chunks(self.chunk_size, start=self.start_sample, stop=self._stop_at):
            if self._stop.is_set():
                return
            first = c.first_sample - self._offset
            if self.realtime:
                due = t0 + (c.first_sample - self.start_sample + len(c.samples)) / rate
                while not self._stop.is_set() and (wait := due - time.monotonic()) > 0:
                    self._stop.wait(min(wait, 0.1))
            self.samples_read += len(c.samples)
            yield SampleChunk(c.samples, first, self.info)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def state(self) -> dict:
        return {"samples_read": self.samples_read}


#: One line per device event, for the run's log (None: counted in the status line only).
_DEVICE_EVENT_TEXT = {
    "lost": lambda d: f"device lost ({d.get('code')}): reopening",
    "stall": lambda d: f"no samples for {d.get('seconds', 0):.1f} s: presuming the device gone",
    "reopen_failed": lambda d: (f"reopen attempt {d.get('attempt')} failed ({d.get('error')}); "
                                f"next in {d.get('next_s', 0):.1f} s"),
    "reopened": lambda d: f"device reopened after {d.get('attempts')} attempt(s)",
}


def describe_device_event(kind: str, detail: dict) -> str | None:
    """One line for a :class:`~argosneo.io.soapy_source.SoapySource` event, or None for the
    frequent ones (overflows) that the status line counts instead."""
    text = _DEVICE_EVENT_TEXT.get(kind)
    return None if text is None else text(detail)


@register_block
class SoapySourceBlock(SourceBlock):
    """Receive from a SoapySDR device (live: chunks that arrive while the graph is behind are
    dropped, counted and reported). ``center_freq`` and ``gain`` can be changed while running;
    the device applies them at its next chunk, which is marked as a discontinuity.

    A device that vanishes is reopened (the first chunk after it is a discontinuity); its
    events (lost, reopen attempts, reopened) go to ``on_event(kind, detail, text)`` when the
    runtime sets it, and the counters (overflows, samples lost, reopens) are in :meth:`state`.
    """

    kind = "soapy_source"
    port_kinds = {"out": "samples"}
    live = True
    outputs = ("out",)
    params = (
        Param("device", str, required=True, doc="SoapySDR device arguments, e.g. 'driver=rtlsdr'"),
        Param("samp_rate", float, required=True, doc="sample rate, S/s", minimum=1.0),
        Param("center_freq", float, required=True, doc="centre frequency, Hz", minimum=1.0,
              reconfigurable=True),
        Param("gain", float, None, "overall gain, dB (default: automatic)", reconfigurable=True),
        Param("antenna", str, None, "antenna port"),
        Param("ppm", float, 0.0, "oscillator correction, ppm", minimum=-1000.0, maximum=1000.0),
        Param("bandwidth", float, None, "analog filter bandwidth, Hz", minimum=1.0),
        Param("chunk_size", int, 65536, "samples per chunk", minimum=1, maximum=_MAX_CHUNK),
        Param("reopen_attempts", int, None, "failed reopens in a row before giving up on a vanished "
              "device (0: never reopen; default: keep trying)", minimum=0),
        Param("read_timeout", float, 0.5, "seconds per device read; also how late a stop takes effect",
              minimum=0.001, maximum=60.0),
    )

    #: ``on_event(kind, detail, text)`` for device events; set by the runtime before :meth:`open`
    on_event = None

    def __init__(self, device, samp_rate, center_freq, gain=None, antenna=None, ppm=0.0, bandwidth=None,
                 chunk_size=65536, reopen_attempts=None, read_timeout=0.5):
        self._kw = dict(device_args=device, sample_rate=samp_rate, center_freq=center_freq, gain=gain,
                        antenna=antenna, ppm=ppm, bandwidth=bandwidth, buffer_samples=chunk_size,
                        timeout_s=read_timeout, reopen=reopen_attempts != 0,
                        max_reopen_attempts=reopen_attempts or None)
        self._src = None
        self.events: list[tuple[str, dict]] = []

    @classmethod
    def output_rates(cls, params, input_rates):
        return {"out": params.get("_actual_rate") or params.get("samp_rate")}

    def _event(self, kind: str, detail: dict) -> None:
        # called in the source thread, between two device reads
        self.events.append((kind, detail))
        if self.on_event is not None:
            self.on_event(kind, detail, describe_device_event(kind, detail))

    def open(self) -> StreamInfo:
        from argosneo.io.soapy_source import SoapySource

        self._src = SoapySource(on_event=self._event, **self._kw)
        self.info = self._src.info
        return self.info

    def chunks(self):
        yield from self._src

    def stop(self) -> None:
        if self._src is not None:
            self._src.stop()

    def reconfigure(self, **changes) -> None:
        if self._src is None:
            raise FlowgraphError("soapy_source: the device is not open")
        if "center_freq" in changes:
            self._src.retune(changes["center_freq"])
        if "gain" in changes:
            self._src.set_gain(changes["gain"])

    def dropped_samples(self) -> int:
        """Samples the device reports lost (overflows), for the run's drop count."""
        return 0 if self._src is None else int(self._src.stats.dropped_estimate)

    def close(self) -> None:
        if self._src is not None:
            self._src.close()

    def state(self) -> dict:
        """Device counters: ``overflows``, ``dropped_samples`` (known + estimated losses),
        ``device_lost`` (known exactly from hardware time), ``reopens``, ``center_freq``, ``gain``."""
        if self._src is None:
            return {}
        st = self._src.stats
        out = {"samples": st.samples, "overflows": st.overflows, "dropped_samples": st.dropped_estimate,
               "device_lost": st.dropped_samples, "reopens": st.reopens,
               "center_freq": self._src.info.center_freq}
        if self._src.device is not None:
            try:
                out["gain"] = self._src.get_gain()     # as the device reports it
            except Exception:  # noqa: BLE001 - a device mid-reopen must not break a status request
                pass
        return out


def to_jsonable(obj: Any):
    """Plain JSON data from events: dataclasses, objects with ``to_dict``, numpy, datetimes."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, (_dt.datetime, _dt.date)):
        return obj.isoformat().replace("+00:00", "Z")
    if isinstance(obj, enum.Enum):
        return obj.value
    if hasattr(obj, "to_record"):
        return to_jsonable(obj.to_record())
    if hasattr(obj, "to_dict"):
        return to_jsonable(obj.to_dict())
    if dataclasses.is_dataclass(obj):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.repr}
    return str(obj)


@register_block
class JsonlSink(Block):
    """Write every event it receives as one JSON object per line (lists: one line per element)."""

    kind = "jsonl_sink"
    port_kinds = {"in": "events"}
    outputs = ()
    output_path_params: ClassVar[tuple[str, ...]] = ("path",)
    params = (
        Param("path", str, required=True, doc="output .jsonl file (relative: in the run's output directory; "
              "'-': standard output)"),
        Param("append", bool, False, "append to an existing file instead of replacing it"),
    )

    def __init__(self, path, append=False):
        if path == "-":
            import sys

            # standard output belongs to the process: written to, flushed, never closed
            self._fp, self._owned = sys.stdout, False
            self.path, self.records = path, 0
            return
        self._owned = True
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._fp = open(path, "a" if append else "w", encoding="utf-8")
        except OSError as exc:
            raise FlowgraphError(f"jsonl_sink: cannot open {path}: {exc.strerror or exc}") from None
        self.path = path
        self.records = 0

    @classmethod
    def output_rates(cls, params, input_rates):
        return {}

    def process(self, item, port="in"):
        if isinstance(item, SampleChunk):
            raise FlowgraphError("jsonl_sink: takes events, not sample chunks (connect a detector/decoder)")
        for rec in item if isinstance(item, (list, tuple)) else [item]:
            self._fp.write(json.dumps(to_jsonable(rec)) + "\n")
            self.records += 1
        # Readers follow the file while the receiver runs: hand whole lines to the OS now.
        self._fp.flush()
        return []

    def close(self) -> None:
        if self._owned and not self._fp.closed:
            self._fp.close()

    def state(self) -> dict:
        return {"records": self.records}


def _segmented_writer(path, *, global_index: int, **kw):
    """A :class:`~argosneo.io.writer.SigMFWriter` with one capture segment per gap in the stream."""
    from argosneo.io.writer import SigMFWriter, sigmf_datetime

    class _SegmentedSigMFWriter(SigMFWriter):
        def __init__(self):
            super().__init__(path, **kw)
            self.segments: list[dict] = []

        def add_segment(self, sample_start: int, stream_index: int, when, frequency) -> None:
            seg = {"core:sample_start": int(sample_start), "core:global_index": int(stream_index)}
            if when is not None:
                seg["core:datetime"] = sigmf_datetime(when)
            if frequency is not None:
                seg["core:frequency"] = float(frequency)
            self.segments.append(seg)

        def metadata(self) -> dict:
            meta = super().metadata()
            meta["captures"][0]["core:global_index"] = int(global_index)
            meta["captures"].extend(self.segments)
            return meta

    return _SegmentedSigMFWriter()


@register_block
class SigMFRecordSink(Block):
    """Record the sample stream as a SigMF recording (``path.sigmf-data`` + ``path.sigmf-meta``),
    annotated with the bursts decoded from it.

    The rate, centre frequency and start time come from the stream. The recording holds the
    samples that reached the sink; every gap (samples lost by the device or dropped because the
    graph was behind, any discontinuity such as a device retune) starts a new capture segment whose
    ``core:global_index`` is the stream sample index, with its own ``core:datetime`` and
    ``core:frequency``, plus an ``argosneo:gap`` annotation giving the samples lost
    (``argosneo:gap_exact`` false when the device could not count them) and the reason. A
    centre-frequency change is also annotated (``retune``).

    Two inputs: ``in`` takes the sample chunks, and the optional ``bursts`` takes burst events
    (connect the decoder to it, e.g. ``decode -> rec.bursts``): every decoded burst becomes an
    annotation at its place in the recording (rejected ones too, labelled so). Bursts must be
    indexed like the recorded stream (the decoder is fed the same stream as the sink). Port
    kinds make the loader refuse a decoder wired into ``in`` or samples into ``bursts``.
    ``path: ""`` records nothing, for flowgraphs where recording is optional (``a2_live``'s
    ``record`` variable).
    """

    kind = "sigmf_record_sink"
    inputs = ("in", "bursts")
    #: the annotations are optional: a recorder may take samples only
    optional_inputs: ClassVar[tuple[str, ...]] = ("bursts",)
    port_kinds: ClassVar[dict[str, str]] = {"in": "samples", "bursts": "events"}
    outputs = ()
    output_path_params: ClassVar[tuple[str, ...]] = ("path",)
    params = (
        Param("path", str, required=True, doc="recording base name (relative: in the run's output directory; "
              "'': record nothing)"),
        Param("datatype", str, "cf32_le", "sample format on disk", choices=("cf32_le", "ci16_le", "ci8", "cu8")),
        Param("description", str, "", "core:description (default: the stream's)"),
    )

    def __init__(self, path, datatype="cf32_le", description=""):
        self.path, self.datatype, self.description = path, datatype, description
        self.enabled = bool(path)
        self._w = None
        self._next = None
        self._center = None
        self._segments: list[tuple[int, int]] = []   # (stream index, recording index) per segment
        self.gaps = 0
        self.lost_samples = 0
        self.annotations = 0

    @classmethod
    def output_rates(cls, params, input_rates):
        return {}

    def process(self, item, port="in"):
        if port == "bursts":
            if isinstance(item, SampleChunk):
                raise FlowgraphError("sigmf_record_sink: bursts takes burst events, not sample chunks")
            if self.enabled:
                for event in item if isinstance(item, (list, tuple)) else [item]:
                    self._annotate(event)
        elif port == "in":
            if not isinstance(item, SampleChunk):
                raise FlowgraphError(f"sigmf_record_sink: in takes sample chunks, got {type(item).__name__} "
                                     "(burst events go to its bursts input)")
            if self.enabled:
                self._write(item)
        else:
            raise FlowgraphError(f"sigmf_record_sink: no input port {port!r}")
        return []

    @staticmethod
    def _time_of(chunk: SampleChunk):
        return chunk.time_anchor if chunk.time_anchor is not None else chunk.info.time_of(chunk.first_sample)

    def _write(self, chunk: SampleChunk) -> None:
        info = chunk.info
        if self._w is None:
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise FlowgraphError(f"sigmf_record_sink: cannot create {Path(self.path).parent}: "
                                     f"{exc.strerror or exc}") from None
            self._w = _segmented_writer(
                self.path, global_index=chunk.first_sample, sample_rate=info.sample_rate,
                center_freq=info.center_freq, datatype=self.datatype, start_time=self._time_of(chunk),
                description=self.description or info.description,
                extra_global={"first_stream_sample": int(chunk.first_sample)})
            self._segments.append((chunk.first_sample, 0))
            self._center = info.center_freq
        else:
            where = self._w.samples_written
            lost = chunk.first_sample - self._next
            if chunk.discontinuity or lost:
                reason = chunk.extra.get("reason") or "discontinuity"
                self._w.add_segment(where, chunk.first_sample, self._time_of(chunk), info.center_freq)
                self._segments.append((chunk.first_sample, where))
                # without hardware time a device loss does not move first_sample: the count is
                # then only what is known (0), flagged as such
                self._w.add_annotation(
                    where, 0, label="gap",
                    comment=f"{lost} samples lost before stream sample {chunk.first_sample} ({reason})",
                    extra={"gap": int(lost), "gap_exact": bool(lost > 0 or reason == "retune"),
                           "gap_reason": reason, "global_index": int(chunk.first_sample)})
                self.gaps += 1
                self.lost_samples += max(0, lost)
            if info.center_freq != self._center:
                # a continuous stream shifted digitally stays one segment (its samples are
                # contiguous); a device retune is a discontinuity and got its own segment above
                self._w.add_annotation(where, 0, label="retune",
                                       comment=f"centre frequency {self._center} -> {info.center_freq} Hz")
                self._center = info.center_freq
        self._w.write(chunk.samples)
        self._next = chunk.end_sample

    def recording_index(self, stream_index: int) -> int | None:
        """Sample of the recording holding stream sample ``stream_index`` (None if before it)."""
        for first, rec in reversed(self._segments):
            if stream_index >= first:
                return rec + (stream_index - first)
        return None

    def _annotate(self, event) -> None:
        """One annotation for a decoded (or rejected) burst, at its place in the recording."""
        record = event.to_record() if hasattr(event, "to_record") else event
        if not isinstance(record, dict) or "sample_start" not in record or "format" not in record:
            raise FlowgraphError("sigmf_record_sink: events must be bursts (records with format and "
                                 f"sample_start), got {type(event).__name__}")
        if self._w is None:
            return
        start = self.recording_index(int(record["sample_start"]))
        if start is None:
            return
        rate = self._w.sample_rate
        if record.get("decoded", True):
            duration = float(record["duration_s"])
            label = f"{record['format']} {record.get('platform_id')}"
            comment = f"message=0x{record.get('message_hex')} C/N0={record.get('cn0_dbhz')} dB-Hz"
            extra = {k: record[k] for k in ("platform_id", "message_hex", "offset_hz", "drift_hz_s",
                                            "cn0_dbhz", "time_utc") if record.get(k) is not None}
        else:
            duration = float(record.get("duration_s") or spec.A2_CARRIER_DURATION_S)
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
        self._w.add_annotation(start, int(round(duration * rate)), label=label, comment=comment,
                               freq_lower_edge=lower, freq_upper_edge=upper, extra=extra)
        self.annotations += 1

    def close(self) -> None:
        if self._w is not None:
            self._w.close()

    def state(self) -> dict:
        return {"samples_written": 0 if self._w is None else self._w.samples_written,
                "gaps": self.gaps, "lost_samples": self.lost_samples, "annotations": self.annotations}
