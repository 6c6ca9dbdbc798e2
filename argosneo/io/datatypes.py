"""On-disk complex sample formats and their conversion to and from complex64 full-scale samples.

Names follow SigMF (``cf32_le``, ``ci16_le``, ``ci8``, ``cu8``). Integer formats are scaled so
that full scale maps to about ±1.0: int16 by 1/32768, int8 by 1/128, and RTL-SDR offset-binary
``cu8`` by ``(x - 127.5) / 127.5``. Conversions use whole-array numpy operations writing straight
into the output buffer, because ``decode`` sits on the replay hot path (2.4 MS/s cu8 at 20x real
time needs ~50 MS/s; these run at well over 1 GS/s on one core).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from argosneo.errors import CaptureError


@dataclass(frozen=True)
class _Format:
    name: str
    component: np.dtype        #: dtype of one I or Q component on disk
    scale: float               #: multiply (component - offset) by this to get full-scale floats
    offset: float = 0.0
    lo: float = 0.0            #: clip range for integer encoding
    hi: float = 0.0

    @property
    def is_float(self) -> bool:
        return self.component.kind == "f"

    @property
    def bytes_per_sample(self) -> int:
        return 2 * self.component.itemsize


_FORMATS = {
    f.name: f
    for f in (
        _Format("cf32_le", np.dtype("<f4"), 1.0),
        _Format("cf64_le", np.dtype("<f8"), 1.0),
        _Format("ci16_le", np.dtype("<i2"), 1.0 / 32768.0, lo=-32768.0, hi=32767.0),
        _Format("ci8", np.dtype("i1"), 1.0 / 128.0, lo=-128.0, hi=127.0),
        _Format("cu8", np.dtype("u1"), 1.0 / 127.5, offset=127.5, lo=0.0, hi=255.0),
    )
}

#: Datatypes that can be read (SigMF names).
READ_DATATYPES = tuple(_FORMATS)
#: Datatypes that can be written.
WRITE_DATATYPES = ("cf32_le", "ci16_le", "ci8", "cu8")

#: Common non-SigMF spellings of the same formats (tools and file extensions use these).
_ALIASES = {
    "cf32": "cf32_le", "fc32": "cf32_le", "cfile": "cf32_le", "complex64": "cf32_le",
    "cf64": "cf64_le", "fc64": "cf64_le",
    "ci16": "ci16_le", "cs16": "ci16_le", "sc16": "ci16_le",
    "cs8": "ci8", "ci8_le": "ci8", "sc8": "ci8",
    "cu8_le": "cu8",
}

#: Raw-file extension (lower case, with dot) -> datatype.
EXTENSIONS = {
    ".cf32": "cf32_le",
    ".cfile": "cf32_le",
    ".fc32": "cf32_le",
    ".cs16": "ci16_le",
    ".cs8": "ci8",
    ".cu8": "cu8",
}


def normalize_datatype(datatype: str) -> str:
    """Return the SigMF name of a readable datatype, accepting common aliases.

    Parameters
    ----------
    datatype : str
        A SigMF datatype (``cf32_le``) or an alias (``cs8``, ``cf32``, ``fc32``, ``cs16``).

    Returns
    -------
    str
        The canonical SigMF name.

    Raises
    ------
    CaptureError
        If the datatype is not one this code reads.
    """
    key = str(datatype).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _FORMATS:
        raise CaptureError(
            f"sample datatype {datatype!r} is not supported "
            f"(supported: {', '.join(READ_DATATYPES)}; aliases cs8, cs16, cf32, fc32)"
        )
    return key


def _format(datatype: str) -> _Format:
    return _FORMATS[normalize_datatype(datatype)]


def datatype_from_extension(path: str | os.PathLike) -> str | None:
    """Datatype implied by a raw capture file's extension, or None if the extension is unknown.

    Parameters
    ----------
    path : str or path-like
        File name; only its last suffix is looked at (case-insensitive).

    Returns
    -------
    str or None
        ``cf32_le`` for ``.cf32``/``.cfile``/``.fc32``, ``ci16_le`` for ``.cs16``, ``ci8`` for
        ``.cs8``, ``cu8`` for ``.cu8``; None otherwise.
    """
    return EXTENSIONS.get(os.path.splitext(os.fspath(path))[1].lower())


def bytes_per_sample(datatype: str) -> int:
    """Bytes taken by one complex sample (I and Q) of ``datatype``.

    Raises
    ------
    CaptureError
        If the datatype is not supported.
    """
    return _format(datatype).bytes_per_sample


def is_float_datatype(datatype: str) -> bool:
    """True when ``datatype`` stores floats (so its samples can be NaN or Inf)."""
    return _format(datatype).is_float


def decode(raw, datatype: str) -> np.ndarray:
    """Convert on-disk samples to complex64 full-scale samples.

    Parameters
    ----------
    raw : bytes, bytearray, memoryview or numpy.ndarray
        Whole samples in ``datatype``'s layout (interleaved I, Q). An ndarray is reinterpreted
        byte-wise, so a uint8 buffer or an array of the component dtype both work.
    datatype : str
        SigMF datatype name or alias.

    Returns
    -------
    numpy.ndarray
        complex64 array of ``len(raw_bytes) // bytes_per_sample`` samples. Always a new array
        (never a view of ``raw``), so callers may reuse their read buffer.

    Raises
    ------
    CaptureError
        If the datatype is unsupported or the buffer is not a whole number of samples.
    """
    fmt = _format(datatype)
    if isinstance(raw, np.ndarray):
        buf = np.ascontiguousarray(raw).view(np.uint8).reshape(-1)
    else:
        buf = np.frombuffer(raw, dtype=np.uint8)
    if buf.size % fmt.bytes_per_sample:
        raise CaptureError(
            f"{buf.size} bytes is not a whole number of {fmt.name} samples "
            f"({fmt.bytes_per_sample} bytes each)"
        )
    comp = buf.view(fmt.component)
    out = np.empty(comp.size // 2, dtype=np.complex64)
    flat = out.view(np.float32)
    if fmt.name == "cf32_le":
        flat[:] = comp
    elif fmt.offset:
        np.subtract(comp, np.float32(fmt.offset), out=flat, dtype=np.float32)
        flat *= np.float32(fmt.scale)
    else:
        # one pass: the multiply casts the integers to float32 as it goes
        np.multiply(comp, np.float32(fmt.scale), out=flat, dtype=np.float32)
    return out


def encode(samples, datatype: str) -> np.ndarray:
    """Convert complex full-scale samples to ``datatype``'s on-disk layout.

    Parameters
    ----------
    samples : array_like of complex
        Samples at unit full scale.
    datatype : str
        One of ``WRITE_DATATYPES`` (or an alias of one).

    Returns
    -------
    numpy.ndarray
        For ``cf32_le`` a little-endian complex64 array; for integer formats an interleaved
        (I, Q, I, Q, ...) array of the component type, rounded to nearest and clipped to the
        format's range. Write it with ``file.write(arr)`` or ``arr.tobytes()``.

    Raises
    ------
    CaptureError
        If the datatype cannot be written.
    """
    fmt = _format(datatype)
    if fmt.name not in WRITE_DATATYPES:
        raise CaptureError(
            f"cannot write sample datatype {fmt.name!r} (supported: {', '.join(WRITE_DATATYPES)})"
        )
    x = np.ascontiguousarray(samples, dtype=np.complex64).reshape(-1)
    if fmt.is_float:
        return x.astype("<c8", copy=False)
    flat = x.view(np.float32)
    work = np.multiply(flat, np.float32(1.0 / fmt.scale), dtype=np.float32)
    if fmt.offset:
        work += np.float32(fmt.offset)
    np.rint(work, out=work)
    np.clip(work, fmt.lo, fmt.hi, out=work)
    return work.astype(fmt.component)
