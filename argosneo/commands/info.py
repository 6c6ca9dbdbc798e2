"""``argosneo info``: show what a capture file holds (format, rate, tuning, length, annotations)."""

from __future__ import annotations

import json
import math
import warnings

import click
import numpy as np

from argosneo.io.datatypes import bytes_per_sample
from argosneo.io.reader import CaptureWarning, open_capture
from argosneo.io.writer import sigmf_datetime

#: How many annotations the human-readable output lists.
SHOWN_ANNOTATIONS = 5

_KIND_NAMES = {
    "sigmf": "SigMF recording",
    "sigmf-archive": "SigMF archive",
    "raw": "raw IQ",
    "wav": "2-channel IQ WAV",
}


def _annotation_summary(ann: dict, sample_rate: float) -> dict:
    start = int(ann.get("core:sample_start", 0))
    count = ann.get("core:sample_count")
    out = {
        "sample_start": start,
        "sample_count": None if count is None else int(count),
        "time_s": start / sample_rate,
        "duration_s": None if count is None else int(count) / sample_rate,
        "freq_lower_edge": ann.get("core:freq_lower_edge"),
        "freq_upper_edge": ann.get("core:freq_upper_edge"),
        "label": ann.get("core:label"),
        "comment": ann.get("core:comment"),
    }
    return out


def describe(reader) -> dict:
    """Everything ``info`` reports about an open capture, as a JSON-ready dict.

    Parameters
    ----------
    reader : CaptureReader
        An open capture.

    Returns
    -------
    dict
        Keys: path, kind, files, datatype, bytes_per_sample, sample_rate, center_freq,
        start_time (ISO 8601 UTC or None), total_samples, duration_s, description,
        annotation_count, annotations (summaries), raw_annotations (SigMF objects), warnings.
    """
    info = reader.info
    rate = info.sample_rate
    return {
        "path": str(reader.path),
        "kind": reader.kind,
        "files": [str(f) for f in reader.files],
        "datatype": info.datatype,
        "bytes_per_sample": bytes_per_sample(info.datatype),
        "sample_rate": rate,
        "center_freq": info.center_freq,
        "start_time": None if info.start_time is None else sigmf_datetime(info.start_time),
        "total_samples": info.total_samples,
        "duration_s": info.total_samples / rate,
        "description": info.description,
        "annotation_count": len(reader.annotations),
        "annotations": [_annotation_summary(a, rate) for a in reader.annotations],
        "raw_annotations": reader.annotations,
        "warnings": list(reader.notes),
    }


def scan_levels(reader, chunk_size: int = 262144) -> dict:
    """Read the whole capture and measure its level.

    Reading every sample also runs the reader's NaN/Inf check, so a corrupt float capture
    raises ``CaptureError`` naming the first bad sample.

    Returns
    -------
    dict
        ``peak`` (largest |I| or |Q|, full scale = 1), ``rms_dbfs`` (RMS of |x| in dB relative
        to full scale, None for an empty or all-zero capture) and ``clipped_fraction`` (share of
        samples with I or Q at or beyond full scale).
    """
    peak = 0.0
    power = 0.0
    clipped = 0
    n = 0
    # integer formats reach exactly -1.0 at their most negative code; float formats may exceed 1
    limit = np.float32(1.0 - 1.0 / 128)
    if reader.info.datatype == "ci16_le":
        limit = np.float32(1.0 - 1.0 / 32768)
    for chunk in reader.chunks(chunk_size):
        flat = np.abs(chunk.samples.view(np.float32))
        if flat.size:
            peak = max(peak, float(flat.max()))
            power += float(np.vdot(flat, flat).real)
            clipped += int(np.count_nonzero((flat.reshape(-1, 2) >= limit).any(axis=1)))
            n += chunk.samples.size
    rms = math.sqrt(power / n) if n else 0.0
    return {
        "peak": peak,
        "rms_dbfs": 20 * math.log10(rms) if rms > 0 else None,
        "clipped_fraction": clipped / n if n else 0.0,
    }


def _rate_text(rate: float) -> str:
    return f"{rate:.0f} S/s" if float(rate).is_integer() else f"{rate:.3f} S/s"


