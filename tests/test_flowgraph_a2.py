"""The A2 receiver as a flowgraph: ``replay`` over the shipped flowgraph, deliberate retunes
that cut exactly the bursts they should, and ``soapy_source`` through libSoapySDR."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from argosneo.flowgraph.runtime import Runtime
from argosneo.flowgraph.schema import load_flowgraph
from argosneo.io.writer import SigMFWriter
from argosneo.synth.emulator import load_truth, synthesize
from argosneo.synth.scenario import Platform, Scenario
from soapy_env import soapy_env  # noqa: F401 - fixture

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "captures" / "demo.sigmf-meta"
ARGOSNEO = [sys.executable, "-m", "argosneo.cli"]
FS = 250e3


# --- replay is the shipped flowgraph --------------------------------------------------------

def test_replay_and_run_a2_receiver_write_the_same_bytes(tmp_path):
    rep = subprocess.run(ARGOSNEO + ["replay", str(DEMO), "--all-bursts", "--no-progress"],
                         capture_output=True, text=True, cwd=REPO)
    assert rep.returncode == 0, rep.stderr
    run = subprocess.run(ARGOSNEO + ["run", "a2_receiver", "--var", f"input={DEMO}", "--var", "all_bursts=true",
                                     "-o", str(tmp_path), "--no-control", "-q"],
                         capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr
    assert rep.stdout == (tmp_path / "bursts.jsonl").read_text()
    _, truths = load_truth(REPO / "captures" / "demo.truth.json")
    assert len(rep.stdout.splitlines()) == len(truths)
    assert "7 bursts decoded from 5.0 s of samples (7 carriers detected, 0 not decoded)" in rep.stderr


@pytest.mark.parametrize("options, kwargs", [
    (["--polarity", "inverted", "--id-bits", "20"], dict(polarity=-1, id_bits=20)),
    (["--pfa", "1e-4", "--chunk-size", "9973"], dict(pfa=1e-4)),
])
def test_replay_options_reach_the_flowgraph(tmp_path, options, kwargs):
    """Each option gives the records of the receiver built with that setting."""
    from argosneo.io.reader import open_capture
    from argosneo.receiver import A2Receiver

    out = tmp_path / "b.jsonl"
    rep = subprocess.run(ARGOSNEO + ["replay", str(DEMO), "--all-bursts", "--no-progress", "-o", str(out), *options],
                         capture_output=True, text=True, cwd=REPO)
    assert rep.returncode == 0, rep.stderr
    with open_capture(DEMO) as r:
        rx = A2Receiver(r.info, keep_rejected=True, **kwargs)
        expected = [b for c in r.chunks(1 << 18) for b in rx.process(c)] + rx.flush()
    assert out.read_text() == "".join(json.dumps(b.to_record()) + "\n" for b in expected)


# --- a deliberate retune away from bursts ---------------------------------------------------

@pytest.fixture(scope="module")
def four_bursts(tmp_path_factory):
    """Four bursts well apart in time, all within ±25 kHz of the centre, as a SigMF capture."""
    sc = Scenario(sample_rate=FS, duration_s=3.6, seed=11, platforms=[
        Platform(platform_id=0x1A00001 + k, n_blocks=2, offset_hz=off, ebn0_db=18, first_tx_s=t0)
        for k, (off, t0) in enumerate([(-20e3, 0.2), (8e3, 1.0), (15e3, 1.8), (-5e3, 2.7)])])
    samples, truths = synthesize(sc)
    base = tmp_path_factory.mktemp("retune") / "four"
    with SigMFWriter(base, sample_rate=FS, center_freq=sc.center_freq, start_time=sc.start_time) as w:
        w.write(samples.astype(np.complex64))
    return str(base) + ".sigmf-meta", len(samples), sorted(truths, key=lambda t: t.start_sample)


def _retune_run(tmp_path, capture, schedule, chunk):
    """Shift the band, keep ±56 kHz of it (decimate by 2), decode; returns (summary, records, a2 stats)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    p = tmp_path / "retune.yaml"
    p.write_text(textwrap.dedent(f"""\
        blocks:
          src: {{type: file_source, params: {{path: {capture}, chunk_size: {chunk}}}}}
          lo: {{type: frequency_shift, params: {{shift_hz: 0.0}}}}
          band: {{type: decimate, params: {{factor: 2, cutoff: 0.9}}}}
          a2: {{type: a2_receiver, params: {{keep_rejected: true}}}}
          bursts: {{type: jsonl_sink, params: {{path: bursts.jsonl}}}}
        connections: [src -> lo, lo -> band, band -> a2, a2 -> bursts]
        schedule: [{schedule}]
        """))
    rt = Runtime(load_flowgraph(p), output_dir=tmp_path)
    summary = rt.run()
    records = [json.loads(line) for line in (tmp_path / "bursts.jsonl").read_text().splitlines()]
    return summary, records, rt.blocks["a2"].rx.stats


