"""``argosneo rx`` is the shipped a2_live flowgraph: same bursts as ``argosneo run a2_live``, and the
live semantics it needs live in the runtime and blocks (real libSoapySDR, the argosreplay module).

The demo capture holds seven bursts; faults are injected in the quiet stretches between them
(see tests/test_rx_live.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from argosneo.cli import main
from argosneo.flowgraph import resolve_flowgraph
from argosneo.flowgraph.blocks_io import SigMFRecordSink
from argosneo.flowgraph.console import status_text
from argosneo.flowgraph.runtime import Runtime
from argosneo.flowgraph.schema import load_flowgraph
from argosneo.io.chunk import SampleChunk, StreamInfo
from argosneo.io.reader import open_capture
from soapy_env import REPO, soapy_env  # noqa: F401 - fixture

DEMO = REPO / "captures" / "demo.sigmf-data"
N_DEMO = 1_250_000
QUIET = (530_000, 920_000)
LOST = 4096   # argosreplay's default overflow_len


def _lines(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def _meta(base):
    return json.loads(Path(f"{base}.sigmf-meta").read_text())


def _validate(base):
    from sigmf.sigmffile import fromfile

    sf = fromfile(f"{base}.sigmf-meta")
    sf.validate()      # schema and sha512 of the data
    return sf


@pytest.mark.usefixtures("soapy_env")
def test_run_a2_live_gives_the_same_bursts_and_recording_as_rx(tmp_path, capsys):
    device = f"driver=argosreplay,file={DEMO},realtime=0,overflow_at={QUIET[0]}:{QUIET[1]}"
    rx_out, rx_rec = tmp_path / "rx.jsonl", tmp_path / "rx_rec"
    assert main(["rx", "--device", device, "-o", str(rx_out), "--record", str(rx_rec), "--no-status",
                 "--queue-seconds", "30", "--buffer-samples", "65536"]) == 0
    run_dir = tmp_path / "run"
    assert main(["run", "a2_live", "--var", f"device={device}", "--var", "record=rec", "--no-control",
                 "--queue-seconds", "30", "-o", str(run_dir), "-q"]) == 0
    err = capsys.readouterr().err
    assert "argosneo run: device: 2 overflows, 8192 samples lost, 0 reopens" in err
    got_rx, got_run = _lines(rx_out), _lines(run_dir / "bursts.jsonl")
    assert len(got_rx) == 7 and got_run == got_rx
    # the same recording: gap segments at the stream indices, one annotation per burst and gap
    m_rx, m_run = _meta(rx_rec), _meta(run_dir / "rec")
    assert m_run["captures"] == m_rx["captures"]
    assert [(c["core:sample_start"], c["core:global_index"]) for c in m_run["captures"]] == [
        (0, 0), (QUIET[0], QUIET[0] + LOST), (QUIET[1] - LOST, QUIET[1] + LOST)]
    assert m_run["annotations"] == m_rx["annotations"]
    assert len(m_run["annotations"]) == 7 + 2
    _validate(run_dir / "rec")
    log = [json.loads(x) for x in (run_dir / "run-log.jsonl").read_text().splitlines()]
    assert [e["kind"] for e in log if e["event"] == "source"] == ["overflow", "overflow"]


@pytest.mark.usefixtures("soapy_env")
def test_runtime_live_status_duration_and_seconds_bounded_queue(tmp_path):
    fg = load_flowgraph(resolve_flowgraph("a2_live"), variables={
        "device": f"driver=argosreplay,file={DEMO},speed=20,overflow_at={QUIET[0]}", "output": "b.jsonl",
        "chunk_size": 4096})
    snaps, events = [], []
    # 0.05 s of queue: the device (20x real time) runs ahead of the decoder, so whole chunks drop
    rt = Runtime(fg, queue_seconds=0.05, duration=3.0, output_dir=tmp_path, status=snaps.append,
                 status_interval=0.01, on_event=lambda record, message: events.append(record))
    s = rt.run()
    assert s.stopped_by == "duration" and not s.interrupted
    # cut at the exact sample, gaps included (the device handed out all but what it lost)
    assert s.source_samples + LOST == 3 * 250_000
    assert s.source_state["overflows"] == 1 and s.source_state["device_lost"] == LOST
    drops = [e for e in events if e["event"] == "drop"]
    assert drops and len(drops) == s.drop_events
    # every sample is accounted for: processed, dropped by the runtime, or lost by the device
    assert s.samples + sum(e["samples"] for e in drops) == s.source_samples
    assert s.dropped_samples == sum(e["samples"] for e in drops) + LOST
    assert snaps and set(snaps[-1]) >= {"received_s", "input_rate", "headroom", "queued_s", "drop_events",
                                        "source", "decoded"}
    assert all(x["queued_s"] <= 0.05 + 4096 / 250_000 for x in snaps)
    line = status_text(snaps[-1], "rx")
    assert line.startswith("rx ") and "| ovf " in line and " reopen " in line and "| bursts " in line


@pytest.mark.usefixtures("soapy_env")
def test_device_events_reach_the_run_log(tmp_path, capsys):
    data = tmp_path / "d.sigmf-data"
    data.write_bytes(DEMO.read_bytes())
    (tmp_path / "d.sigmf-meta").write_bytes(DEMO.with_suffix(".sigmf-meta").read_bytes())
    out = tmp_path / "o"
    assert main(["run", "a2_live", "--var", f"device=driver=argosreplay,file={data},realtime=0,"
                 f"disconnect_at={QUIET[0]},reopen_fail=1", "--no-control", "--queue-seconds", "30",
                 "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "argosneo run: device lost (STREAM_ERROR): reopening" in err
    assert "argosneo run: device reopened after 2 attempt(s)" in err
    assert len(_lines(out / "bursts.jsonl")) == 7
    kinds = [e.get("kind") for e in map(json.loads, (out / "run-log.jsonl").read_text().splitlines())
             if e["event"] == "source"]
    assert kinds == ["lost", "reopen_failed", "reopened"]


def _start_rx(tmp_path, device, *extra):
    out, rec = tmp_path / "live.jsonl", tmp_path / "rec"
    cmd = [sys.executable, "-m", "argosneo.cli", "rx", "--device", device, "-o", str(out), "--record", str(rec),
           *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    return proc, out, rec


def _wait_lines(proc, out, n, timeout=40):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and len(out.read_text().splitlines()) >= n:
            return
        time.sleep(0.02)
    raise AssertionError(proc.communicate(timeout=10) if proc.poll() is not None else "no output in time")


@pytest.mark.usefixtures("soapy_env")
def test_sigint_child_keeps_bursts_and_writes_gap_segments(tmp_path):
    # paced at 4x real time, never ending (loop=1), two overflows before burst #6
    proc, out, rec = _start_rx(tmp_path, f"driver=argosreplay,file={DEMO},loop=1,speed=4,"
                                         f"overflow_at={QUIET[0]}:{QUIET[1]}", "--queue-seconds", "30")
    try:
        _wait_lines(proc, out, 6)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "stopped by SIGINT" in stderr and "Traceback" not in stderr
    got = _lines(out)
    assert len(got) >= 6
    sf = _validate(rec)
    meta = _meta(rec)
    segs = [(c["core:sample_start"], c["core:global_index"]) for c in meta["captures"]]
    assert segs[:3] == [(0, 0), (QUIET[0], QUIET[0] + LOST), (QUIET[1] - LOST, QUIET[1] + LOST)]
    gaps = [a for a in meta["annotations"] if "argosneo:gap" in a]
    assert [g["argosneo:gap_reason"] for g in gaps[:2]] == ["overflow", "overflow"]
    bursts = [a for a in sf.get_annotations() if "argosneo:platform_id" in a]
    assert [a["argosneo:stream_sample_start"] for a in bursts] == [r["sample_start"] for r in got]


@pytest.mark.usefixtures("soapy_env")
def test_second_signal_aborts_but_closes_the_outputs(tmp_path):
    # unpaced: the device fills 60 s of queue long before the decoder gets through it
    proc, out, rec = _start_rx(tmp_path, f"driver=argosreplay,file={DEMO},loop=1,realtime=0",
                               "--queue-seconds", "60", "--no-status")
    try:
        _wait_lines(proc, out, 1)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "argosneo: interrupted" in stderr and "Traceback" not in stderr
    assert all("sample_start" in r for r in _lines(out))   # whole lines only
    _validate(rec)
    with open_capture(f"{rec}.sigmf-meta") as copy:
        assert copy.info.total_samples > 0


def test_record_sink_segments_gaps_and_annotates_bursts(tmp_path):
    """The sink alone: an index jump, a discontinuity without a jump (device without hardware
    time), a retune, and burst events placed in recording samples."""
    info = StreamInfo(sample_rate=10_000.0, center_freq=401.65e6)
    info_b = StreamInfo(sample_rate=10_000.0, center_freq=401.66e6)
    x = (np.arange(4000) + 1j).astype(np.complex64)
    sink = SigMFRecordSink(path=str(tmp_path / "r"), datatype="cf32_le")
    sink.process(SampleChunk(x[:1000], 0, info))
    sink.process(SampleChunk(x[1000:2000], 1500, info, discontinuity=True, extra={"reason": "overflow"}))
    sink.process(SampleChunk(x[2000:3000], 2500, info, discontinuity=True, extra={"reason": "reopen"}))
    sink.process(SampleChunk(x[3000:4000], 3500, info_b, discontinuity=True, extra={"reason": "retune"}))
    burst = {"format": "A2", "decoded": True, "sample_start": 1700, "duration_s": 0.02, "platform_id": 7,
             "message_hex": "ab", "cn0_dbhz": 40.0, "frequency_hz": 401.651e6, "drift_hz_s": 0.0}
    rejected = {"format": "A2", "decoded": False, "sample_start": 10, "reason": "cut by the end of the input"}
    sink.process([burst, rejected], "bursts")
    with pytest.raises(Exception, match="events must be bursts"):
        sink.process([{"power_db": 1.0}], "bursts")
    # samples and bursts each have their own input
    with pytest.raises(Exception, match="in takes sample chunks, got list"):
        sink.process([burst], "in")
    with pytest.raises(Exception, match="bursts takes burst events, not sample chunks"):
        sink.process(SampleChunk(x[:10], 4000, info), "bursts")
    assert sink.state() == {"samples_written": 4000, "gaps": 3, "lost_samples": 500, "annotations": 2}
    sink.close()
    _validate(tmp_path / "r")
    meta = _meta(tmp_path / "r")
    assert [(c["core:sample_start"], c["core:global_index"], c["core:frequency"]) for c in meta["captures"]] == [
        (0, 0, 401.65e6), (1000, 1500, 401.65e6), (2000, 2500, 401.65e6), (3000, 3500, 401.66e6)]
    gaps = [a for a in meta["annotations"] if a.get("core:label") == "gap"]
    assert [(g["argosneo:gap"], g["argosneo:gap_exact"], g["argosneo:gap_reason"]) for g in gaps] == [
        (500, True, "overflow"), (0, False, "reopen"), (0, True, "retune")]
    (b,) = [a for a in meta["annotations"] if a.get("core:label") == "A2 7"]
    assert b["core:sample_start"] == 1200 and b["core:sample_count"] == 200
    assert b["argosneo:stream_sample_start"] == 1700
    (r,) = [a for a in meta["annotations"] if a.get("core:label") == "A2 rejected"]
    assert r["core:sample_start"] == 10 and r["argosneo:rejected"] is True
    with pytest.warns(UserWarning, match="capture segments with different frequencies"):
        copy = open_capture(tmp_path / "r.sigmf-meta")
    with copy:
        np.testing.assert_array_equal(copy.read(0, 4000), x)
    # an empty path records nothing (a2_live's optional recording)
    off = SigMFRecordSink(path="")
    off.process(SampleChunk(x[:10], 0, info))
    off.process([burst], "bursts")
    off.close()
    assert off.state()["samples_written"] == 0


def _demo_reference():
    from argosneo.receiver import A2Receiver

    with open_capture(DEMO) as reader:
        rx = A2Receiver(reader.info, id_bits=28)
        out = [b for c in reader.chunks(65536) for b in rx.process(c)] + rx.flush()
    return [b.to_record() for b in out]


@pytest.mark.usefixtures("soapy_env")
def test_device_retunes_keep_absolute_frequencies(tmp_path):
    """a2_live's stages follow a retune of the argosreplay device (which shifts the replayed
    signal like a real tuner): the bursts after it keep their absolute frequency, their offset
    moves by the retune, and a burst the retune cuts is not decoded."""
    ref = _demo_reference()
    assert len(ref) == 7
    fg = load_flowgraph(resolve_flowgraph("a2_live"), variables={
        "device": f"driver=argosreplay,file={DEMO},realtime=0", "chunk_size": 8192, "all_bursts": True,
        "output": "b.jsonl", "record": "rec"})
    # offline with a one-chunk queue: the device reads at most a few chunks ahead of the graph,
    # so each retune reaches it within ~25 000 samples of the requested one
    rt = Runtime(fg, mode="offline", queue_size=1, output_dir=tmp_path)
    up, back = 520_000, 800_000        # in the quiet gap before burst #5; inside burst #6
    for at, freq in ((up, 401.66e6), (back, 401.65e6)):
        assert rt.submit({"cmd": "set", "blocks": {"src": {"center_freq": freq}}, "at_sample": at}, wait=False)["ok"]
    summary = rt.run()
    meta = _meta(tmp_path / "rec")
    retuned = [c["core:global_index"] for c in meta["captures"][1:]]
    assert [c["core:frequency"] for c in meta["captures"]] == [401.65e6, 401.66e6, 401.65e6]
    assert up <= retuned[0] < 586_420 and back <= retuned[1] < 934_000
    got = _lines(tmp_path / "b.jsonl")
    decoded = [r for r in got if r.get("decoded", True)]
    want = [ref[i] for i in (0, 1, 2, 3, 4, 6)]      # #6 (index 5) is cut by the retune back
    assert [r["platform_id"] for r in decoded] == [r["platform_id"] for r in want]
    for g, w in zip(decoded, want):
        assert g["message_hex"] == w["message_hex"]
        assert abs(g["sample_start"] - w["sample_start"]) <= 10
        # the absolute frequency is the burst's wherever the device was tuned
        assert abs(g["frequency_hz"] - w["frequency_hz"]) <= 0.5, (g, w)
        shift = 10e3 if retuned[0] <= g["sample_start"] < retuned[1] else 0.0
        assert abs(g["offset_hz"] - (w["offset_hz"] - shift)) <= 0.5
    cut = [r for r in got if not r.get("decoded", True) and r["sample_start"] < retuned[1] <= r["sample_start"] + 170_000]
    assert cut and all(abs(r["frequency_hz"] - ref[5]["frequency_hz"]) < 50 for r in cut)
    assert any(r["reason"].startswith("cut by a retune") for r in cut), [r["reason"] for r in cut]
    assert rt.blocks["channels"].state()["retunes"] == 2 and rt.blocks["a2"].state()["retunes"] == 2
    assert summary.decoded == len(decoded) == 6
    # the recording's annotations sit at the bursts' absolute frequencies too
    boxes = [a for a in meta["annotations"] if "argosneo:platform_id" in a]
    assert [a["argosneo:stream_sample_start"] for a in boxes] == [r["sample_start"] for r in decoded]
    for a, r in zip(boxes, decoded):
        assert a["core:freq_lower_edge"] < r["frequency_hz"] < a["core:freq_upper_edge"]
    _validate(tmp_path / "rec")


@pytest.mark.usefixtures("soapy_env")
def test_run_and_rx_report_the_decoded_bursts_once(tmp_path, capsys):
    """One count of decoded bursts (the decoder's ``decoded``; the stages before it report
    none) in `argosneo run` of both shipped receivers, the rx summary and the status line."""
    assert main(["run", "a2_receiver", "--var", f"input={DEMO.with_suffix('.sigmf-meta')}", "--no-control",
                 "-o", str(tmp_path / "file")]) == 0
    assert "; 7 bursts decoded; " in capsys.readouterr().err
    assert len(_lines(tmp_path / "file" / "bursts.jsonl")) == 7
    device = f"driver=argosreplay,file={DEMO},realtime=0"
    assert main(["run", "a2_live", "--var", f"device={device}", "--no-control", "--queue-seconds", "30",
                 "-o", str(tmp_path / "live"), "--no-status"]) == 0
    assert "; 7 bursts decoded; " in capsys.readouterr().err
    assert main(["rx", "--device", device, "-o", str(tmp_path / "rx.jsonl"), "--no-status",
                 "--queue-seconds", "30", "--all-bursts", "--duration", "3.0"]) == 0
    err = capsys.readouterr().err
    assert "; 4 bursts decoded, 1 rejected, 1 cut short by a gap or the end;" in err
    assert len(_lines(tmp_path / "rx.jsonl")) == 5
    # the status line's count through the whole run, from the same runtime method
    fg = load_flowgraph(resolve_flowgraph("a2_live"), variables={"device": device, "output": "b.jsonl"})
    snaps = []
    rt = Runtime(fg, queue_seconds=30, output_dir=tmp_path / "st", status=snaps.append, status_interval=1e-3)
    summary = rt.run()
    snaps.append(rt.live_status())
    assert [bid for bid, b in rt.blocks.items() if "decoded" in b.state()] == ["decode"]
    counts = [x["decoded"] for x in snaps]
    assert counts == sorted(counts) and counts[-1] == summary.decoded == 7


def test_decoded_bursts_stay_counted_when_the_decoder_is_swapped(tmp_path):
    """A decoder swapped or removed in flight takes its counter with it; the run's count keeps it."""
    fg = load_flowgraph(resolve_flowgraph("a2_receiver"), variables={
        "input": str(DEMO.with_suffix(".sigmf-meta")), "output": "b.jsonl"})
    rt = Runtime(fg, output_dir=tmp_path)
    # a second decoder joins in the quiet gap, then the first goes at the next chunk boundary
    # (flushed and closed, its counter with it)
    def remove_first(reply):
        if "sample" in reply:     # applied (the first reply only says it is scheduled)
            rt.submit({"cmd": "remove", "block": "decode"}, wait=False)

    assert rt.submit({"cmd": "add", "block": "decode2", "type": "a2_decoder", "params": {},
                      "connections": ["a2 -> decode2", "decode2 -> bursts"], "at_sample": 530_000},
                     wait=False, on_reply=remove_first)["ok"]
    summary = rt.run()
    assert [c["ok"] for c in summary.changes] == [True, True] and summary.changes[1]["removed"] == ["decode"]
    assert "decode" not in rt.blocks
    got = _lines(tmp_path / "b.jsonl")
    # the windows that completed while both were connected were decoded by both (and written twice)
    assert {r["message_hex"] for r in got} == {r["message_hex"] for r in _demo_reference()}
    assert 0 < rt.blocks["decode2"].state()["decoded"] < summary.decoded == len(got)
    # a graph without a decoder has no count (and `run` prints none)
    plain = tmp_path / "plain.yaml"
    plain.write_text(f"blocks:\n  src: {{type: file_source, params: {{path: {DEMO.with_suffix('.sigmf-meta')}}}}}\n"
                     "  pm: {type: power_meter}\n  out: {type: jsonl_sink, params: {path: p.jsonl}}\n"
                     "connections: [src -> pm, pm -> out]\n")
    assert Runtime(load_flowgraph(plain), output_dir=tmp_path).run().decoded is None
