"""Write SigMF recordings: streamed ``.sigmf-data`` plus ``.sigmf-meta`` produced by ``sigmf``."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from argosneo import __version__
from argosneo.errors import CaptureError
from argosneo.io.datatypes import WRITE_DATATYPES, encode, normalize_datatype

#: Namespace of the non-core metadata keys argosneo writes (declared in ``core:extensions``).
NAMESPACE = "argosneo"
#: Value of ``core:recorder`` (global) and ``core:generator`` (annotations) written by argosneo.
RECORDER = "argosneo"

_META_EXT = ".sigmf-meta"
_DATA_EXT = ".sigmf-data"


def sigmf_datetime(when: _dt.datetime) -> str:
    """Format a datetime as SigMF ``core:datetime`` (ISO 8601, UTC, ``Z`` suffix, microseconds).

    Naive datetimes are taken to be UTC already.
    """
    if when.tzinfo is not None:
        when = when.astimezone(_dt.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def split_sigmf_path(path: str | os.PathLike) -> Path:
    """Base path of a SigMF recording given the base, the ``.sigmf-meta`` or the ``.sigmf-data``."""
    p = Path(path)
    if p.suffix.lower() in (_META_EXT, _DATA_EXT):
        return p.with_suffix("")
    return p


def _plain(value, key: str = "value"):
    """JSON-ready copy of a metadata value (numpy scalars and arrays become numbers and lists).

    Raises CaptureError for NaN/Inf: JSON cannot hold them, and a strict parser would then reject
    the whole metadata file.
    """
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise CaptureError(f"metadata field {key} is {value}; SigMF (JSON) cannot store NaN or Inf")
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, key) for v in value]
    if isinstance(value, _dt.datetime):
        return sigmf_datetime(value)
    return value


def _namespaced(key: str) -> str:
    return key if ":" in key else f"{NAMESPACE}:{key}"


def make_annotation(
    sample_start: int,
    sample_count: int,
    *,
    label: str | None = None,
    comment: str | None = None,
    freq_lower_edge: float | None = None,
    freq_upper_edge: float | None = None,
    extra: dict | None = None,
) -> dict:
    """Build one SigMF annotation object.

    Parameters
    ----------
    sample_start, sample_count : int
        First sample and number of samples the annotation covers.
    label, comment : str, optional
        ``core:label`` (short) and ``core:comment`` (free text).
    freq_lower_edge, freq_upper_edge : float, optional
        Absolute frequencies in Hz (SigMF convention), lower <= upper.
    extra : dict, optional
        More fields; keys without a namespace get ``argosneo:``. Values must be JSON-able
        (numpy scalars and arrays are converted).

    Returns
    -------
    dict
        The annotation, with ``core:generator`` set to ``argosneo``.

    Raises
    ------
    CaptureError
        If the sample range or frequency edges are invalid.
    """
    try:
        start, count = int(sample_start), int(sample_count)
    except (TypeError, ValueError):
        raise CaptureError(f"annotation sample range must be integers, got {sample_start!r}, {sample_count!r}") from None
    if start < 0 or count < 0:
        raise CaptureError(f"annotation sample range must be non-negative, got start {start} count {count}")
    ann = {"core:sample_start": start, "core:sample_count": count, "core:generator": RECORDER}
    if label is not None:
        ann["core:label"] = str(label)
    if comment is not None:
        ann["core:comment"] = str(comment)
    for key, val in (("core:freq_lower_edge", freq_lower_edge), ("core:freq_upper_edge", freq_upper_edge)):
        if val is not None:
            val = float(val)
            if not math.isfinite(val):
                raise CaptureError(f"annotation {key} must be finite, got {val}")
            ann[key] = val
    if (freq_lower_edge is not None and freq_upper_edge is not None
            and ann["core:freq_lower_edge"] > ann["core:freq_upper_edge"]):
        raise CaptureError(
            f"annotation frequency edges are reversed ({freq_lower_edge} Hz > {freq_upper_edge} Hz)"
        )
    for key, val in (extra or {}).items():
        ann[_namespaced(str(key))] = _plain(val, _namespaced(str(key)))
    return ann


def _namespaces_used(metadata: dict) -> set[str]:
    used = set()
    for section in (metadata.get("global", {}), *metadata.get("captures", []), *metadata.get("annotations", [])):
        for key in section:
            ns = key.split(":", 1)[0] if ":" in key else None
            if ns and ns != "core":
                used.add(ns)
    return used


def _declare_extensions(metadata: dict) -> None:
    """Declare every non-core namespace in ``core:extensions`` (SigMF requires it)."""
    glob = metadata["global"]
    declared = {e.get("name") for e in glob.get("core:extensions", [])}
    for ns in sorted(_namespaces_used(metadata) - declared):
        version = __version__ if ns == NAMESPACE else "0.0.0"
        glob.setdefault("core:extensions", []).append({"name": ns, "version": version, "optional": True})


def _sigmf_file(metadata: dict):
    """A validated ``sigmf.SigMFFile`` for ``metadata``; schema errors become CaptureError."""
    import jsonschema
    from sigmf.error import SigMFError
    from sigmf.sigmffile import SigMFFile

    try:
        sf = SigMFFile(metadata=metadata)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            sf.validate()
    except (jsonschema.ValidationError, SigMFError) as exc:
        msg = getattr(exc, "message", None) or str(exc).splitlines()[0]
        raise CaptureError(f"SigMF metadata is invalid: {msg}") from None
    return sf


def _current_umask() -> int:
    """The process umask, read without changing it where Linux says it (``os.umask`` can only
    be read by setting it, which would briefly affect files other threads create)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fp:
            for line in fp:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_meta_atomically(sf, meta_path: Path) -> None:
    """Dump metadata next to its destination and rename it into place, so a crash never leaves a
    half-written ``.sigmf-meta`` (the data file is the expensive part to lose)."""
    fd, tmp = tempfile.mkstemp(prefix=meta_path.name + ".", suffix=".tmp", dir=meta_path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fp:
            sf.dump(fp, pretty=True)
            fp.write("\n")
        # mkstemp makes the file private (0600); the metadata should be as readable as the data
        # file next to it, i.e. what the umask gives a new file
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, meta_path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class SigMFWriter:
    """Stream complex samples into a SigMF recording.

    ``x.sigmf-data`` is written as samples arrive; ``x.sigmf-meta`` is written (through the
    ``sigmf`` package, schema-validated) by :meth:`close`, including ``core:sha512`` of the data
    computed on the fly. Existing files of the same name are overwritten.

    Parameters
    ----------
    path_base : str or path-like
        Recording base name (``x``), or ``x.sigmf-meta`` / ``x.sigmf-data``.
    sample_rate : float
        Samples per second (> 0).
    center_freq : float, optional
        Centre frequency (Hz) written as the capture's ``core:frequency``.
    datatype : str
        One of ``cf32_le``, ``ci16_le``, ``ci8``, ``cu8``. Integer formats are clipped at full
        scale.
    start_time : datetime.datetime, optional
        UTC time of sample 0 (naive means UTC); default: now.
    description : str
        ``core:description``.
    author : str, optional
        ``core:author``.
    extra_global : dict, optional
        More global fields; keys without a namespace get ``argosneo:``.

    Raises
    ------
    CaptureError
        Bad parameters, or the data file cannot be created.

    Examples
    --------
    >>> with SigMFWriter("rec", sample_rate=48e3, center_freq=401.65e6) as w:  # doctest: +SKIP
    ...     w.write(samples)
    ...     w.add_annotation(1000, 500, label="A2")
    """

    def __init__(
        self,
        path_base,
        *,
        sample_rate: float,
        center_freq: float | None = None,
        datatype: str = "cf32_le",
        start_time: _dt.datetime | None = None,
        description: str = "",
        author: str | None = None,
        extra_global: dict | None = None,
    ):
        base = split_sigmf_path(path_base)
        if base.name.lower().endswith(".sigmf"):
            raise CaptureError(f"{base}: writing .sigmf archives is not supported; give a base name")
        try:
            rate = float(sample_rate)
        except (TypeError, ValueError):
            raise CaptureError(f"sample rate must be a number, got {sample_rate!r}") from None
        if not (math.isfinite(rate) and rate > 0):
            raise CaptureError(f"sample rate must be positive, got {sample_rate!r}")
        if center_freq is not None:
            center_freq = float(center_freq)
            if not math.isfinite(center_freq):
                raise CaptureError(f"centre frequency must be finite, got {center_freq!r}")
        dt = normalize_datatype(datatype)
        if dt not in WRITE_DATATYPES:
            raise CaptureError(f"cannot write sample datatype {dt!r} (supported: {', '.join(WRITE_DATATYPES)})")
        if start_time is None:
            start_time = _dt.datetime.now(_dt.timezone.utc)
        elif not isinstance(start_time, _dt.datetime):
            raise CaptureError(f"start time must be a datetime, got {start_time!r}")

        self.base = base
        self.meta_path = base.with_name(base.name + _META_EXT)
        self.data_path = base.with_name(base.name + _DATA_EXT)
        self.sample_rate = rate
        self.center_freq = center_freq
        self.datatype = dt
        self.start_time = (start_time.astimezone(_dt.timezone.utc) if start_time.tzinfo
                           else start_time.replace(tzinfo=_dt.timezone.utc))
        self.description = str(description or "")
        self.author = author
        self.extra_global = {_namespaced(str(k)): _plain(v, _namespaced(str(k)))
                             for k, v in (extra_global or {}).items()}
        self._annotations: list[dict] = []
        self._count = 0
        self._hash = hashlib.sha512()
        self._closed = False
        try:
            self._fp = open(self.data_path, "wb")
        except OSError as exc:
            raise CaptureError(f"cannot create {self.data_path}: {exc.strerror or exc}") from None

    @property
    def samples_written(self) -> int:
        """Number of samples written so far."""
        return self._count

    def write(self, samples) -> int:
        """Append samples (complex, unit full scale) to the data file.

        Parameters
        ----------
        samples : array_like of complex
            One-dimensional block of samples.

        Returns
        -------
        int
            Total samples written so far.

        Raises
        ------
        CaptureError
            If the writer is closed or a sample is NaN/Inf.
        """
        if self._closed:
            raise CaptureError(f"{self.data_path}: write after close")
        x = np.ascontiguousarray(samples, dtype=np.complex64).reshape(-1)
        if x.size == 0:
            return self._count
        finite = np.isfinite(x.view(np.float32))
        if not finite.all():
            bad = int(np.flatnonzero(~finite)[0]) // 2
            raise CaptureError(
                f"{self.data_path}: refusing to write non-finite sample at index {self._count + bad}"
            )
        data = encode(x, self.datatype)
        try:
            self._fp.write(data.data)
        except OSError as exc:
            raise CaptureError(f"cannot write {self.data_path}: {exc.strerror or exc}") from None
        self._hash.update(data.data)
        self._count += x.size
        return self._count

    def add_annotation(
        self,
        sample_start: int,
        sample_count: int,
        *,
        label: str | None = None,
        comment: str | None = None,
        freq_lower_edge: float | None = None,
        freq_upper_edge: float | None = None,
        extra: dict | None = None,
    ) -> dict:
        """Record an annotation, written to the metadata on :meth:`close`.

        See :func:`make_annotation` for the parameters. Annotations may be added in any order
        (they are sorted by start when written) and may reach past the samples written so far.

        Returns
        -------
        dict
            The SigMF annotation object that will be written.
        """
        if self._closed:
            raise CaptureError(f"{self.meta_path}: add_annotation after close")
        ann = make_annotation(
            sample_start, sample_count, label=label, comment=comment,
            freq_lower_edge=freq_lower_edge, freq_upper_edge=freq_upper_edge, extra=extra,
        )
        self._annotations.append(ann)
        return ann

    def metadata(self) -> dict:
        """The metadata (as a dict) that :meth:`close` would write now."""
        glob = {
            "core:datatype": self.datatype,
            "core:sample_rate": self.sample_rate,
            "core:description": self.description,
            "core:recorder": RECORDER,
            "core:sha512": self._hash.hexdigest(),
        }
        if self.author is not None:
            glob["core:author"] = str(self.author)
        glob.update(self.extra_global)
        capture = {"core:sample_start": 0, "core:datetime": sigmf_datetime(self.start_time)}
        if self.center_freq is not None:
            capture["core:frequency"] = self.center_freq
        annotations = sorted(self._annotations, key=lambda a: (a["core:sample_start"], a["core:sample_count"]))
        meta = {"global": glob, "captures": [capture], "annotations": annotations}
        _declare_extensions(meta)
        return meta

    def close(self) -> None:
        """Finish the data file and write the validated ``.sigmf-meta``. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._fp.close()
        except OSError as exc:
            raise CaptureError(f"cannot write {self.data_path}: {exc.strerror or exc}") from None
        # core:version is filled in by sigmf with the specification version it follows
        meta = self.metadata()
        sf = _sigmf_file(meta)
        try:
            _write_meta_atomically(sf, self.meta_path)
        except OSError as exc:
            raise CaptureError(f"cannot write {self.meta_path}: {exc.strerror or exc}") from None

    def __enter__(self) -> "SigMFWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # write the metadata even when the block failed, so what was recorded stays readable
        self.close()

    def __del__(self):
        fp = getattr(self, "_fp", None)
        if fp is not None and not fp.closed:
            fp.close()


def write_annotations(meta_path, annotations, *, replace: bool = False) -> int:
    """Add annotations to an existing recording's ``.sigmf-meta``; the data file is not touched.

    Parameters
    ----------
    meta_path : str or path-like
        The ``.sigmf-meta`` file, the ``.sigmf-data`` file or the base name.
    annotations : iterable of dict
        SigMF annotation objects (e.g. from :func:`make_annotation`); each needs
        ``core:sample_start``.
    replace : bool
        Drop the annotations argosneo wrote before (``core:generator`` == ``argosneo``) first,
        so re-annotating a capture does not duplicate them.

    Returns
    -------
    int
        Number of annotations in the rewritten metadata.

    Raises
    ------
    CaptureError
        If the metadata cannot be read, is invalid, or cannot be rewritten.
    """
    path = Path(meta_path)
    if path.name.lower().endswith(".sigmf"):
        raise CaptureError(f"{path}: cannot annotate a .sigmf archive in place; extract it first")
    meta_file = split_sigmf_path(path)
    meta_file = meta_file.with_name(meta_file.name + _META_EXT)
    try:
        with open(meta_file, "r", encoding="utf-8") as fp:
            meta = json.load(fp)
    except FileNotFoundError:
        raise CaptureError(f"{meta_file}: no such file") from None
    except OSError as exc:
        raise CaptureError(f"{meta_file}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CaptureError(f"{meta_file}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("global"), dict):
        raise CaptureError(f"{meta_file}: not SigMF metadata (no global object)")
    existing = meta.get("annotations") or []
    if replace:
        existing = [a for a in existing if a.get("core:generator") != RECORDER]
    new = []
    for ann in annotations:
        ann = _plain(dict(ann), "annotation")
        if "core:sample_start" not in ann:
            raise CaptureError(f"annotation without core:sample_start: {ann!r}")
        new.append(ann)
    meta["annotations"] = sorted(existing + new, key=lambda a: a["core:sample_start"])
    meta.setdefault("captures", [])
    _declare_extensions(meta)
    sf = _sigmf_file(meta)
    try:
        _write_meta_atomically(sf, meta_file)
    except OSError as exc:
        raise CaptureError(f"cannot write {meta_file}: {exc.strerror or exc}") from None
    return len(meta["annotations"])
