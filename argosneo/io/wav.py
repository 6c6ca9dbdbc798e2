"""Two-channel IQ WAV files (SDR#, SDR++, GQRX, HDSDR "baseband"/"RAW" recordings).

The RIFF header is parsed here rather than with the stdlib ``wave`` module because ``wave`` does
not read IEEE-float data, which SDR++ writes. Supported: PCM 8-bit (unsigned, RTL-SDR style ``cu8``),
PCM 16-bit (``ci16_le``), IEEE float 32/64-bit, each also as WAVE_FORMAT_EXTENSIBLE, and RF64
(the >4 GiB variant). The sample data is not read here: the capture reader streams it.

Recorders rarely store the tuning inside the WAV, so the centre frequency comes from the
command line, an SDR#/HDSDR ``auxi`` chunk, or the file name (``..._401650000Hz_IQ.wav``).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import struct
from dataclasses import dataclass

from argosneo.errors import CaptureError

_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_IEEE_FLOAT = 0x0003
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE

#: (format tag, bits per component) -> datatype
_WAV_DATATYPES = {
    (_WAVE_FORMAT_PCM, 8): "cu8",
    (_WAVE_FORMAT_PCM, 16): "ci16_le",
    (_WAVE_FORMAT_IEEE_FLOAT, 32): "cf32_le",
    (_WAVE_FORMAT_IEEE_FLOAT, 64): "cf64_le",
}
_FORMAT_NAMES = {_WAVE_FORMAT_PCM: "integer PCM", _WAVE_FORMAT_IEEE_FLOAT: "IEEE float"}

# "_401650000Hz", "-401.65MHz", "baseband_401650000Hz_..." ; not preceded by a digit or dot so
# that "32k" style rate tags and dates are not taken for a frequency
_FREQ_RE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*([kKmMgG]?)Hz(?![A-Za-z])")
_FREQ_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9}
# SDR#: SDRSharp_20170830_073907Z_401650000Hz_IQ.wav (the Z marks UTC)
_SDRSHARP_TIME_RE = re.compile(r"(?<!\d)(\d{8})_(\d{6})Z(?![A-Za-z])")


@dataclass(frozen=True)
class WavLayout:
    """Where the IQ samples of a WAV file are and what they are."""

    datatype: str
    sample_rate: float
    data_offset: int            #: byte offset of the first sample
    data_bytes: int             #: bytes of sample data actually present in the file
    declared_bytes: int | None  #: data size the header claims (None if "unknown"/streaming)
    center_freq: float | None = None   #: from an ``auxi`` chunk, if present
    notes: tuple[str, ...] = ()        #: non-fatal oddities worth a warning


def center_freq_from_name(path: str | os.PathLike) -> float | None:
    """Centre frequency encoded in a recording's file name, in Hz, or None.

    Recognises ``_401650000Hz`` (SDR#, SDR++), ``_401.65MHz`` and ``_401650kHz``. The first
    match wins.

    Parameters
    ----------
    path : str or path-like
        File path; only the base name is examined.
    """
    name = os.path.basename(os.fspath(path))
    m = _FREQ_RE.search(name)
    if not m:
        return None
    return float(m.group(1)) * _FREQ_SCALE[m.group(2).lower()]


def start_time_from_name(path: str | os.PathLike) -> _dt.datetime | None:
    """UTC start time in an SDR#-style file name (``..._20170830_073907Z_...``), or None."""
    name = os.path.basename(os.fspath(path))
    m = _SDRSHARP_TIME_RE.search(name)
    if not m:
        return None
    try:
        return _dt.datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S").replace(tzinfo=_dt.timezone.utc)
    except ValueError:
        return None


def _datatype_of(path, tag: int, bits: int, channels: int, block_align: int) -> str:
    if channels != 2:
        raise CaptureError(
            f"{path}: WAV has {channels} channel(s); an IQ WAV needs exactly 2 (I and Q)"
        )
    dt = _WAV_DATATYPES.get((tag, bits))
    if dt is None:
        kind = _FORMAT_NAMES.get(tag, f"format tag 0x{tag:04x}")
        raise CaptureError(
            f"{path}: WAV sample format {kind} {bits}-bit is not supported "
            "(supported: 8-bit and 16-bit integer PCM, 32-bit and 64-bit float)"
        )
    if block_align != 2 * bits // 8:
        raise CaptureError(f"{path}: WAV block align {block_align} does not match 2 channels of {bits} bits")
    return dt


def parse_wav(path: str | os.PathLike) -> WavLayout:
    """Read a two-channel IQ WAV header.

    Parameters
    ----------
    path : str or path-like
        The WAV file.

    Returns
    -------
    WavLayout
        Sample format, rate and the byte range of the samples.

    Raises
    ------
    CaptureError
        If the file is missing or unreadable, is not a RIFF/RF64 WAVE file, lacks a ``fmt `` or
        ``data`` chunk, is not 2-channel, or uses a sample format that is not supported.
    """
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        fp = open(path, "rb")
    except FileNotFoundError:
        raise CaptureError(f"{path}: no such file") from None
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read: {exc.strerror or exc}") from None
    notes: list[str] = []
    with fp:
        head = fp.read(12)
        if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RF64"):
            raise CaptureError(f"{path}: not a WAV file (no RIFF/WAVE header)")
        rf64 = head[:4] == b"RF64"
        ds64_data_size = None
        fmt = None
        center_freq = None
        pos = 12
        while pos + 8 <= size:
            fp.seek(pos)
            cid, csize = struct.unpack("<4sI", fp.read(8))
            body = pos + 8
            if cid == b"ds64" and rf64:
                blob = fp.read(min(csize, 28))
                if len(blob) >= 16:
                    ds64_data_size = struct.unpack_from("<Q", blob, 8)[0]
            elif cid == b"fmt ":
                blob = fp.read(min(csize, 40))
                if len(blob) < 16:
                    raise CaptureError(f"{path}: WAV fmt chunk is truncated")
                tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", blob)
                if tag == _WAVE_FORMAT_EXTENSIBLE:
                    if len(blob) < 40:
                        raise CaptureError(f"{path}: WAVE_FORMAT_EXTENSIBLE fmt chunk is truncated")
                    # the sub-format GUID starts with the plain format tag
                    tag = struct.unpack_from("<H", blob, 24)[0]
                fmt = (tag, channels, rate, block_align, bits)
            elif cid == b"auxi":
                # SDR#/HDSDR/SpectraVue: two SYSTEMTIMEs (32 bytes) then DWORD centre frequency
                blob = fp.read(min(csize, 36))
                if len(blob) >= 36:
                    freq = struct.unpack_from("<I", blob, 32)[0]
                    if freq:
                        center_freq = float(freq)
            elif cid == b"data":
                if fmt is None:
                    raise CaptureError(f"{path}: WAV data chunk comes before its fmt chunk")
                tag, channels, rate, block_align, bits = fmt
                datatype = _datatype_of(path, tag, bits, channels, block_align)
                if rate <= 0:
                    raise CaptureError(f"{path}: WAV header gives sample rate {rate}")
                available = size - body
                declared = csize
                if rf64 and csize == 0xFFFFFFFF:
                    declared = ds64_data_size
                if declared in (0, 0xFFFFFFFF, None):
                    # recorder killed before it could patch the header: take the rest of the file
                    notes.append(f"WAV data size is not set in the header; using the {available} bytes present")
                    declared = None
                    data_bytes = available
                elif declared > available:
                    notes.append(
                        f"WAV header says {declared} data bytes but only {available} are present (truncated file)"
                    )
                    data_bytes = available
                else:
                    data_bytes = declared
                return WavLayout(
                    datatype=datatype,
                    sample_rate=float(rate),
                    data_offset=body,
                    data_bytes=data_bytes,
                    declared_bytes=declared,
                    center_freq=center_freq,
                    notes=tuple(notes),
                )
            pos = body + csize + (csize & 1)  # RIFF chunks are padded to even length
    if fmt is None:
        raise CaptureError(f"{path}: WAV file has no fmt chunk")
    raise CaptureError(f"{path}: WAV file has no data chunk")
