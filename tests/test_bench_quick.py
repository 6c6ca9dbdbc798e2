"""Quick (smoke) runs of the benchmarks: they must work end to end; no timing assertions."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_channelizer_bench_quick(tmp_path, capsys):
    bench = _load("bench_channelizer")
    assert bench.main(["--quick", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "channelizer.json").read_text())
    rows = data["results"]
    ours = {(r["M"], r["mode"]) for r in rows if r["impl"] == "argosneo" and r["msps"] > 0}
    assert ours == {(m, mode) for m in (8, 32) for mode in ("crit", "os2")}
    notes = " ".join(data["meta"]["notes"])
    if bench.liquid_available():
        assert sum(r["impl"].startswith("liquid-dsp") for r in rows) == 4
    else:
        assert "liquid-dsp not installed" in notes
    if bench.gnuradio_available():
        assert any(r["impl"].startswith("GNU Radio") for r in rows)
    else:
        assert "GNU Radio not installed" in notes
    assert (tmp_path / "channelizer.png").stat().st_size > 1000
    assert "argosneo" in capsys.readouterr().out


def _bench_lib():
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import benchlib

    return benchlib


def test_bench_matching_against_emulator_truth():
    """The harness scores a perfect decode as perfect and classifies each kind of error."""
    bl = _bench_lib()
    from argosneo.synth import Emulator

    sc = bl.slotted_scenario(ebn0_db=10.0, bursts=12, seed=5, drift_hz_s=150.0)
    truths = Emulator(sc).schedule()
    assert len(truths) == 12
    # no two simultaneous bursts closer than the separation asked for
    for a in truths:
        for b in truths:
            if a is not b and a.start_time_s < b.end_time_s and b.start_time_s < a.end_time_s:
                assert abs(a.offset_hz - b.offset_hz) >= 15e3
    perfect = bl.truth_records(truths)
    s = bl.match(perfect, truths, sc.sample_rate).summary()
    assert s["ok"] == 12 and s["false_decodes"] == 0 and s["duplicates"] == 0

    recs = [dict(r) for r in perfect]
    recs[0]["message_hex"] = hex(int(recs[0]["message_hex"], 16) ^ 0b101)          # 2 bit errors
    recs[1]["length_code"] = recs[1]["length_code"] % 8 + 1                          # wrong N
    recs[2]["sample_start"] += int(0.006 * sc.sample_rate)                           # too late
    recs[3]["offset_hz"] += 60.0                                                     # too far off
    recs[4] = {"_kind": "rejected", "reason": "sync word has 5 bit errors",
               "sample_start": truths[4].start_sample + int(0.1 * sc.sample_rate),
               "offset_hz": truths[4].offset_hz + 20.0}
    del recs[5]                                                                      # not seen
    recs.append(dict(perfect[6]))                                                    # seen twice
    m = bl.match(recs, truths, sc.sample_rate)
    got = [o.outcome for o in m.outcomes[:7]]
    assert got == ["wrong_bits", "wrong_length", "missed", "missed", "rejected", "missed", "ok"]
    assert m.outcomes[0].bit_errors == 2
    assert m.rejected_reasons() == {"sync word has # bit errors": 1}
    assert len(m.false_decodes) == 2 and len(m.duplicates) == 1


def test_bench_theory_and_interpolation():
    bl = _bench_lib()
    from argosneo import spec

    x = bl.theory_crossing(0.1, [3])
    assert abs(spec.a2_theoretical_per(x, 3) - 0.1) < 1e-3
    # the N mix lies between its shortest and longest members
    assert bl.theory_crossing(0.1, [1]) < bl.theory_crossing(0.1) < bl.theory_crossing(0.1, [8])
    assert abs(bl.crossing([7, 8], [0.2, 0.05], 0.1) - 7.5) < 1e-9     # log-midpoint
    assert bl.crossing([7, 8], [0.5, 0.2], 0.1) is None
    lo, hi = bl.wilson_interval(0, 300)
    assert lo == 0.0 and 0.005 < hi < 0.02


def test_per_bench_quick(tmp_path, capsys):
    bench = _load("bench_per")
    assert bench.main(["--quick", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "per.json").read_text())
    points = {p["ebn0_db"]: p for p in data["runs"][0]["points"]}
    # far above threshold every burst must decode, and nothing may be invented
    hi = points[16.0]
    assert hi["bursts"] == 16 and hi["ok"] == 16 and hi["false_decodes"] == 0
    lo = points[8.0]
    assert lo["ok"] + lo["wrong_bits"] + lo["wrong_length"] + lo["rejected"] + lo["missed"] == lo["bursts"]
    assert 0 < lo["theory_per"] < 1
    assert (tmp_path / "per.png").stat().st_size > 1000
    assert "PER" in capsys.readouterr().out


def test_accuracy_bench_quick(tmp_path):
    bench = _load("bench_accuracy")
    assert bench.main(["--quick", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "accuracy.json").read_text())
    (p,) = data["points"]
    assert p["ok"] == p["bursts"] == 12
    # loose sanity bounds (the targets are for the full run to judge)
    assert p["freq_error_hz"]["rms"] < 5.0
    assert p["start_error_ms"]["max_abs"] < 5.0
    assert abs(p["cn0_error_db"]["mean"]) < 3.0
    assert (tmp_path / "accuracy.png").stat().st_size > 1000


def test_crowd_bench_quick(tmp_path):
    bench = _load("bench_crowd")
    assert bench.main(["--quick", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "crowd.json").read_text())
    assert data["truth_bursts"] > 20
    assert data["decoded_fraction"] >= 0.9
    assert data["false_decodes_total"] == 0
    assert data["replay"]["max_rss_mb"] > 0
    assert (tmp_path / "crowd.png").stat().st_size > 1000


def test_replay_bench_quick(tmp_path):
    bench = _load("bench_replay")
    assert bench.main(["--quick", "--out", str(tmp_path), "--tmp", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "replay.json").read_text())
    assert [round(r["capture_s"], 1) for r in data["length"]] == [1.5, 3.0]
    assert all(r["max_rss_mb"] > 0 and r["wall_s"] > 0 for r in data["length"] + data["rate"] + data["load"])
    # the load captures are decodable: every burst fully inside is found
    assert all(r["ok"] == r["truth_bursts"] for r in data["load"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("argosneo-replay-")]   # cleaned up
    assert (tmp_path / "replay.png").stat().st_size > 1000


def test_vld_bench_quick(tmp_path, capsys):
    bench = _load("bench_vld")
    assert bench.main(["--quick", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "vld.json").read_text())
    points = {p["ebn0_db"]: p for p in data["points"]}
    hi = points[16.0]
    assert hi["bursts"] == 8 and hi["ok"] == 8 and hi["false_decodes"] == 0
    assert abs(hi["cn0_dbhz"] - (16.0 + 23.0103)) < 1e-3   # Eb = power / 200 bit/s
    lo = points[7.0]
    assert sum(lo[k] for k in ("ok", "wrong_bits", "wrong_length", "wrong_format", "rejected", "missed")) == 8
    assert 0 < lo["theory_per"] < 1
    assert "VLD Eb/N0" in capsys.readouterr().out


def test_a3_bench_quick(tmp_path, capsys):
    bench = _load("bench_a3")
    # the reference's weight spectrum is the known one of the K = 7 (171, 133) code
    assert list(bench.weight_spectrum(16).items()) == [(10, 11), (12, 38), (14, 193), (16, 1331)]
    assert bench.main(["--quick", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "a3.json").read_text())
    points = {p["ebn0_db"]: p for p in data["points"]}
    hi = points[14.0]
    assert hi["bursts"] == 8 and hi["ok"] == 8 and hi["false_decodes"] == 0
    assert abs(hi["cn0_dbhz"] - (14.0 + 26.0206)) < 1e-3          # Eb = power / 400 bit/s
    assert set(hi["per_by_kind"]) == {"ZE", "A3 N=1", "A3 N=4", "A3 N=8"}
    lo = points[4.0]
    assert sum(lo[k] for k in bench.OUTCOMES) == 8
    assert 0 < lo["theory_per"] < 0.05
    assert (tmp_path / "a3.png").stat().st_size > 1000
    assert "A3/ZE Eb/N0" in capsys.readouterr().out