def _freq_text(hz) -> str:
    return "unknown (give --center-freq)" if hz is None else f"{hz / 1e6:.6f} MHz"


def _annotation_line(i: int, a: dict) -> str:
    parts = [f"#{i}", f"t={a['time_s']:.6f} s"]
    if a["duration_s"] is not None:
        parts.append(f"for {a['duration_s']:.6f} s")
    lo, hi = a["freq_lower_edge"], a["freq_upper_edge"]
    if lo is not None and hi is not None:
        parts.append(f"{lo / 1e6:.6f}-{hi / 1e6:.6f} MHz")
    elif lo is not None or hi is not None:
        parts.append(f"{(lo if lo is not None else hi) / 1e6:.6f} MHz")
    if a["label"]:
        parts.append(str(a["label"]))
    if a["comment"]:
        parts.append(f"({a['comment']})")
    return "  ".join(parts)


def format_human(d: dict) -> str:
    """Aligned ``key: value`` lines for a :func:`describe` dict."""
    rows = [
        ("file", ", ".join(d["files"])),
        ("kind", _KIND_NAMES.get(d["kind"], d["kind"])),
        ("datatype", f"{d['datatype']} ({d['bytes_per_sample']} bytes/sample)"),
        ("sample rate", _rate_text(d["sample_rate"])),
        ("centre freq", _freq_text(d["center_freq"])),
        ("start time", d["start_time"] or "unknown"),
        ("samples", f"{d['total_samples']} ({d['duration_s']:.6f} s)"),
        ("description", d["description"] or "-"),
        ("annotations", str(d["annotation_count"])),
    ]
    if "levels" in d:
        lv = d["levels"]
        rms = "-inf" if lv["rms_dbfs"] is None else f"{lv['rms_dbfs']:.1f}"
        rows.insert(7, ("levels", f"peak {lv['peak']:.4f} FS, RMS {rms} dBFS, "
                                  f"clipped {100 * lv['clipped_fraction']:.3f} %"))
    width = max(len(k) for k, _ in rows) + 1
    lines = [f"{k + ':':<{width}} {v}" for k, v in rows]
    for i, a in enumerate(d["annotations"][:SHOWN_ANNOTATIONS]):
        lines.append("  " + _annotation_line(i, a))
    if d["annotation_count"] > SHOWN_ANNOTATIONS:
        lines.append(f"  ... and {d['annotation_count'] - SHOWN_ANNOTATIONS} more (--json lists them all)")
    return "\n".join(lines)


@click.command("info")
@click.argument("path", type=click.Path(dir_okay=True, path_type=str))
@click.option("--samp-rate", type=float, default=None, help="Sample rate in S/s (required for raw IQ files).")
@click.option("--center-freq", type=float, default=None, help="Centre frequency in Hz (overrides the file).")
@click.option("--datatype", default=None, help="Sample format of a raw file: cf32_le, ci16_le, ci8 (cs8), cu8.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option("--scan", is_flag=True,
              help="Also read every sample: report peak, RMS and clipping, and check for NaN/Inf.")
def info(path, samp_rate, center_freq, datatype, as_json, scan):
    """Show what the capture PATH holds: format, rate, tuning, length and annotations.

    PATH is a SigMF recording (x.sigmf-meta, x.sigmf-data or base name x), a .sigmf archive,
    a raw IQ file (.cf32 .cfile .fc32 .cs16 .cs8 .cu8, needs --samp-rate) or a 2-channel IQ WAV.
    """
    with warnings.catch_warnings():
        # the reader's warnings are kept in reader.notes and shown below, once each
        warnings.simplefilter("ignore", CaptureWarning)
        with open_capture(path, samp_rate=samp_rate, center_freq=center_freq, datatype=datatype) as reader:
            d = describe(reader)
            if scan:
                d["levels"] = scan_levels(reader)
    if as_json:
        click.echo(json.dumps(d, indent=None, sort_keys=False))
    else:
        click.echo(format_human(d))
    for note in d["warnings"]:
        click.echo(f"argosneo: warning: {note}", err=True)
