"""Measurement accuracy of the full receiver versus Eb/N0: carrier frequency, drift, start time
and C/N0 of decoded bursts against the emulator's truth.

Same captures as ``bench_per`` (250 kS/s, 4 non-colliding bursts at a time, random offset in
±100 kHz, drift in ±50 Hz/s, N = 1…8), streamed through :class:`argosneo.receiver.A2Receiver`.
Errors are taken over the correctly decoded bursts:

* frequency: reported ``offset_hz`` (carrier at the burst start) − true carrier at the true start;
* drift: reported ``drift_hz_s`` − true drift;
* start time: reported ``sample_start`` − true (fractional) first carrier sample, in ms;
* C/N0: reported ``cn0_dbhz`` − true C/N0 (Eb/N0 + 10 log10 400).

Targets (A2 receiver issue): RMS frequency error ≤ 0.5 Hz at Eb/N0 ≥ 15 dB; start time within
1 ms. The Cramér-Rao bound of the frequency of a tone of the burst's total power over its whole
duration T is printed for reference: ``σ_f ≥ sqrt(6 / ((2π)² · C/N0 · T³))`` (all power as if it
were carrier, so a lower bound for a phase-modulated burst).

Usage::

    .venv/bin/python benchmarks/bench_accuracy.py [--quick] [--out DIR]

Writes ``accuracy.json`` and ``accuracy.png``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

FULL_GRID = {8: 200, 10: 200, 12: 200, 15: 200, 20: 200, 25: 200, 30: 200}
QUICK_GRID = {20: 12}
#: Frequency-error target (Hz RMS) and the Eb/N0 from which it applies (dB).
FREQ_TARGET_HZ, FREQ_TARGET_FROM_DB = 0.5, 15.0
#: Start-time target (s).
TIME_TARGET_S = 1e-3


def crb_freq_hz(cn0_dbhz: float, duration_s: float) -> float:
    """Cramér-Rao bound (Hz RMS) of a constant tone's frequency at C/N0 over ``duration_s``."""
    cn0 = 10 ** (cn0_dbhz / 10)
    return math.sqrt(6.0 / ((2 * math.pi) ** 2 * cn0 * duration_s ** 3))


def _stats(v) -> dict:
    v = np.asarray(v, float)
    if v.size == 0:
        return {"n": 0}
    return {"n": int(v.size), "mean": float(v.mean()), "std": float(v.std()),
            "rms": float(np.sqrt(np.mean(v ** 2))), "median": float(np.median(v)), "p95_abs": float(np.percentile(np.abs(v), 95)),
            "max_abs": float(np.max(np.abs(v)))}


def run_point(ebn0_db: float, bursts: int, *, seed: int, drift_hz_s: float = 50.0) -> dict:
    sc = bl.slotted_scenario(ebn0_db=ebn0_db, bursts=bursts, seed=seed, drift_hz_s=drift_hz_s)
    t0 = time.perf_counter()
    records, truths, info = bl.run_receiver_in_memory(sc)
    wall = time.perf_counter() - t0
    m = bl.match(records, truths, sc.sample_rate)
    ok = [o for o in m.outcomes if o.outcome == "ok"]
    fs = sc.sample_rate
    f_err = [float(o.record["offset_hz"]) - o.truth.offset_hz for o in ok]
    d_err = [float(o.record["drift_hz_s"]) - o.truth.drift_hz_s for o in ok
             if o.record.get("drift_hz_s") is not None]
    t_err_ms = [1e3 * (float(o.record["sample_start"]) - o.truth.start_sample_exact) / fs for o in ok]
    c_err = [float(o.record["cn0_dbhz"]) - o.truth.cn0_dbhz for o in ok
             if o.record.get("cn0_dbhz") is not None]
    e_err = [float(o.record["ebn0_db"]) - o.truth.ebn0_db for o in ok
             if o.record.get("ebn0_db") is not None]
    # the CRB depends on the burst length: average the bound's square over the bursts measured
    crb = math.sqrt(np.mean([crb_freq_hz(o.truth.cn0_dbhz, o.truth.duration_s) ** 2 for o in ok])) if ok else math.nan
    s = m.summary()
    return {
        "ebn0_db": ebn0_db, "cn0_dbhz": ebn0_db + 10 * math.log10(400.0), "seed": seed, **s,
        "freq_error_hz": _stats(f_err), "drift_error_hz_s": _stats(d_err),
        "start_error_ms": _stats(t_err_ms), "cn0_error_db": _stats(c_err), "ebn0_error_db": _stats(e_err),
        "freq_crb_hz": crb,
        "start_within_1ms": (float(np.mean(np.abs(t_err_ms) <= TIME_TARGET_S * 1e3)) if t_err_ms else math.nan),
        "wall_s": wall,
    }


