"""Speed and memory of ``argosneo replay``: real-time factor and peak RSS versus capture length,
sample rate and the number of simultaneous bursts.

Captures are written by the emulator into a temporary directory as 8-bit unsigned IQ (``cu8``,
the RTL-SDR format, 2 bytes per sample):

* *length*: one 2.4 MS/s capture (300 platforms over ±1.1 MHz, Eb/N0 12…30 dB, ±50 Hz/s,
  45…90 s period, no collisions) of the longest length; shorter ones are byte prefixes of it
  saved as raw ``.cu8`` files (30 s, 120 s, 208.3 s = 1 GB, 600 s = 2.9 GB);
* *typical*: a sparse 2.4 MS/s capture as ``argosneo synth --rate 2.4e6 --duration 600
  --platforms 60 --offset-range -100e3 100e3 --ebn0 15 --datatype cu8`` makes it (60 platforms,
  one burst a minute each, ≈ 0.56 bursts/s), whole and its first 30 s;
* *rate*: a 250 kS/s capture (30 platforms over ±100 kHz, 120 s);
* *load*: 30 s at 2.4 MS/s with K platforms transmitting back to back (N = 8 bursts of 0.92 s
  every 1.0 s alternating between two platforms a third of a slot apart, so ≈ 0.92·K bursts
  are on the air at any time), K = 0, 16, 64, 128, at 20 dB.

Every run is a fresh ``argosneo replay`` child process pinned to one core (``taskset -c 0``,
``NUMBA_NUM_THREADS=1``) with its JSON output going to a file; wall time, CPU time (user + sys)
and peak RSS (``wait4``) are recorded, so start-up (imports, Numba cache loading) is included.
A warm-up run fills the Numba cache first. The machine is shared: the CPU-time real-time factor
is less sensitive to other jobs than the wall-clock one.

Targets: ≥ 20× real time at 2.4 MS/s on one core; peak RSS ≤ 300 MB for any length.

Usage::

    .venv/bin/python benchmarks/bench_replay.py [--quick] [--out DIR] [--tmp DIR]

Writes ``replay.json`` and ``replay.png``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

FS_HIGH = 2.4e6
FS_LOW = 250e3
FULL = dict(lengths=(30.0, 120.0, 1e9 / 2 / FS_HIGH, 600.0), low_s=120.0, load_s=30.0,
            loads=(0, 16, 64, 128), platforms=300, low_platforms=30, typical=(30.0, 600.0), typical_platforms=60)
QUICK = dict(lengths=(1.5, 3.0), low_s=3.0, load_s=3.0, loads=(0, 4), platforms=6, low_platforms=3,
             typical=(1.5, 3.0), typical_platforms=2)
TARGET_RTF = 20.0
TARGET_RSS_MB = 300.0


def _crowd(fs: float, duration_s: float, count: int, span_hz: float, seed: int, period=(45.0, 90.0)):
    from argosneo.synth import CrowdSpec, Scenario

    return Scenario(sample_rate=fs, duration_s=duration_s, seed=seed, datatype="cu8", avoid_collisions=True,
                    crowd=CrowdSpec(count=count, offset_range_hz=(-span_hz, span_hz), ebn0_db=(12.0, 30.0),
                                    drift_hz_s=(-50.0, 50.0), period_s=period, n_blocks=(1, 8)))


def _typical(duration_s: float, count: int):
    """The scenario ``argosneo synth --rate 2.4e6 --duration D --platforms N --offset-range
    -100e3 100e3 --ebn0 15 --datatype cu8`` builds (its defaults: seed 1, period 60 s, no drift)."""
    from argosneo.commands.synth import _build_scenario, synth

    args = ["unused", "--rate", str(FS_HIGH), "--duration", str(duration_s), "--platforms", str(count),
            "--offset-range", "-100e3", "100e3", "--ebn0", "15", "--datatype", "cu8"]
    with synth.make_context("synth", args) as ctx:
        return _build_scenario(ctx.params)


def _load(duration_s: float, k: int, seed: int):
    """K frequency slots over ±1.1 MHz, each with two platforms taking turns (period 2 s, N = 8
    bursts of 0.92 s, the second 1 s after the first and a third of a slot higher), so about
    0.92·K bursts are on the air at any time, yet no platform follows its own burst closely."""
    from argosneo.synth import Platform, Scenario

    rng = np.random.default_rng([seed, k])
    span = 2.2e6
    step = span / max(k, 1)
    plats = []
    for i in range(k):
        f = -span / 2 + (i + 0.1 + 0.4 * float(rng.uniform())) * step
        t0 = float(rng.uniform(0.0, 1.0))
        for j, (df, dt) in enumerate(((0.0, 0.0), (step / 3, 1.0))):
            plats.append(Platform(platform_id=int(0x100000 + 2 * i + j), id_bits=28, n_blocks=8, period_s=2.0,
                                  jitter_s=0.0, first_tx_s=t0 + dt, offset_hz=f + df,
                                  drift_hz_s=float(rng.uniform(-50, 50)), ebn0_db=20.0))
    return Scenario(sample_rate=FS_HIGH, duration_s=duration_s, seed=seed, datatype="cu8", platforms=plats)


def _write(sc, base: Path) -> tuple[Path, list, float]:
    """Synthesise ``sc`` and expose its data as raw ``<base>.cu8``; returns (path, truths, seconds)."""
    from argosneo.synth import write_capture

    t0 = time.perf_counter()
    res = write_capture(sc, base, progress=False)
    raw = base.with_suffix(".cu8")
    os.replace(res.data_path, raw)
    res.meta_path.unlink()
    return raw, res.bursts, time.perf_counter() - t0


def _prefix(src: Path, dst: Path, samples: int) -> None:
    """Copy the first ``samples`` cu8 samples of ``src`` to ``dst``."""
    left = 2 * samples
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        while left > 0:
            buf = fi.read(min(left, 1 << 24))
            if not buf:
                break
            fo.write(buf)
            left -= len(buf)


def measure(path: Path, fs: float, work: Path, truths=None, label: str = "") -> dict:
    """One replay run of a raw cu8 file; returns timing, RSS and decode counts."""
    duration = path.stat().st_size / 2 / fs
    cmd = bl.replay_command(path, samp_rate=fs, extra=["--no-progress"])
    run = bl.run_child(cmd, stdout_path=work / (path.stem + ".jsonl"), cpu=0, threads=1)
    if run.returncode != 0:
        raise SystemExit(f"replay of {path} failed ({run.returncode}): {run.stderr[-2000:]}")
    records = bl.read_records(run.stdout_path)
    decoded = [r for r in records if r["_kind"] == "decoded"]
    out = {"label": label, "file": path.name, "sample_rate": fs, "capture_s": duration,
           "file_mb": path.stat().st_size / 1e6, "wall_s": run.wall_s, "cpu_s": run.user_s + run.sys_s,
           "realtime_factor": duration / run.wall_s, "realtime_factor_cpu": duration / max(run.user_s + run.sys_s, 1e-9),
           "max_rss_mb": run.max_rss_mb, "decoded": len(decoded)}
    if truths is not None:
        # bursts wholly inside this (possibly truncated) file
        n_samp = path.stat().st_size // 2
        inside = [t for t in truths if t.end_sample <= n_samp]
        m = bl.match(decoded, inside, fs)
        neighbours, _ = bl.neighbour_breakdown(m.outcomes)
        out.update(truth_bursts=len(inside), ok=m.count("ok"), false_decodes=len(m.false_decodes),
                   wrong_bits=m.count("wrong_bits"), wrong_length=m.count("wrong_length"),
                   not_decoded=m.count("missed") + m.count("rejected"), failures_by_neighbour=neighbours)
    print(f"{label:>14s}  {path.name:>22s}  {duration:7.1f} s  wall {run.wall_s:7.1f} s "
          f"({out['realtime_factor']:6.1f}x, CPU {out['realtime_factor_cpu']:6.1f}x)  "
          f"RSS {run.max_rss_mb:6.0f} MB  decoded {len(decoded)}"
          + (f" ok {out['ok']}/{out['truth_bursts']}" if truths is not None else ""), flush=True)
    return out


def baseline_rss(work: Path) -> dict:
    """Peak RSS of a child that only imports the replay command and builds the receiver (no
    samples): the fixed cost under every figure (interpreter, numpy/scipy/numba, JIT code)."""
    code = ("import argosneo.commands.replay; from argosneo.receiver import A2Receiver; "
            "from argosneo.io.chunk import StreamInfo; "
            "[A2Receiver(StreamInfo(sample_rate=fs)) for fs in (2.4e6, 250e3)]")
    run = bl.run_child([str(bl.PYTHON), "-c", code], stdout_path=work / "baseline.out", cpu=0, threads=1)
    out = {"max_rss_mb": run.max_rss_mb, "wall_s": run.wall_s, "returncode": run.returncode}
    print(f"baseline (imports + receivers, no samples): RSS {run.max_rss_mb:.0f} MB, {run.wall_s:.1f} s", flush=True)
    return out


def plot(result: dict, path: Path) -> None:
    plt = bl.pyplot()
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    fig, axs = plt.subplots(1, 3, figsize=(15, 4.2))
    ln = result["length"]
    x = [r["capture_s"] for r in ln]

    def lengths_axis(ax):
        ax.set_xscale("log")
        ax.set_xticks(x)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("capture length (s), 2.4 MS/s cu8")

    ax = axs[0]
    ax.plot(x, [r["realtime_factor"] for r in ln], "o-", label="2.4 MS/s, wall clock")
    ax.plot(x, [r["realtime_factor_cpu"] for r in ln], "s--", label="2.4 MS/s, CPU time")
    for r in result["rate"]:
        ax.axhline(r["realtime_factor"], color="tab:green", lw=1,
                   label=f"250 kS/s, {r['capture_s']:g} s capture: {r['realtime_factor']:.0f}x")
    ax.axhline(TARGET_RTF, color="r", lw=0.8, ls=":", label="target 20x (2.4 MS/s)")
    lengths_axis(ax)
    ax.set_ylim(0, max(TARGET_RTF, *(r["realtime_factor"] for r in result["rate"])) * 1.15)
    ax.set_ylabel("real-time factor (one core)")
    ax.set_title("speed vs length (300-platform crowd)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax = axs[1]
    ld = result["load"]
    ax.plot([r["simultaneous"] for r in ld], [r["realtime_factor"] for r in ld], "o-", label="wall clock")
    ax.plot([r["simultaneous"] for r in ld], [r["realtime_factor_cpu"] for r in ld], "s--", label="CPU time")
    ax.axhline(1.0, color="k", lw=0.6)
    ax.set_yscale("log")
    ax.set_xlabel("mean bursts on the air (30 s, 2.4 MS/s)")
    ax.set_ylabel("real-time factor (one core)")
    ax.set_title("speed vs simultaneous bursts")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax = axs[2]
    ax.plot(x, [r["max_rss_mb"] for r in ln], "o-", label="vs length (bottom axis)")
    if "baseline" in result:
        ax.axhline(result["baseline"]["max_rss_mb"], color="0.5", lw=1, ls="--",
                   label="imports + receiver, no samples")
    ax.axhline(TARGET_RSS_MB, color="r", lw=0.8, ls=":", label="target 300 MB")
    lengths_axis(ax)
    ax.set_ylabel("peak RSS (MB)")
    ax.set_ylim(0, max(TARGET_RSS_MB * 1.2, max(r["max_rss_mb"] for r in ln) * 1.1))
    ax2 = ax.twiny()
    ax2.plot([r["simultaneous"] for r in ld], [r["max_rss_mb"] for r in ld], "s--", color="tab:orange",
             label="vs simultaneous bursts (top axis)")
    ax2.set_xlabel("mean bursts on the air")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="lower right")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: captures of a few seconds")
    ap.add_argument("--out", type=Path, default=bl.RESULTS_DIR)
    ap.add_argument("--tmp", type=Path, help="directory for the captures (default: a temp dir)")
    ap.add_argument("--seed", type=int, default=5150)
    a = ap.parse_args(argv)
    cfg = QUICK if a.quick else FULL
    result = {"benchmark": "replay", "quick": a.quick, "meta": bl.machine_info(),
              "replay_command": "argosneo replay FILE --samp-rate R --no-progress",
              "pinning": "taskset -c 0, NUMBA_NUM_THREADS=1", "length": [], "typical": [], "rate": [], "load": []}
    tmp_root = tempfile.mkdtemp(prefix="argosneo-replay-", dir=a.tmp)
    work = Path(tmp_root)
    try:
        longest = max(cfg["lengths"])
        raw, truths, synth_s = _write(_crowd(FS_HIGH, longest, cfg["platforms"], 1.1e6, a.seed,
                                             period=(45.0, 90.0) if not a.quick else (1.0, 2.0)), work / "long")
        print(f"synthesised {longest:g} s at 2.4 MS/s ({raw.stat().st_size / 1e9:.2f} GB, {len(truths)} bursts) "
              f"in {synth_s:.0f} s", flush=True)
        # warm-up: the Numba cache is filled (or loaded) before anything is timed
        warm = work / "warm.cu8"
        _prefix(raw, warm, int(min(2.0, longest) * FS_HIGH))
        measure(warm, FS_HIGH, work, label="warm-up")
        warm.unlink()
        result["baseline"] = baseline_rss(work)
        for length in sorted(cfg["lengths"]):
            n = int(round(length * FS_HIGH))
            if length == longest:
                path = raw
            else:
                path = work / f"len{length:g}s.cu8"
                _prefix(raw, path, n)
            result["length"].append(measure(path, FS_HIGH, work, truths, label=f"length {length:g} s"))
            if path != raw:
                path.unlink()
        raw.unlink()

        longest = max(cfg["typical"])
        raw, truths, _ = _write(_typical(longest, cfg["typical_platforms"]), work / "typical")
        for length in sorted(cfg["typical"]):
            path = raw
            if length != longest:
                path = work / f"typical{length:g}s.cu8"
                _prefix(raw, path, int(round(length * FS_HIGH)))
            result["typical"].append(measure(path, FS_HIGH, work, truths, label=f"typical {length:g} s"))
            if path != raw:
                path.unlink()
        raw.unlink()

        low, low_truths, _ = _write(_crowd(FS_LOW, cfg["low_s"], cfg["low_platforms"], 100e3, a.seed + 1,
                                           period=(45.0, 90.0) if not a.quick else (1.0, 2.0)), work / "low")
        result["rate"].append(measure(low, FS_LOW, work, low_truths, label="250 kS/s"))
        low.unlink()

        for k in cfg["loads"]:
            path, lt, _ = _write(_load(cfg["load_s"], k, a.seed + 2), work / f"load{k}")
            r = measure(path, FS_HIGH, work, lt, label=f"{k} at once")
            r["slots"] = k
            # mean number of bursts on the air
            r["simultaneous"] = sum(t.duration_s for t in lt) / cfg["load_s"]
            result["load"].append(r)
            path.unlink()
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)

    hi = [r for r in result["length"] if r["capture_s"] >= 30] or result["length"]
    result["summary"] = {
        "rtf_2p4msps_min": min(r["realtime_factor"] for r in hi),
        "rtf_2p4msps_cpu_min": min(r["realtime_factor_cpu"] for r in hi),
        "rtf_typical_cpu": {f"{r['capture_s']:g} s": r["realtime_factor_cpu"] for r in result["typical"]},
        "rtf_250ksps": result["rate"][0]["realtime_factor"],
        "max_rss_mb": max(r["max_rss_mb"] for r in result["length"] + result["rate"] + result["load"]),
        "target_rtf": TARGET_RTF, "target_rss_mb": TARGET_RSS_MB,
    }
    result["summary"]["rtf_target_met"] = result["summary"]["rtf_2p4msps_min"] >= TARGET_RTF
    result["summary"]["rss_target_met"] = result["summary"]["max_rss_mb"] <= TARGET_RSS_MB
    print(result["summary"])
    a.out.mkdir(parents=True, exist_ok=True)
    bl.write_json(a.out / "replay.json", result)
    plot(result, a.out / "replay.png")
    print(f"wrote {a.out / 'replay.json'} and {a.out / 'replay.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