def _retune_schedule(away, back):
    return (f"{{at_sample: {away}, set: {{lo: {{shift_hz: 100000.0}}}}}}, "
            f"{{at_sample: {back}, set: {{lo: {{shift_hz: 0.0}}}}}}")


def _ids(records):
    return {r["platform_id"] for r in records if r.get("decoded", True)}


def test_retune_away_cuts_exactly_the_bursts_it_should(tmp_path, four_bursts):
    capture, total, truths = four_bursts
    t1, t2, t3, t4 = truths
    # away during burst 2's unmodulated carrier (before its sync word), back in the quiet gap
    # between bursts 3 and 4: burst 2 is cut, burst 3 is never in the band, 1 and 4 untouched
    away = t2.start_sample + int(0.08 * FS)
    back = (t3.end_sample + t4.start_sample) // 2
    assert t3.end_sample < back < t4.start_sample

    ref_summary, ref, ref_stats = _retune_run(tmp_path / "ref", capture, "", 65536)
    assert _ids(ref) == {f"0x{t.platform_id:07X}" for t in truths}

    for chunk in (65536, 9973):      # the cut does not depend on where the chunks fall
        summary, got, stats = _retune_run(tmp_path / f"cut{chunk}", capture, _retune_schedule(away, back), chunk)
        assert [c["sample"] for c in summary.changes if c["ok"]] == [away, back]
        assert _ids(got) == {f"0x{t.platform_id:07X}" for t in (t1, t4)}
        # the bursts away from the retunes are decoded exactly as without them (the C/N0
        # estimate uses the noise floor measured when the burst is reported, which can be
        # after the retune: it may move a little)
        by_id = {r["platform_id"]: r for r in ref if r.get("decoded", True)}
        for r in got:
            if r.get("decoded", True):
                want = by_id[r["platform_id"]]
                level = ("cn0_dbhz", "ebn0_db")
                assert {k: v for k, v in r.items() if k not in level} == \
                    {k: v for k, v in want.items() if k not in level}
                for k in level:
                    assert abs(r[k] - want[k]) < 0.5
        # nothing lost: every sample went through, the decoder saw as many as without retunes
        assert summary.samples == ref_summary.samples == total and summary.dropped_samples == 0
        assert stats.samples == ref_stats.samples


def test_retune_away_mid_message_does_not_invent_a_platform(tmp_path, four_bursts):
    capture, total, truths = four_bursts
    t1, t2, t3, t4 = truths
    away = t2.start_sample + int(0.25 * FS)      # 36 bits into the frame: the ID is half received
    back = (t3.end_sample + t4.start_sample) // 2
    summary, got, _ = _retune_run(tmp_path, capture, _retune_schedule(away, back), 65536)
    assert summary.samples == total
    assert _ids(got) == {f"0x{t.platform_id:07X}" for t in (t1, t4)}


# --- soapy_source through libSoapySDR and the argosreplay module ----------------------------

DEMO_DATA = DEMO.with_suffix(".sigmf-data")


