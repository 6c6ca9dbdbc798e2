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
