"""The flowgraph runtime: no loss, exact-sample reconfiguration, refusals, live drops, control socket."""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from argosneo.flowgraph.control import ControlServer, send_command
from argosneo.flowgraph.runtime import Runtime, split_chunk
from argosneo.flowgraph.schema import load_flowgraph
from argosneo.io.chunk import SampleChunk, StreamInfo
from argosneo.io.reader import open_capture
from argosneo.io.writer import SigMFWriter

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "captures" / "demo.sigmf-meta"
FS = 48000.0


@pytest.fixture(scope="module")
def noise(tmp_path_factory):
    """2 s of complex noise with a tone, as a SigMF capture; returns (path, samples)."""
    base = tmp_path_factory.mktemp("cap") / "noise"
    rng = np.random.default_rng(7)
    n = int(2 * FS)
    x = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) * 0.05
    x += 0.3 * np.exp(2j * np.pi * 1500.0 * np.arange(n) / FS)
    x = x.astype(np.complex64)
    with SigMFWriter(base, sample_rate=FS, center_freq=401.65e6) as w:
        w.write(x)
    return str(base) + ".sigmf-meta", x


def write_fg(tmp_path, text, name="fg.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def dsp_graph(tmp_path, capture, chunk, schedule=""):
    return write_fg(tmp_path, f"""\
        blocks:
          src: {{type: file_source, params: {{path: {capture}, chunk_size: {chunk}}}}}
          shift: {{type: frequency_shift, params: {{shift_hz: -1500}}}}
          dec: {{type: decimate, params: {{factor: 6}}}}
          pm: {{type: power_meter, params: {{window: 1000}}}}
          rec: {{type: sigmf_record_sink, params: {{path: rec}}}}
          ev: {{type: jsonl_sink, params: {{path: power.jsonl}}}}
        connections: [src -> shift, shift -> dec, dec -> rec, dec -> pm, pm -> ev]
        schedule: [{schedule}]
        """)


def run_dsp(tmp_path, capture, chunk, schedule="", sub="out"):
    fg = load_flowgraph(dsp_graph(tmp_path, capture, chunk, schedule))
    out = tmp_path / sub
    summary = Runtime(fg, output_dir=out).run()
    with open_capture(out / "rec.sigmf-meta") as r:
        rec = r.read(0, r.total_samples)
    events = [json.loads(line) for line in (out / "power.jsonl").read_text().splitlines()]
    return summary, rec, events


def test_split_chunk_is_exact():
    info = StreamInfo(sample_rate=10.0)
    import datetime as dt
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    c = SampleChunk(np.arange(10, dtype=np.complex64), 100, info, discontinuity=True, time_anchor=t0)
    a, b = split_chunk(c, 103)
    assert (a.first_sample, len(a.samples), b.first_sample, len(b.samples)) == (100, 3, 103, 7)
    assert a.discontinuity and not b.discontinuity
    assert b.time_anchor == t0 + dt.timedelta(seconds=0.3)
    np.testing.assert_array_equal(np.concatenate([a.samples, b.samples]), c.samples)


def test_output_does_not_depend_on_chunking(tmp_path, noise):
    capture, x = noise
    s1, rec1, ev1 = run_dsp(tmp_path, capture, 4096, sub="a")
    s2, rec2, ev2 = run_dsp(tmp_path, capture, 777, sub="b")
    assert s1.samples == s2.samples == len(x)
    assert len(rec1) == -(-len(x) // 6)
    np.testing.assert_array_equal(rec1, rec2)
    assert ev1 == ev2 and len(ev1) == len(rec1) // 1000
    # the decimated tone was shifted to DC: it is the strongest, constant-phase component
    assert abs(np.mean(rec1[100:-100])) > 0.25
    assert ev1[3]["time_s"] == pytest.approx(3 * 1000 * 6 / FS)


def test_decimate_keeps_time_exact(tmp_path):
    from argosneo.flowgraph.blocks_dsp import Decimate

    info = StreamInfo(sample_rate=1000.0)
    x = np.zeros(5000, np.complex64)
    x[1230] = 1.0
    d = Decimate(factor=10)
    outs = [o for i in range(0, 5000, 333) for _, o in d.process(SampleChunk(x[i:i + 333], i, info))]
    outs += [o for _, o in d.flush()]
    y = np.concatenate([o.samples for o in outs])
    assert outs[0].first_sample == 0 and outs[0].info.sample_rate == 100.0
    assert len(y) == 500 and int(np.argmax(np.abs(y))) == 123   # 1230 / 10, no filter delay


def test_scheduled_retunes_are_phase_continuous_at_exact_samples(tmp_path, noise):
    """Retunes at random samples: the output equals one phase-continuous oscillator whose
    frequency steps exactly at those samples, whatever the chunking."""
    capture, x = noise
    rng = random.Random(3)
    at = sorted(rng.sample(range(1, len(x)), 5))
    shifts = [-1500.0, 250.0, -3000.0, 0.0, 1234.5, -1500.0]
    sched = ", ".join(f"{{at_sample: {a}, set: {{shift: {{shift_hz: {s}}}}}}}" for a, s in zip(at, shifts[1:]))
    fg = load_flowgraph(write_fg(tmp_path, f"""\
        blocks:
          src: {{type: file_source, params: {{path: {capture}, chunk_size: 5000}}}}
          shift: {{type: frequency_shift, params: {{shift_hz: -1500}}}}
          rec: {{type: sigmf_record_sink, params: {{path: rec}}}}
        connections: [src -> shift, shift -> rec]
        schedule: [{sched}]
        """))
    summary = Runtime(fg, output_dir=tmp_path / "o").run()
    assert [c["sample"] for c in summary.changes] == at and all(c["ok"] for c in summary.changes)
    with open_capture(tmp_path / "o" / "rec.sigmf-meta") as r:
        y = r.read(0, r.total_samples)
    f = np.full(len(x), shifts[0])
    for a, s in zip(at, shifts[1:]):
        f[a:] = s
    phase = np.concatenate([[0.0], np.cumsum(2 * np.pi * f[:-1] / FS)])
    np.testing.assert_allclose(y, x * np.exp(1j * phase), atol=2e-5)


def test_refused_change_leaves_output_identical(tmp_path, noise):
    capture, _ = noise
    _, rec0, ev0 = run_dsp(tmp_path, capture, 3000, sub="ref")
    bad = ", ".join([
        "{at_sample: 5000, set: {shift: {shift_hz: 30000.0}}}",
        "{at_sample: 7000, set: {shift: {shift_hz: 1.0e9}}}",
        "{at_sample: 9000, set: {dec: {factor: 3}}}",
        "{at_sample: 11000, remove: src}",
        "{at_sample: 13000, add: {pm2: {type: power_meter, params: {window: 10}}}}",
        "{at_sample: 15000, swap: {pm: {type: gain}}}",
    ])
    s, rec, ev = run_dsp(tmp_path, capture, 3000, schedule=bad, sub="bad")
    assert [c["ok"] for c in s.changes] == [False] * 6
    reasons = [c["error"] for c in s.changes]
    assert "outside ±24000 Hz" in reasons[0] and "outside" in reasons[1]
    assert "cannot change while running" in reasons[2]
    assert "source block" in reasons[3]
    assert "not connected" in reasons[4]
    assert "pm.out carries samples but ev.in takes events" in reasons[5]
    np.testing.assert_array_equal(rec, rec0)
    assert ev == ev0


def test_a2_no_loss_with_random_reconfigurations(tmp_path):
    """The demo capture decodes the same bursts, and the same samples go through, with six
    changes at random samples (branches added/removed, threshold touched, block swapped) as
    without — and as the hand-wired receiver chain."""
    from argosneo.receiver import A2Receiver

    with open_capture(DEMO) as r:
        rx = A2Receiver(r.info)
        wired = [b.to_record() for c in r.chunks(1 << 16) for b in rx.process(c)]
        wired += [b.to_record() for b in rx.flush()]
        total = r.total_samples
    assert len(wired) == 7

    def run(schedule, sub):
        text = (REPO / "flowgraphs" / "a2_scheduled_reconfig.yaml").read_text()
        text = text[: text.index("schedule:")] + "schedule:\n" + schedule
        fg = load_flowgraph(write_fg(tmp_path, text, sub + ".yaml"), variables={"input": str(DEMO)})
        s = Runtime(fg, output_dir=tmp_path / sub).run()
        recs = [json.loads(x) for x in (tmp_path / sub / "bursts.jsonl").read_text().splitlines()]
        return s, recs

    s0, base = run("  []\n", "plain")
    assert base == wired and s0.samples == total
    rng = random.Random(2026)
    at = sorted(rng.sample(range(1, total), 6))
    actions = ["configuration: monitor", "set: {a2: {pfa: 5.0e-8}}", "swap: {power: {type: power_meter, params: {window: 5000}}}",
               "configuration: base", "configuration: monitor", "remove: power"]
    sched = "".join(f"  - {{at_sample: {a}, {act}}}\n" for a, act in zip(at, actions))
    s1, recs = run(sched, "changed")
    assert [c["ok"] for c in s1.changes] == [True, True, True, True, True, False], s1.changes
    assert "not connected" in s1.changes[-1]["error"]   # removing power would leave 'levels' unfed
    assert [c["sample"] for c in s1.changes] == at
    assert s1.samples == total
    assert recs == wired


def test_live_mode_drops_are_counted_and_offline_never_drops(tmp_path):
    text = f"""\
        blocks:
          src: {{type: file_source, params: {{path: {DEMO}, chunk_size: 2048}}}}
          a2: {{type: a2_receiver}}
          out: {{type: jsonl_sink, params: {{path: b.jsonl}}}}
        connections: [src -> a2, a2 -> out]
        """
    fg = load_flowgraph(write_fg(tmp_path, text))
    logged = []
    live = Runtime(fg, mode="live", queue_size=1, output_dir=tmp_path / "live", log=logged.append).run()
    assert live.drop_events > 0 and live.dropped_samples > 0
    assert live.samples + live.dropped_samples == 1250000
    drops = [m for m in logged if m.startswith("dropped ")]
    assert len(drops) == live.drop_events
    assert sum(int(m.split()[1]) for m in drops) == live.dropped_samples
    offline = Runtime(fg, mode="offline", queue_size=1, output_dir=tmp_path / "off").run()
    assert offline.dropped_samples == 0 and offline.samples == 1250000


def _paced_graph(tmp_path, capture):
    return load_flowgraph(write_fg(tmp_path, f"""\
        blocks:
          src: {{type: file_source, params: {{path: {capture}, chunk_size: 2400, realtime: true}}}}
          shift: {{type: frequency_shift}}
          pm: {{type: power_meter, params: {{window: 4800}}}}
          ev: {{type: jsonl_sink, params: {{path: power.jsonl}}}}
        connections: [src -> shift, shift -> pm, pm -> ev]
        configurations:
          quiet: {{set: {{pm: {{min_power_db: 100}}}}}}
        """, "paced.yaml"))


def test_control_socket(tmp_path, noise):
    capture, _ = noise
    rt = Runtime(_paced_graph(tmp_path, capture), output_dir=tmp_path / "o")
    sock = tmp_path / "c.sock"
    server = ControlServer(rt, sock)
    result = {}
    th = threading.Thread(target=lambda: result.update(s=rt.run()))
    th.start()
    try:
        assert rt.wait_started()
        raw = socket.socket(socket.AF_UNIX)
        raw.connect(str(sock))
        f = raw.makefile("rwb")

        def ask(line: bytes):
            f.write(line + b"\n")
            f.flush()
            return json.loads(f.readline())

        for line, expected in [
            (b"not json", "malformed command: not JSON"),
            (b"[1, 2]", "malformed command: expected a JSON object"),
            (b'{"command": "status"}', 'malformed command: missing "cmd"'),
            (b'{"cmd": "explode"}', "unknown command 'explode'"),
            (b'{"cmd": "set", "block": "pm"}', "malformed command: 'set' needs 'params'"),
            (b'{"cmd": "set", "block": "pm", "params": {"min_power_db": 1}, "x": 1}', "does not take 'x'"),
            (b'{"cmd": "configuration", "name": 3}', "'name' must be a configuration name"),
            (b'{"cmd": "set", "block": "pm", "params": {"window": 10}}', "cannot change while running"),
            (b'{"cmd": "configuration", "name": "loud"}', "no configuration named 'loud'"),
            (b'{"cmd": "set", "block": "nothere", "params": {"x": 1}}', "no block named 'nothere'"),
            (b'{"cmd": "set", "block": "pm", "params": {"min_power_db": 1}, "at_sample": 0}', "already been processed"),
        ]:
            reply = ask(line)
            assert reply["ok"] is False and expected in reply["error"], (line, reply)
        st = ask(b'{"cmd": "status"}')
        assert st["ok"] and st["running"] and st["blocks"]["pm"]["type"] == "power_meter"
        reply = send_command(sock, {"cmd": "set", "blocks": {"shift": {"shift_hz": 100.0}}})
        assert reply["ok"] and reply["reconfigured"] == {"shift": {"shift_hz": 100.0}}
        reply = send_command(sock, {"cmd": "configuration", "name": "quiet", "at_sample": 80000})
        assert reply == {"ok": True, "scheduled_sample": 80000}
        raw.close()
        assert send_command(sock, {"cmd": "stop"})["ok"]
        th.join(10)
    finally:
        rt.stop()
        th.join(10)
        server.close()
    s = result["s"]
    assert s.interrupted and s.samples < 96000
    applied = [c for c in s.changes if c["ok"]]
    assert applied[0]["sample"] % 2400 == 0   # immediate changes land on a chunk boundary
    assert not sock.exists()
    assert s.samples < 80000 and s.changes[-1]["ok"] is False   # stopped before the scheduled change
    assert (tmp_path / "o" / "power.jsonl").read_text().count("\n") == s.samples // 4800


def test_sigint_stops_cleanly_and_flushes(tmp_path, noise):
    capture, _ = noise
    fgp = _paced_graph(tmp_path, capture).path
    sock = tmp_path / "r.sock"
    proc = subprocess.Popen([sys.executable, "-m", "argosneo.cli", "run", fgp, "-o", str(tmp_path / "run"),
                             "--control-socket", str(sock)], stderr=subprocess.PIPE, text=True, cwd=REPO)
    deadline = time.monotonic() + 30
    while not sock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "stopping (flushing every sink" in err and "argosneo: interrupted" in err
    lines = (tmp_path / "run" / "power.jsonl").read_text().splitlines()
    assert all(json.loads(x)["power_db"] for x in lines)
    log = [json.loads(x) for x in (tmp_path / "run" / "run-log.jsonl").read_text().splitlines()]
    assert log[0]["event"] == "start" and log[-1]["event"] == "end"
    assert not sock.exists()
