"""``argosneo info``: human and JSON output, and one-line errors with exit status 2."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from argosneo.cli import main
from argosneo.io.datatypes import encode
from argosneo.io.writer import SigMFWriter

REAL_WAV = Path("/work/shared/real-captures/a2_packet_32k.wav")
START = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)


def _run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def recording(tmp_path):
    base = tmp_path / "rec"
    with SigMFWriter(base, sample_rate=48000, center_freq=401.65e6, start_time=START,
                     description="bench burst", datatype="ci16_le") as w:
        w.write(np.zeros(96000, np.complex64))
        for i in range(7):
            w.add_annotation(4800 * i, 480, label=f"burst{i}", freq_lower_edge=401.649e6,
                             freq_upper_edge=401.651e6)
    return base


def test_info_human(capsys, recording):
    code, out, err = _run(capsys, "info", str(recording))
    assert code == 0 and err == ""
    lines = out.splitlines()
    values = dict(line.split(": ", 1) for line in lines if not line.startswith(" "))
    values = {k.strip(): v.strip() for k, v in values.items()}
    assert values["datatype"] == "ci16_le (4 bytes/sample)"
    assert values["sample rate"] == "48000 S/s"
    assert values["centre freq"] == "401.650000 MHz"
    assert values["start time"] == "2024-05-06T07:08:09.000000Z"
    assert values["samples"] == "96000 (2.000000 s)"
    assert values["description"] == "bench burst"
    assert values["annotations"] == "7"
    assert values["file"].endswith("rec.sigmf-meta, " + str(recording) + ".sigmf-data")
    # values start in the same column
    key_lines = [line for line in lines if not line.startswith(" ")]
    value_columns = {len(line) - len(line.split(":", 1)[1].lstrip()) for line in key_lines}
    assert len(value_columns) == 1
    shown = [line for line in lines if line.startswith("  #")]
    assert len(shown) == 5
    assert shown[1].split() == ["#1", "t=0.100000", "s", "for", "0.010000", "s", "401.649000-401.651000", "MHz",
                                "burst1"]
    assert "2 more" in lines[-1]


def test_info_json(capsys, recording):
    code, out, err = _run(capsys, "info", str(recording.with_suffix(".sigmf-data")), "--json")
    assert code == 0
    d = json.loads(out)
    assert d["kind"] == "sigmf"
    assert d["sample_rate"] == 48000 and d["center_freq"] == 401.65e6
    assert d["total_samples"] == 96000 and d["duration_s"] == 2.0
    assert d["start_time"] == "2024-05-06T07:08:09.000000Z"
    assert d["annotation_count"] == 7 and len(d["annotations"]) == 7
    assert d["annotations"][6]["time_s"] == pytest.approx(0.6)
    assert d["annotations"][6]["label"] == "burst6"


def test_info_raw_with_options_and_tail_warning(capsys, tmp_path):
    path = tmp_path / "x.dat"
    path.write_bytes(encode(np.zeros(100, np.complex64), "cu8").tobytes() + b"\x00")
    code, out, err = _run(capsys, "info", str(path), "--samp-rate", "2400000", "--datatype", "cu8",
                          "--center-freq", "401650000", "--json")
    assert code == 0
    d = json.loads(out)
    assert (d["datatype"], d["total_samples"], d["center_freq"]) == ("cu8", 100, 401.65e6)
    assert err.startswith("argosneo: warning: ") and "ignoring the last 1 byte" in err
    assert len(d["warnings"]) == 1


@pytest.mark.skipif(not REAL_WAV.exists(), reason="real capture not available")
def test_info_real_wav(capsys):
    code, out, _ = _run(capsys, "info", str(REAL_WAV), "--json")
    d = json.loads(out)
    assert code == 0 and d["kind"] == "wav" and d["sample_rate"] == 32000
    assert d["duration_s"] == pytest.approx(0.83, abs=0.01)
    assert d["center_freq"] is None


def _bad_inputs(tmp_path):
    nosr = tmp_path / "nosr"
    with SigMFWriter(nosr, sample_rate=1000) as w:
        w.write(np.zeros(3, np.complex64))
    meta = json.loads(nosr.with_suffix(".sigmf-meta").read_text())
    del meta["global"]["core:sample_rate"]
    nosr.with_suffix(".sigmf-meta").write_text(json.dumps(meta))
    raw = tmp_path / "a.cs8"
    raw.write_bytes(bytes(8))
    return [
        ([str(tmp_path / "missing.sigmf-meta")], "no such file"),
        ([str(raw)], "give --samp-rate"),
        ([str(raw), "--samp-rate", "1e6", "--datatype", "ri16_le"], "'ri16_le' is not supported"),
        ([str(nosr)], "no core:sample_rate"),
    ]


def test_info_errors_are_one_line(capsys, tmp_path):
    for args, message in _bad_inputs(tmp_path):
        code, out, err = _run(capsys, "info", *args)
        assert code == 2, args
        assert out == ""
        assert err.count("\n") == 1 and err.startswith("argosneo: error: ") and message in err, err


def test_info_error_exit_status_from_the_console_script(tmp_path):
    exe = Path(sys.executable).with_name("argosneo")
    if not exe.exists():
        pytest.skip("argosneo console script not installed")
    raw = tmp_path / "a.cf32"
    bad = np.zeros(4, np.complex64)
    bad[2] = np.nan
    raw.write_bytes(bad.tobytes())
    proc = subprocess.run([str(exe), "info", str(raw)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("argosneo: error: ") and "--samp-rate" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    proc = subprocess.run([str(exe), "info", str(raw), "--samp-rate", "1000"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and "4 (0.004000 s)" in proc.stdout


def test_info_scan_levels(capsys, tmp_path):
    x = np.full(1000, 0.5 + 0j, np.complex64)
    x[:10] = 1.0 + 0j  # clipped in ci16
    with SigMFWriter(tmp_path / "lv", sample_rate=1000, datatype="ci16_le") as w:
        w.write(x)
    code, out, _ = _run(capsys, "info", str(tmp_path / "lv"), "--scan", "--json")
    assert code == 0
    lv = json.loads(out)["levels"]
    assert lv["peak"] == pytest.approx(32767 / 32768)
    assert lv["clipped_fraction"] == pytest.approx(0.01)
    expected_rms = np.sqrt((990 * 0.25 + 10 * (32767 / 32768) ** 2) / 1000)
    assert lv["rms_dbfs"] == pytest.approx(20 * np.log10(expected_rms), abs=1e-3)
    code, out, _ = _run(capsys, "info", str(tmp_path / "lv"), "--scan")
    assert "levels:      peak 1.0000 FS, RMS -5.9 dBFS, clipped 1.000 %" in out


def test_info_scan_reports_nan(capsys, tmp_path):
    x = np.zeros(300000, np.complex64)
    x[270001] = complex(np.nan, 0)
    path = tmp_path / "bad.cfile"
    path.write_bytes(x.tobytes())
    code, out, _ = _run(capsys, "info", str(path), "--samp-rate", "1e6")
    assert code == 0  # without --scan only the header is read
    code, out, err = _run(capsys, "info", str(path), "--samp-rate", "1e6", "--scan")
    assert code == 2 and out == ""
    assert err.strip() == f"argosneo: error: {path}: sample 270001 is NaN or Inf; the capture is corrupt or its datatype is wrong"