def test_run_live_flowgraph_on_argosreplay_decodes_the_demo(tmp_path, soapy_env):
    run = subprocess.run(ARGOSNEO + ["run", "a2_live", "--var", f"device=driver=argosreplay,file={DEMO_DATA},realtime=0",
                                     "--queue-size", "64", "-o", str(tmp_path), "--no-control"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "(live," in run.stderr and "; 0 dropped;" in run.stderr
    got = [json.loads(line) for line in (tmp_path / "bursts.jsonl").read_text().splitlines()]
    _, truths = load_truth(REPO / "captures" / "demo.truth.json")
    assert sorted(r["message_hex"] for r in got) == sorted(t.message_hex.removeprefix("0x").upper() for t in truths)
    for t in truths:    # the device's sample numbering and time stamps are the file's
        hit = [r for r in got if r["message_hex"] == t.message_hex.removeprefix("0x").upper()]
        assert abs(hit[0]["sample_start"] - t.start_sample_exact) < 0.001 * FS


def test_control_socket_retune_and_gain_reach_the_device(soapy_env):
    import tempfile

    import SoapySDR

    from argosneo.flowgraph.control import ControlServer, send_command

    short = Path(tempfile.mkdtemp(prefix="ag-"))     # a Unix socket path must stay short
    fg = load_flowgraph(REPO / "flowgraphs" / "a2_live.yaml", variables={
        "device": f"driver=argosreplay,file={DEMO_DATA},realtime=1,speed=4,loop=1", "gain": 10.0})
    rt = Runtime(fg, output_dir=short)
    server = ControlServer(rt, short / "ctl.sock")
    result = {}
    th = threading.Thread(target=lambda: result.setdefault("summary", rt.run()), daemon=True)
    th.start()
    try:
        assert rt.wait_started(30)
        dev = rt.blocks["src"]._src.device
        assert dev.getFrequency(SoapySDR.SOAPY_SDR_RX, 0) == pytest.approx(401.65e6)
        assert dev.getGain(SoapySDR.SOAPY_SDR_RX, 0) == pytest.approx(10.0)
        reply = send_command(server.path, {"cmd": "set", "block": "src",
                                           "params": {"center_freq": 401.66e6, "gain": 20.0}})
        assert reply["ok"], reply
        retuned_at = reply["sample"]
        assert dev.getFrequency(SoapySDR.SOAPY_SDR_RX, 0) == pytest.approx(401.66e6)
        assert dev.getGain(SoapySDR.SOAPY_SDR_RX, 0) == pytest.approx(20.0)
        status = send_command(server.path, {"cmd": "status"})
        assert status["blocks"]["src"]["center_freq"] == pytest.approx(401.66e6)
        assert status["blocks"]["src"]["gain"] == pytest.approx(20.0)
        # an invalid change is refused and does not reach the device
        bad = send_command(server.path, {"cmd": "set", "block": "src", "params": {"center_freq": -5.0, "gain": 30.0}})
        assert not bad["ok"], bad
        assert dev.getFrequency(SoapySDR.SOAPY_SDR_RX, 0) == pytest.approx(401.66e6)
        assert dev.getGain(SoapySDR.SOAPY_SDR_RX, 0) == pytest.approx(20.0)
        # let one whole loop of the demo (1241808 samples) go by at the new frequency
        import time

        deadline = time.monotonic() + 30
        while send_command(server.path, {"cmd": "status"})["sample"] < retuned_at + 1_300_000:
            assert time.monotonic() < deadline, "the stream stalled"
            time.sleep(0.1)
        assert send_command(server.path, {"cmd": "stop"})["ok"]
        th.join(30)
        assert not th.is_alive()
    finally:
        rt.stop()
        server.close()
    summary = result["summary"]
    assert [c["ok"] for c in summary.changes] == [True, False]
    # the command is applied in the graph at ``retuned_at``; the device retunes at its next read,
    # so chunks it had already queued (at most the queue, 16 chunks) still carry the old centre.
    # Every burst is reported against the centre of the chunks it came in: one boundary splits
    # the old centre from the new, and it lies within a queue's length after the command
    assert summary.changes[0]["sample"] == retuned_at
    got = sorted((json.loads(line) for line in (short / "bursts.jsonl").read_text().splitlines()),
                 key=lambda r: r["sample_start"])
    centres = [round(r["frequency_hz"] - r["offset_hz"]) for r in got]
    assert set(centres) <= {401_650_000, 401_660_000}
    first_new = next(i for i, c in enumerate(centres) if c == 401_660_000)
    assert all(c == 401_650_000 for c in centres[:first_new])
    assert all(c == 401_660_000 for c in centres[first_new:])
    assert all(r["sample_start"] < retuned_at + 17 * 65536 for r in got[:first_new])
    assert got[first_new]["sample_start"] > retuned_at
    assert len(got) - first_new >= 6      # a whole loop; only a burst across the retune may be cut
