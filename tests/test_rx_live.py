"""``argosneo rx`` end to end: real libSoapySDR, the argosreplay module, the real receiver.

The demo capture holds seven bursts; the quiet stretches between them (samples 505 865-586 420
and 894 198-976 973) are where faults are injected, so every burst must still come out, at the
same stream sample as when the file is decoded directly.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from argosneo.cli import main
from argosneo.io.reader import open_capture
from argosneo.flowgraph.console import StatusLine
from soapy_env import REPO, soapy_env  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("soapy_env")

DEMO = REPO / "captures" / "demo.sigmf-data"
N_DEMO = 1_250_000
#: between bursts #3 (ends 505 865) and #4 (starts 586 420), and #5 (ends 894 198) and #6 (976 973)
QUIET = (530_000, 920_000)
#: a reset of the receiver moves its detection frame grid; the decoded start may move by this
SAMPLE_TOL = 10
FREQ_TOL_HZ = 0.1


@pytest.fixture(scope="module")
def reference():
    """The bursts A2Receiver decodes from the demo file directly."""
    from argosneo.receiver import A2Receiver

    reader = open_capture(DEMO)
    rx = A2Receiver(reader.info, id_bits=28)
    out = []
    for chunk in reader.chunks(65536):
        out.extend(rx.process(chunk))
    out.extend(rx.flush())
    records = [b.to_record() for b in out]
    assert len(records) == 7
    return records


def _rx(tmp_path, device, *extra, name="out"):
    out = tmp_path / f"{name}.jsonl"
    code = main(["rx", "--device", device, "-o", str(out), "--no-status", *extra])
    records = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else None
    return code, records


def _assert_same_bursts(got, want, tol=SAMPLE_TOL):
    assert [r["platform_id"] for r in got] == [r["platform_id"] for r in want]
    for g, w in zip(got, want):
        assert g["message_hex"] == w["message_hex"]
        assert abs(g["sample_start"] - w["sample_start"]) <= tol, (g["sample_start"], w["sample_start"])
        assert abs(g["frequency_hz"] - w["frequency_hz"]) <= FREQ_TOL_HZ
        assert g["time_utc"][:19] == w["time_utc"][:19]


def _match(record, reference, period=None):
    """The reference burst a live record is (stream indices may have wrapped with loop=1)."""
    start = record["sample_start"] % period if period else record["sample_start"]
    (ref,) = [r for r in reference if abs(r["sample_start"] - start) <= SAMPLE_TOL]
    assert record["message_hex"] == ref["message_hex"]
    assert abs(record["frequency_hz"] - ref["frequency_hz"]) <= FREQ_TOL_HZ
    return ref


def _meta(base):
    return json.loads(Path(f"{base}.sigmf-meta").read_text())


def test_live_decode_equals_file_decode(tmp_path, reference):
    rec = tmp_path / "rec"
    code, got = _rx(tmp_path, f"driver=argosreplay,file={DEMO},realtime=0", "--record", str(rec),
                    "--queue-seconds", "30")
    assert code == 0
    _assert_same_bursts(got, reference, tol=0)  # same samples, same chunk-independent receiver
    assert got == reference

    # the recording is the stream, sample for sample, annotated with every burst
    with open_capture(DEMO) as src, open_capture(f"{rec}.sigmf-meta") as copy:
        assert copy.info.total_samples == N_DEMO
        assert copy.info.start_time == src.info.start_time
        assert copy.info.center_freq == src.info.center_freq
        np.testing.assert_allclose(copy.read(0, N_DEMO), src.read(0, N_DEMO), atol=1e-6)
        assert [a["core:sample_start"] for a in copy.annotations] == [r["sample_start"] for r in reference]
        assert [a["argosneo:platform_id"] for a in copy.annotations] == [r["platform_id"] for r in reference]
    assert len(_meta(rec)["captures"]) == 1


@pytest.mark.skipif(importlib.util.find_spec("argosneo.commands.replay") is None,
                    reason="argosneo replay is not there yet")
def test_live_decode_equals_replay_command(tmp_path, reference):
    code, live = _rx(tmp_path, f"driver=argosreplay,file={DEMO},realtime=0", "--queue-seconds", "30")
    assert code == 0
    out = tmp_path / "replay.jsonl"
    assert main(["replay", str(DEMO), "-o", str(out)]) == 0
    replayed = [json.loads(line) for line in out.read_text().splitlines()]
    _assert_same_bursts(live, replayed, tol=3)


def test_overflows_keep_time_and_are_counted(tmp_path, reference, capsys):
    rec = tmp_path / "rec"
    device = f"driver=argosreplay,file={DEMO},realtime=0,overflow_at={QUIET[0]}:{QUIET[1]}"
    code, got = _rx(tmp_path, device, "--record", str(rec), "--record-format", "ci16", "--queue-seconds", "30")
    assert code == 0
    _assert_same_bursts(got, reference)
    summary = capsys.readouterr().err
    assert "overflows 2, device lost 8192 samples" in summary

    meta = _meta(rec)
    lost = 4096  # argosreplay's default overflow_len
    assert [(c["core:sample_start"], c["core:global_index"]) for c in meta["captures"]] == [
        (0, 0), (QUIET[0], QUIET[0] + lost), (QUIET[1] - lost, QUIET[1] + lost)]
    gaps = [a for a in meta["annotations"] if "argosneo:gap" in a]
    assert [g["argosneo:gap"] for g in gaps] == [lost, lost]
    with open_capture(f"{rec}.sigmf-meta") as copy:
        assert copy.info.datatype == "ci16_le" and copy.info.total_samples == N_DEMO - 2 * lost
        bursts = [a for a in copy.annotations if "argosneo:platform_id" in a]
        # annotations sit in recording samples: shifted back by what was lost before them
        for ann, r in zip(bursts, got):
            assert ann["core:sample_start"] == r["sample_start"] - lost * sum(r["sample_start"] > q for q in QUIET)
            assert ann["argosneo:stream_sample_start"] == r["sample_start"]


def test_decoder_falling_behind_drops_whole_chunks_and_keeps_time(tmp_path, reference, capsys):
    rec = tmp_path / "rec"
    # paced at 40x real time the decoder cannot keep up; with 0.2 s of queue it must drop
    code, got = _rx(tmp_path, f"driver=argosreplay,file={DEMO},speed=40", "--record", str(rec),
                    "--queue-seconds", "0.2", "--buffer-samples", "4096")
    assert code == 0
    err = capsys.readouterr().err
    m = re.search(r"device lost (\d+) samples.*decoder dropped (\d+) chunks \((\d+) samples\)", err)
    device_lost, dropped, dropped_samples = (int(g) for g in m.groups())
    assert dropped > 0 and dropped_samples > 0
    for r in got:  # whatever was decoded is right and at the right time
        _match(r, reference)
    lost = dropped_samples + device_lost
    with open_capture(f"{rec}.sigmf-meta") as copy:
        assert copy.info.total_samples == N_DEMO - lost
    meta = _meta(rec)
    gaps = [a for a in meta["annotations"] if "argosneo:gap" in a]
    assert sum(g["argosneo:gap"] for g in gaps) == lost
    assert "decoder_behind" in {g["argosneo:gap_reason"] for g in gaps}
    # each segment's global index is its stream index: recording index + samples lost before it
    for seg, gap in zip(meta["captures"][1:], gaps):
        assert seg["core:global_index"] == gap["argosneo:global_index"]
    lost_before = np.cumsum([g["argosneo:gap"] for g in gaps])
    assert [c["core:global_index"] - c["core:sample_start"] for c in meta["captures"][1:]] == list(lost_before)


def test_disconnect_is_survived_and_later_bursts_decode(tmp_path, reference, capsys):
    # a copy: the replay module keeps a disconnected file's state for the life of the process
    data = tmp_path / "d.sigmf-data"
    shutil.copy(DEMO, data)
    shutil.copy(DEMO.with_suffix(".sigmf-meta"), tmp_path / "d.sigmf-meta")
    code, got = _rx(tmp_path, f"driver=argosreplay,file={data},realtime=0,disconnect_at={QUIET[0]},reopen_fail=1",
                    "--queue-seconds", "30")
    assert code == 0
    _assert_same_bursts(got, reference)
    assert sum(r["sample_start"] > QUIET[0] for r in got) == 3
    err = capsys.readouterr().err
    assert "device lost (STREAM_ERROR): reopening" in err and "device reopened after 2 attempt(s)" in err
    assert "reopens 1" in err


def test_device_that_does_not_come_back_is_one_error_line(tmp_path, reference, capsys):
    data = tmp_path / "g.sigmf-data"
    shutil.copy(DEMO, data)
    shutil.copy(DEMO.with_suffix(".sigmf-meta"), tmp_path / "g.sigmf-meta")
    rec = tmp_path / "rec"
    code, got = _rx(tmp_path, f"driver=argosreplay,file={data},realtime=0,disconnect_at={QUIET[0]},reopen_fail=9",
                    "--reopen-attempts", "2", "--queue-seconds", "30", "--record", str(rec))
    assert code == 2
    err = capsys.readouterr().err.splitlines()
    errors = [line for line in err if line.startswith("argosneo: error: ")]
    assert len(errors) == 1 and "did not come back after 2 attempts" in errors[0]
    # everything received before the loss was decoded and written; the recording is valid
    _assert_same_bursts(got, [r for r in reference if r["sample_start"] < QUIET[0]])
    with open_capture(f"{rec}.sigmf-meta") as copy:
        assert copy.info.total_samples == QUIET[0]


@pytest.mark.parametrize("seconds", [2.5, 3.0])
def test_duration_stops_at_the_sample_and_never_reports_cut_bursts(tmp_path, reference, seconds):
    rec = tmp_path / "rec"
    end = int(seconds * 250_000)  # inside burst #4 (586 420 .. 756 420)
    code, got = _rx(tmp_path, f"driver=argosreplay,file={DEMO},realtime=0", "--duration", str(seconds),
                    "--record", str(rec), "--queue-seconds", "30", "--all-bursts")
    assert code == 0
    decoded = [r for r in got if r.get("decoded", True)]
    _assert_same_bursts(decoded, reference[:4])
    # the burst the input stopped inside is reported as rejected, never with made-up bits
    (cut,) = [r for r in got if not r.get("decoded", True)]
    # (a rejection by the receiver is placed at its detection frame, tens of ms coarse)
    assert abs(cut["sample_start"] - reference[4]["sample_start"]) <= 0.05 * 250_000
    with open_capture(f"{rec}.sigmf-meta") as copy:
        assert copy.info.total_samples == end
        assert len(copy.annotations) == 5


def test_missing_device_is_one_error_line(tmp_path, capsys):
    out = tmp_path / "o.jsonl"
    for device in ("driver=nosuchdriver", f"driver=argosreplay,file={tmp_path / 'absent.sigmf-data'}"):
        assert main(["rx", "--device", device, "-o", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("argosneo: error: ")
    assert "no SoapySDR device matches" in err[0] or "not found" in err[0]
    assert not out.exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_cleanly_with_every_burst_so_far(tmp_path, reference, sig):
    out, rec = tmp_path / "live.jsonl", tmp_path / "rec"
    # realtime pacing and loop=1: the stream never ends by itself
    cmd = [sys.executable, "-m", "argosneo.cli", "rx", "--device",
           f"driver=argosreplay,file={DEMO},loop=1", "-o", str(out), "--record", str(rec)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and len(out.read_text().splitlines()) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert f"stopped by {signal.Signals(sig).name}" in stderr
    assert "Traceback" not in stderr
    # plain status lines (stderr is not a terminal)
    assert any(line.startswith("rx ") and "| bursts " in line for line in stderr.splitlines())

    lines = out.read_text().splitlines()
    assert len(lines) >= 2
    got = [json.loads(line) for line in lines]
    starts = [r["sample_start"] for r in got]
    assert len(set(starts)) == len(starts)
    for r in got:
        _match(r, reference, period=N_DEMO)
    assert int(re.search(r"; (\d+) bursts? decoded", stderr).group(1)) == len(got)

    # a valid SigMF recording (schema and sha512 checked by sigmf) with one annotation per burst
    from sigmf.sigmffile import fromfile

    sf = fromfile(str(rec) + ".sigmf-meta")
    sf.validate()
    assert len(sf.get_annotations()) == len(got)
    with open_capture(f"{rec}.sigmf-meta") as copy:
        n = copy.info.total_samples
        assert n >= max(starts) % N_DEMO
        # the recording is the stream (no gaps in a paced replay): the demo file, looped
        k = min(n, N_DEMO)
        with open_capture(DEMO) as src:
            np.testing.assert_allclose(copy.read(0, k), src.read(0, k), atol=1e-6)


def test_status_line_overwrites_on_a_terminal_and_prints_lines_otherwise():
    tty = io.StringIO()
    status = StatusLine(tty, tty=True)
    status.update("one")
    status.update("two")
    status.message("event")
    status.update("three")
    status.finish()
    assert tty.getvalue() == "\rone\x1b[K\rtwo\x1b[K\r\x1b[Kevent\n\rthree\x1b[K\n"

    plain = io.StringIO()
    status = StatusLine(plain)  # StringIO is not a terminal
    status.update("one")
    status.message("event")
    status.update("two")
    status.finish()
    assert plain.getvalue() == "one\nevent\ntwo\n"

    quiet = io.StringIO()
    status = StatusLine(quiet, enabled=False)
    status.update("one")
    status.message("event")
    status.finish()
    assert quiet.getvalue() == "event\n"
