"""Open a capture file of any supported kind and stream it as :class:`SampleChunk` blocks.

Kinds: SigMF recordings (``x.sigmf-meta`` + ``x.sigmf-data``), uncompressed SigMF archives
(``x.sigmf``), raw interleaved IQ files named by their format (``.cf32 .cfile .fc32 .cs16 .cs8
.cu8``) and two-channel IQ WAV. SigMF metadata is parsed and schema-validated by the ``sigmf``
package; the samples are always read here, a chunk at a time, so a capture of any length costs
one chunk of memory.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import tarfile
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np

from argosneo.errors import CaptureError
from argosneo.io.chunk import SampleChunk, StreamInfo
from argosneo.io.datatypes import (
    EXTENSIONS,
    READ_DATATYPES,
    bytes_per_sample,
    datatype_from_extension,
    decode,
    is_float_datatype,
    normalize_datatype,
)
from argosneo.io.wav import center_freq_from_name, parse_wav, start_time_from_name


class CaptureWarning(UserWarning):
    """A capture is readable but something about it is off (tail bytes, truncated header...)."""


_META_EXT = ".sigmf-meta"
_DATA_EXT = ".sigmf-data"
_ARCHIVE_EXT = ".sigmf"
_COMPRESSED_ARCHIVE_EXTS = (".sigmf.gz", ".sigmf.xz", ".sigmf.zip", ".sigmf.tar.gz")


def _warn(msg: str) -> None:
    warnings.warn(msg, CaptureWarning, stacklevel=3)


def parse_datetime(value) -> _dt.datetime:
    """Parse an ISO 8601 time (SigMF ``core:datetime``) into an aware UTC datetime.

    Accepts a ``Z`` or ``+hh:mm`` suffix (no suffix means UTC) and any number of fractional
    digits (beyond microseconds they are dropped).

    Raises
    ------
    ValueError
        If the text is not an ISO 8601 date-time.
    """
    if isinstance(value, _dt.datetime):
        when = value
    else:
        text = str(value).strip()
        m = re.fullmatch(
            r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|z|[+-]\d{2}:?\d{2})?", text
        )
        if not m:
            raise ValueError(f"not an ISO 8601 date-time: {text!r}")
        date, clock, frac, zone = m.groups()
        iso = f"{date}T{clock}"
        if frac:
            iso += "." + (frac + "000000")[:6]
        if zone and zone not in ("Z", "z"):
            iso += zone if ":" in zone else zone[:3] + ":" + zone[3:]
        when = _dt.datetime.fromisoformat(iso)
    if when.tzinfo is None:
        return when.replace(tzinfo=_dt.timezone.utc)
    return when.astimezone(_dt.timezone.utc)


def _positive_rate(value, what: str) -> float:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise CaptureError(f"{what} must be a number, got {value!r}") from None
    if not (math.isfinite(rate) and rate > 0):
        raise CaptureError(f"{what} must be positive, got {value!r}")
    return rate


def _frequency(value, what: str) -> float:
    try:
        freq = float(value)
    except (TypeError, ValueError):
        raise CaptureError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(freq):
        raise CaptureError(f"{what} must be finite, got {value!r}")
    return freq


def _file_size(path: Path) -> int:
    try:
        if path.is_dir():
            raise CaptureError(f"{path}: is a directory, not a capture file")
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except FileNotFoundError:
        raise CaptureError(f"{path}: no such file") from None
    except PermissionError:
        raise CaptureError(f"{path}: permission denied") from None
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return size


def _size_mismatch_message(where, n_bytes: int, datatype: str) -> str:
    bps = bytes_per_sample(datatype)
    fits = [d for d in READ_DATATYPES if n_bytes % bytes_per_sample(d) == 0 and d != datatype]
    msg = f"{where}: {n_bytes} bytes of sample data is not a whole number of {datatype} samples ({bps} bytes each)"
    if fits:
        msg += f"; the datatype looks wrong (the size fits {', '.join(fits)})"
    return msg


class CaptureReader:
    """Sample-exact, chunked access to one capture. Create with :func:`open_capture`.

    Attributes
    ----------
    info : StreamInfo
        Rate, tuning, start time, length and datatype of the capture.
    annotations : list of dict
        SigMF annotation objects (empty for raw and WAV files).
    kind : str
        ``"sigmf"``, ``"sigmf-archive"``, ``"raw"`` or ``"wav"``.
    path : pathlib.Path
        The path the capture was opened by.
    files : list of pathlib.Path
        The files that make up the capture (metadata first for SigMF).
    data_path : pathlib.Path
        File holding the samples.
    data_offset : int
        Byte offset of sample 0 in ``data_path``.
    metadata : dict or None
        The SigMF metadata as parsed (None for raw and WAV).
    notes : list of str
        Non-fatal problems found while opening (each was also issued as a ``CaptureWarning``).
    """

    def __init__(self, *, path, kind, files, data_path, data_offset, info, annotations=(), metadata=None,
                 notes=()):
        self.path = Path(path)
        self.kind = kind
        self.files = [Path(f) for f in files]
        self.data_path = Path(data_path)
        self.data_offset = int(data_offset)
        self.info: StreamInfo = info
        self.annotations: list[dict] = [dict(a) for a in annotations]
        self.metadata = metadata
        self.notes = list(notes)
        self._bps = bytes_per_sample(info.datatype)
        self._float = is_float_datatype(info.datatype)
        self._fp = open(self.data_path, "rb")

    # -- properties ----------------------------------------------------------------------------

    @property
    def total_samples(self) -> int:
        return int(self.info.total_samples)

    @property
    def duration(self) -> float:
        """Length of the capture in seconds."""
        return self.total_samples / self.info.sample_rate

    def __len__(self) -> int:
        return self.total_samples

    # -- reading -------------------------------------------------------------------------------

    def _read_from(self, fp, start: int, count: int) -> np.ndarray:
        nbytes = count * self._bps
        fp.seek(self.data_offset + start * self._bps)
        if self.info.datatype == "cf32_le" and np.little_endian:
            # read straight into the result: no intermediate copy for the native format
            out = np.empty(count, dtype=np.complex64)
            got = fp.readinto(memoryview(out).cast("B"))
        else:
            raw = fp.read(nbytes)
            got = len(raw)
            out = decode(raw, self.info.datatype) if got == nbytes else None
        if got != nbytes:
            raise CaptureError(
                f"{self.data_path}: file ended early (got {got // self._bps} of {count} samples at sample "
                f"{start}); was it truncated while open?"
            )
        if self._float:
            self._check_finite(out, start)
        return out

    def _check_finite(self, samples: np.ndarray, first_sample: int) -> None:
        finite = np.isfinite(samples.view(np.float32))
        if not finite.all():
            bad = first_sample + int(np.flatnonzero(~finite)[0]) // 2
            raise CaptureError(
                f"{self.data_path}: sample {bad} is NaN or Inf; the capture is corrupt or its datatype is wrong"
            )

    def _check_range(self, start: int, stop: int | None) -> tuple[int, int]:
        total = self.total_samples
        start = int(start)
        stop = total if stop is None else min(int(stop), total)
        if start < 0 or start > total:
            raise CaptureError(f"{self.path}: start sample {start} is outside the capture (0..{total})")
        if stop < start:
            raise CaptureError(f"{self.path}: stop sample {stop} is before start sample {start}")
        return start, stop

    def read(self, start: int, count: int) -> np.ndarray:
        """Read ``count`` samples from sample ``start`` (fewer if the capture ends first).

        Parameters
        ----------
        start : int
            First sample index, 0 <= start <= total_samples.
        count : int
            Number of samples wanted (>= 0).

        Returns
        -------
        numpy.ndarray
            complex64 samples at unit full scale.

        Raises
        ------
        CaptureError
            Out-of-range start, a closed reader, or NaN/Inf samples in a float capture.
        """
        if self._fp is None:
            raise CaptureError(f"{self.path}: reader is closed")
        if int(count) < 0:
            raise CaptureError(f"{self.path}: cannot read a negative number of samples ({count})")
        start, stop = self._check_range(start, int(start) + int(count))
        return self._read_from(self._fp, start, stop - start)

    def chunks(self, chunk_size: int = 65536, start: int = 0, stop: int | None = None) -> Iterator[SampleChunk]:
        """Stream samples ``start`` (inclusive) to ``stop`` (exclusive, default the end).

        Parameters
        ----------
        chunk_size : int
            Samples per chunk; the last chunk may be shorter.
        start, stop : int
            Sample range; ``stop`` is clipped to the end of the capture.

        Yields
        ------
        SampleChunk
            Fresh complex64 arrays (safe to keep) with exact ``first_sample`` indices.

        Raises
        ------
        CaptureError
            Bad range or chunk size, or NaN/Inf samples (naming the first bad sample).
        """
        if self._fp is None:
            raise CaptureError(f"{self.path}: reader is closed")
        chunk_size = int(chunk_size)
        if chunk_size <= 0:
            raise CaptureError(f"chunk size must be positive, got {chunk_size}")
        start, stop = self._check_range(start, stop)
        # its own handle, so several iterators (and read()) can be used at once
        with open(self.data_path, "rb") as fp:
            pos = start
            while pos < stop:
                n = min(chunk_size, stop - pos)
                yield SampleChunk(samples=self._read_from(fp, pos, n), first_sample=pos, info=self.info)
                pos += n

    def __iter__(self) -> Iterator[SampleChunk]:
        return self.chunks()

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the data file. Safe to call twice."""
        if self._fp is not None:
            self._fp.close()
            self._fp = None

    def __enter__(self) -> "CaptureReader":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def __del__(self):
        fp = getattr(self, "_fp", None)
        if fp is not None:
            fp.close()

    def __repr__(self) -> str:
        i = self.info
        return (f"<CaptureReader {self.kind} {str(self.path)!r} {i.datatype} {i.sample_rate:g} S/s "
                f"{i.total_samples} samples>")