def plot(result: dict, path: Path) -> None:
    plt = bl.pyplot()
    pts = [p for p in result["points"] if p["freq_error_hz"]["n"]]
    x = np.array([p["ebn0_db"] for p in pts])
    fig, axs = plt.subplots(1, 3, figsize=(13, 4))
    ax = axs[0]
    ax.semilogy(x, [p["freq_error_hz"]["rms"] for p in pts], "o-", label="RMS frequency error")
    ax.semilogy(x, [p["freq_crb_hz"] for p in pts], "k--", lw=1, label="CRB (tone, whole burst)")
    ax.axhline(FREQ_TARGET_HZ, color="r", lw=0.8, ls=":", label="target 0.5 Hz (≥ 15 dB)")
    ax.set_xlabel("Eb/N0 (dB)")
    ax.set_ylabel("Hz")
    ax.set_title("carrier frequency at burst start")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax = axs[1]
    ax.plot(x, [p["start_error_ms"]["rms"] for p in pts], "o-", label="RMS")
    ax.plot(x, [p["start_error_ms"]["max_abs"] for p in pts], "s--", label="max |error|")
    ax.plot(x, [p["start_error_ms"]["mean"] for p in pts], "^:", label="mean (bias)")
    ax.axhline(TIME_TARGET_S * 1e3, color="r", lw=0.8, ls=":", label="target 1 ms")
    ax.set_xlabel("Eb/N0 (dB)")
    ax.set_ylabel("ms")
    ax.set_title("start time (first carrier sample)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax = axs[2]
    ax.errorbar(x, [p["cn0_error_db"]["mean"] for p in pts], yerr=[p["cn0_error_db"]["std"] for p in pts],
                fmt="o-", capsize=3, label="C/N0 error mean ± std")
    ax.plot(x, [p["cn0_error_db"].get("median", np.nan) for p in pts], "s--", label="median")
    ax.plot(x, [p["cn0_error_db"]["p95_abs"] for p in pts], "^:", label="95th percentile of |error|")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xlabel("Eb/N0 (dB)")
    ax.set_ylabel("dB")
    ax.set_title("C/N0 estimate")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: one point, 12 bursts")
    ap.add_argument("--out", type=Path, default=bl.RESULTS_DIR)
    ap.add_argument("--seed", type=int, default=3030)
    a = ap.parse_args(argv)
    grid = QUICK_GRID if a.quick else FULL_GRID
    result = {"benchmark": "accuracy", "quick": a.quick, "meta": bl.machine_info(),
              "setup": {"sample_rate": 250e3, "offset_range_hz": 100e3, "drift_hz_s": 50.0,
                        "n_blocks": [1, 8], "freq_target_hz": FREQ_TARGET_HZ,
                        "freq_target_from_db": FREQ_TARGET_FROM_DB, "time_target_s": TIME_TARGET_S},
              "points": []}
    for k, (ebn0, n) in enumerate(sorted(grid.items())):
        p = run_point(float(ebn0), n, seed=a.seed + k)
        result["points"].append(p)
        fe, te, ce = p["freq_error_hz"], p["start_error_ms"], p["cn0_error_db"]
        print(f"Eb/N0 {ebn0:4.1f} dB  ok {p['ok']}/{p['bursts']}  "
              f"freq rms {fe.get('rms', math.nan):.3f} Hz (CRB {p['freq_crb_hz']:.3f}, max {fe.get('max_abs', math.nan):.2f})  "
              f"drift rms {p['drift_error_hz_s'].get('rms', math.nan):.2f} Hz/s  "
              f"start rms {te.get('rms', math.nan):.3f} ms max {te.get('max_abs', math.nan):.3f} ms  "
              f"C/N0 err {ce.get('mean', math.nan):+.2f} ± {ce.get('std', math.nan):.2f} dB", flush=True)
    hi = [p for p in result["points"] if p["ebn0_db"] >= FREQ_TARGET_FROM_DB and p["freq_error_hz"]["n"]]
    all_t = [p for p in result["points"] if p["start_error_ms"]["n"]]
    result["summary"] = {
        "freq_rms_hz_worst_at_or_above_15db": max((p["freq_error_hz"]["rms"] for p in hi), default=None),
        "freq_target_met": all(p["freq_error_hz"]["rms"] <= FREQ_TARGET_HZ for p in hi) if hi else None,
        "start_max_abs_ms": max((p["start_error_ms"]["max_abs"] for p in all_t), default=None),
        "start_target_met": all(p["start_error_ms"]["max_abs"] <= TIME_TARGET_S * 1e3 for p in all_t) if all_t else None,
    }
    print(result["summary"])
    a.out.mkdir(parents=True, exist_ok=True)
    bl.write_json(a.out / "accuracy.json", result)
    plot(result, a.out / "accuracy.png")
    print(f"wrote {a.out / 'accuracy.json'} and {a.out / 'accuracy.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