# -- SigMF ---------------------------------------------------------------------------------------


def _sigmf_metadata(meta_text, where) -> dict:
    """Parse and schema-validate SigMF metadata with the ``sigmf`` package."""
    import jsonschema
    from sigmf.error import SigMFError
    from sigmf.sigmffile import SigMFFile

    try:
        metadata = json.loads(meta_text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CaptureError(f"{where}: SigMF metadata is not valid JSON ({exc})") from None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("global"), dict):
        raise CaptureError(f"{where}: not SigMF metadata (no \"global\" object)")
    metadata.setdefault("captures", [])
    metadata.setdefault("annotations", [])
    try:
        sf = SigMFFile(metadata=metadata)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # undeclared extensions: not our problem
            sf.validate()
    except jsonschema.ValidationError as exc:
        path = "/".join(str(p) for p in exc.absolute_path)
        raise CaptureError(f"{where}: invalid SigMF metadata{' at ' + path if path else ''}: {exc.message}") from None
    except SigMFError as exc:
        raise CaptureError(f"{where}: invalid SigMF metadata: {exc}") from None
    return metadata


def _sigmf_stream(metadata, where, n_bytes, *, samp_rate, center_freq, datatype, start_time):
    """StreamInfo fields and byte layout from validated SigMF metadata; checks the data size."""
    glob = metadata["global"]
    captures = metadata.get("captures") or []
    channels = glob.get("core:num_channels", 1)
    if channels != 1:
        raise CaptureError(f"{where}: {channels}-channel recordings are not supported (core:num_channels must be 1)")
    if datatype is not None:
        dt = normalize_datatype(datatype)
    else:
        declared = glob.get("core:datatype")
        try:
            dt = normalize_datatype(declared)
        except CaptureError:
            kind = "real-valued " if str(declared).lower().startswith("r") else ""
            raise CaptureError(
                f"{where}: core:datatype {declared!r} ({kind}samples) is not supported "
                f"(supported: {', '.join(READ_DATATYPES)})"
            ) from None
    if samp_rate is not None:
        rate = _positive_rate(samp_rate, "sample rate")
    elif glob.get("core:sample_rate") is None:
        raise CaptureError(f"{where}: the metadata has no core:sample_rate; give the sample rate (--samp-rate)")
    else:
        rate = _positive_rate(glob["core:sample_rate"], f"{where}: core:sample_rate")
    first = captures[0] if captures else {}
    if center_freq is not None:
        freq = _frequency(center_freq, "centre frequency")
    elif first.get("core:frequency") is not None:
        freq = _frequency(first["core:frequency"], f"{where}: core:frequency")
    else:
        freq = None
    notes = []
    when = None
    if start_time is not None:
        when = _start_time_arg(start_time)
    elif first.get("core:datetime"):
        try:
            when = parse_datetime(first["core:datetime"])
        except ValueError:
            notes.append(f"{where}: ignoring unreadable core:datetime {first['core:datetime']!r}")
    if any(c.get("core:header_bytes", 0) for c in captures[1:]):
        raise CaptureError(f"{where}: header bytes inside later capture segments are not supported")
    header = int(first.get("core:header_bytes", 0) or 0)
    trailing = int(glob.get("core:trailing_bytes", 0) or 0)
    sample_bytes = n_bytes - header - trailing
    if sample_bytes < 0:
        raise CaptureError(
            f"{where}: the data is {n_bytes} bytes but the metadata skips {header} header and {trailing} trailing bytes"
        )
    if sample_bytes % bytes_per_sample(dt):
        raise CaptureError(_size_mismatch_message(where, sample_bytes, dt))
    total = sample_bytes // bytes_per_sample(dt)
    if len({c.get("core:frequency") for c in captures}) > 1:
        notes.append(f"{where}: {len(captures)} capture segments with different frequencies; using the first")
    info = StreamInfo(
        sample_rate=rate, center_freq=freq, start_time=when, total_samples=total, datatype=dt,
        description=str(glob.get("core:description", "") or ""),
    )
    return info, header, notes


def _sigmf_pair(path: Path, **kw) -> CaptureReader:
    from sigmf.error import SigMFError
    from sigmf.sigmffile import get_dataset_filename_from_metadata

    base = path.with_suffix("") if path.suffix.lower() in (_META_EXT, _DATA_EXT) else path
    meta_path = base.with_name(base.name + _META_EXT)
    _file_size(meta_path)
    try:
        meta_text = meta_path.read_bytes()
    except OSError as exc:
        raise CaptureError(f"{meta_path}: cannot read: {exc.strerror or exc}") from None
    metadata = _sigmf_metadata(meta_text, meta_path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data_path = get_dataset_filename_from_metadata(meta_path, metadata)
    except SigMFError as exc:
        raise CaptureError(f"{meta_path}: {exc}") from None
    if data_path is None:
        raise CaptureError(f"{meta_path}: data file {base.name + _DATA_EXT} is missing")
    data_path = Path(data_path)
    n_bytes = _file_size(data_path)
    info, header, notes = _sigmf_stream(metadata, data_path, n_bytes, **kw)
    for n in notes:
        _warn(n)
    return CaptureReader(
        path=path, kind="sigmf", files=[meta_path, data_path], data_path=data_path, data_offset=header,
        info=info, annotations=metadata.get("annotations", []), metadata=metadata, notes=notes,
    )


def _sigmf_archive(path: Path, **kw) -> CaptureReader:
    _file_size(path)
    try:
        with tarfile.open(path, "r:") as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            metas = [m for m in members if m.name.endswith(_META_EXT)]
            if len(metas) != 1:
                raise CaptureError(
                    f"{path}: a SigMF archive must hold exactly one {_META_EXT} file, found {len(metas)}"
                )
            with tar.extractfile(metas[0]) as fp:
                meta_text = fp.read()
    except tarfile.ReadError as exc:
        raise CaptureError(f"{path}: not a readable (uncompressed tar) SigMF archive ({exc})") from None
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read: {exc.strerror or exc}") from None
    where = f"{path}:{metas[0].name}"
    metadata = _sigmf_metadata(meta_text, where)
    stem = metas[0].name[: -len(_META_EXT)]
    dataset = metadata["global"].get("core:dataset")
    wanted = [stem + _DATA_EXT] + ([dataset] if dataset else [])
    data = next((m for m in members if m.name in wanted), None)
    if data is None:
        data = next((m for m in members if m.name.endswith(_DATA_EXT)), None)
    if data is None:
        raise CaptureError(f"{path}: the archive has no {_DATA_EXT} file")
    info, header, notes = _sigmf_stream(metadata, f"{path}:{data.name}", data.size, **kw)
    for n in notes:
        _warn(n)
    return CaptureReader(
        path=path, kind="sigmf-archive", files=[path], data_path=path, data_offset=data.offset_data + header,
        info=info, annotations=metadata.get("annotations", []), metadata=metadata, notes=notes,
    )


# -- raw and WAV ---------------------------------------------------------------------------------


def _start_time_arg(start_time) -> _dt.datetime:
    try:
        return parse_datetime(start_time)
    except (ValueError, TypeError):
        raise CaptureError(f"start time must be an ISO 8601 date-time, got {start_time!r}") from None


def _raw(path: Path, *, samp_rate, center_freq, datatype, start_time) -> CaptureReader:
    n_bytes = _file_size(path)
    if datatype is not None:
        dt = normalize_datatype(datatype)
    else:
        dt = datatype_from_extension(path)
        if dt is None:
            raise CaptureError(
                f"{path}: unknown capture type {path.suffix or '(no extension)'!r}; expected .sigmf-meta, "
                f".sigmf, .wav or a raw IQ file ({' '.join(EXTENSIONS)}), or give --datatype"
            )
    if samp_rate is None:
        raise CaptureError(f"{path}: a raw IQ file does not record its sample rate; give --samp-rate")
    rate = _positive_rate(samp_rate, "sample rate")
    if center_freq is not None:
        freq = _frequency(center_freq, "centre frequency")
    else:
        freq = center_freq_from_name(path)
    bps = bytes_per_sample(dt)
    total, tail = divmod(n_bytes, bps)
    notes = []
    if tail:
        notes.append(
            f"{path}: {n_bytes} bytes is not a whole number of {dt} samples ({bps} bytes each); "
            f"ignoring the last {tail} byte(s)"
        )
        _warn(notes[-1])
    info = StreamInfo(
        sample_rate=rate, center_freq=freq,
        start_time=_start_time_arg(start_time) if start_time is not None else None,
        total_samples=total, datatype=dt,
    )
    return CaptureReader(path=path, kind="raw", files=[path], data_path=path, data_offset=0, info=info, notes=notes)


def _wav(path: Path, *, samp_rate, center_freq, datatype, start_time) -> CaptureReader:
    layout = parse_wav(path)
    if datatype is not None and normalize_datatype(datatype) != layout.datatype:
        raise CaptureError(
            f"{path}: the WAV header says the samples are {layout.datatype}; --datatype {datatype} does not apply"
        )
    rate = _positive_rate(samp_rate, "sample rate") if samp_rate is not None else layout.sample_rate
    if center_freq is not None:
        freq = _frequency(center_freq, "centre frequency")
    elif layout.center_freq is not None:
        freq = layout.center_freq
    else:
        freq = center_freq_from_name(path)
    if start_time is not None:
        when = _start_time_arg(start_time)
    else:
        when = start_time_from_name(path)
    notes = [f"{path}: {n}" for n in layout.notes]
    bps = bytes_per_sample(layout.datatype)
    total, tail = divmod(layout.data_bytes, bps)
    if tail:
        notes.append(f"{path}: WAV data ends with {tail} byte(s) of a partial sample; ignoring them")
    for n in notes:
        _warn(n)
    info = StreamInfo(sample_rate=rate, center_freq=freq, start_time=when, total_samples=total,
                      datatype=layout.datatype)
    return CaptureReader(path=path, kind="wav", files=[path], data_path=path, data_offset=layout.data_offset,
                         info=info, notes=notes)


# -- entry point ---------------------------------------------------------------------------------


def open_capture(
    path,
    *,
    samp_rate: float | None = None,
    center_freq: float | None = None,
    datatype: str | None = None,
    start_time=None,
) -> CaptureReader:
    """Open a capture for streaming.

    Parameters
    ----------
    path : str or path-like
        ``x.sigmf-meta``, ``x.sigmf-data`` or the base name ``x`` of a SigMF recording; an
        uncompressed ``x.sigmf`` archive; a raw IQ file (``.cf32 .cfile .fc32 .cs16 .cs8 .cu8``,
        or any name with ``datatype``); or a 2-channel IQ ``.wav``.
    samp_rate : float, optional
        Sample rate (S/s). Required for raw files; overrides the file's own value otherwise.
    center_freq : float, optional
        Centre frequency (Hz); overrides the metadata, WAV ``auxi`` chunk or a frequency in the
        file name (``_401650000Hz``).
    datatype : str, optional
        Sample format for raw files (overrides the extension) or SigMF recordings whose
        metadata is wrong. For WAV it must match the header.
    start_time : datetime.datetime or str, optional
        UTC time of sample 0 (ISO 8601 text accepted); overrides ``core:datetime``.

    Returns
    -------
    CaptureReader
        Use as a context manager or call ``close()``.

    Raises
    ------
    CaptureError
        One line naming the problem: missing/unreadable file, no sample rate, unsupported or
        inconsistent datatype, invalid metadata.

    Warns
    -----
    CaptureWarning
        Readable but odd captures (raw file with a partial sample at the end, truncated WAV).
    """
    p = Path(os.fspath(path))
    name = p.name.lower()
    kw = dict(samp_rate=samp_rate, center_freq=center_freq, datatype=datatype, start_time=start_time)
    if name.endswith(_COMPRESSED_ARCHIVE_EXTS):
        raise CaptureError(f"{p}: compressed SigMF archives cannot be streamed; decompress it first")
    if name.endswith(_ARCHIVE_EXT):
        return _sigmf_archive(p, **kw)
    if name.endswith((_META_EXT, _DATA_EXT)):
        return _sigmf_pair(p, **kw)
    if name.endswith(".wav"):
        return _wav(p, **kw)
    if not p.exists():
        # a SigMF base name: "x" for x.sigmf-meta/x.sigmf-data or x.sigmf
        meta = p.with_name(p.name + _META_EXT)
        if meta.exists():
            return _sigmf_pair(p, **kw)
        archive = p.with_name(p.name + _ARCHIVE_EXT)
        if archive.exists():
            return _sigmf_archive(archive, **kw)
        raise CaptureError(f"{p}: no such file")
    return _raw(p, **kw)
