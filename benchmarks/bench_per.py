"""Sensitivity of the full receiver: packet error rate (and BER) versus Eb/N0, against theory.

Each Eb/N0 point is one emulated 250 kS/s capture of non-colliding PTT-A2 bursts (4 at a time,
random carrier offset in ±100 kHz, random drift, random length N = 1…8, random data), rendered
in memory chunk by chunk and streamed through :class:`argosneo.receiver.A2Receiver`. Decodes are
matched to the emulator's truth (``benchlib.match``); a packet is correct when it is decoded with
the right length and exactly the transmitted message bits. Failures are broken down into not
detected / detected but rejected (by reason) / decoded with wrong length or bits.

The theory is ``argosneo.spec.a2_theoretical_per`` (coherent matched filter, every bit after the
sync right) averaged over the lengths actually transmitted; the implementation loss is the Eb/N0
difference where measured and theoretical PER cross 10 % (``log PER`` interpolated linearly).

Usage::

    .venv/bin/python benchmarks/bench_per.py            # full (≈ 10 min)
    .venv/bin/python benchmarks/bench_per.py --quick    # smoke run (seconds)

Writes ``per.json`` and ``per.png`` into ``benchmarks/results`` (or ``--out``).
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

#: PER level at which the implementation loss is read.
LOSS_LEVEL = 0.1

FULL_RUNS = [
    # (drift ±Hz/s, {Eb/N0 dB: bursts})
    (50.0, {5: 300, 6: 400, 7: 800, 8: 800, 9: 800, 10: 800, 11: 600, 12: 600}),
    (150.0, {6: 300, 7: 500, 8: 500, 9: 500, 10: 300, 12: 300}),
]
QUICK_RUNS = [(50.0, {8: 16, 16: 16})]


def run_point(ebn0_db: float, bursts: int, *, drift_hz_s: float, seed: int) -> dict:
    """Run one Eb/N0 point; returns the JSON-ready result (summary plus one row per burst)."""
    from argosneo import spec

    sc = bl.slotted_scenario(ebn0_db=ebn0_db, bursts=bursts, seed=seed, drift_hz_s=drift_hz_s)
    t0 = time.perf_counter()
    records, truths, info = bl.run_receiver_in_memory(sc)
    wall = time.perf_counter() - t0
    m = bl.match(records, truths, sc.sample_rate)
    s = m.summary()
    n = s["bursts"]
    errors = n - s["ok"]
    ns = np.array([t.n_blocks for t in truths])
    theory = float(np.mean([spec.a2_theoretical_per(ebn0_db, int(k)) for k in ns])) if n else math.nan
    # BER over the bursts decoded with the right length (the only ones whose bits line up)
    bit_err = sum(o.bit_errors for o in m.outcomes if o.bit_errors is not None)
    bit_tot = sum(len(o.truth.message_bits) + spec.A2_LENGTH_FIELD_BITS
                  for o in m.outcomes if o.bit_errors is not None)
    chpos = bl.channel_position([t.offset_hz for t in truths], info["channel_offsets_hz"])
    rows = [[round(float(o.truth.offset_hz), 1), round(float(o.truth.drift_hz_s), 2), o.truth.n_blocks,
             round(float(cp), 3), o.outcome, o.reason, o.bit_errors]
            for o, cp in zip(m.outcomes, chpos)]
    per_n = {}
    for k in range(1, spec.A2_MAX_BLOCKS + 1):
        sel = [o for o in m.outcomes if o.truth.n_blocks == k]
        if sel:
            per_n[str(k)] = {"bursts": len(sel), "errors": sum(o.outcome != "ok" for o in sel),
                             "theory": float(spec.a2_theoretical_per(ebn0_db, k))}
    lo, hi = bl.wilson_interval(errors, n)
    return {
        "ebn0_db": ebn0_db, "drift_hz_s": drift_hz_s, "seed": seed, **s,
        "per": errors / n if n else math.nan, "per_ci95": [lo, hi], "theory_per": theory,
        "ber": bit_err / bit_tot if bit_tot else math.nan, "ber_bits": bit_tot,
        "theory_ber": float(spec.a2_theoretical_ber(ebn0_db)),
        "per_by_n": per_n, "receiver_stats": info["stats"],
        "capture_s": info["samples"] / sc.sample_rate, "receiver_s": info["seconds"], "wall_s": wall,
        "columns": ["offset_hz", "drift_hz_s", "n_blocks", "channel_position", "outcome", "reason",
                    "bit_errors"],
        "rows": rows,
    }


def edge_breakdown(points) -> dict:
    """Failure rate by position in the channel (0 = centre, 0.5 = half-way to the next)."""
    bins = [0.0, 0.1, 0.2, 0.3, 0.4, 0.51]
    out = []
    allrows = [r for p in points for r in p["rows"]]
    for a, b in zip(bins[:-1], bins[1:]):
        sel = [r for r in allrows if a <= r[3] < b]
        out.append({"from": a, "to": min(b, 0.5), "bursts": len(sel),
                    "errors": sum(r[4] != "ok" for r in sel)})
    return {"bins": out}


def summarise_run(points) -> dict:
    x = np.array([p["ebn0_db"] for p in points], float)
    y = np.array([p["per"] for p in points], float)
    measured = bl.crossing(x, y, LOSS_LEVEL)
    mix = [r[2] for p in points for r in p["rows"]]
    theory = bl.theory_crossing(LOSS_LEVEL, mix if mix else range(1, 9))
    return {"ebn0_at_per10_measured": measured, "ebn0_at_per10_theory": theory,
            "implementation_loss_db": None if measured is None else measured - theory,
            "by_channel_position": edge_breakdown(points)}


def plot(result: dict, path: Path) -> None:
    plt = bl.pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.3))
    grid = np.linspace(3, 14, 200)
    ax.semilogy(grid, bl.theory_per(grid), "k-", lw=1, label="theory (N = 1…8 mix)")
    bx.semilogy(grid, __import__("argosneo.spec", fromlist=["x"]).a2_theoretical_ber(grid), "k-", lw=1,
                label="theory")
    for run, mk in zip(result["runs"], ("o", "s", "^")):
        pts = [p for p in run["points"] if p["bursts"]]
        x = np.array([p["ebn0_db"] for p in pts])
        y = np.array([p["per"] for p in pts])
        lo = np.array([p["per_ci95"][0] for p in pts])
        hi = np.array([p["per_ci95"][1] for p in pts])
        loss = run["summary"]["implementation_loss_db"]
        lab = f"receiver, drift ±{run['drift_hz_s']:g} Hz/s" + (f" (loss {loss:.2f} dB)" if loss is not None else "")
        nz = y > 0
        line = ax.errorbar(x[nz], y[nz], yerr=[y[nz] - lo[nz], hi[nz] - y[nz]], fmt=mk, ms=5, capsize=2, label=lab)
        if (~nz).any():
            # no error seen: only the 95 % upper bound is known
            ax.plot(x[~nz], hi[~nz], "v", color=line[0].get_color(), ms=6, mfc="none",
                    label=f"0 errors: 95 % upper bound (±{run['drift_hz_s']:g} Hz/s)")
        b = np.array([p["ber"] for p in pts])
        bx.semilogy(x, np.where(b > 0, b, np.nan), mk, ms=5, label=f"drift ±{run['drift_hz_s']:g} Hz/s")
    ax.axhline(LOSS_LEVEL, color="0.7", lw=0.8, ls="--")
    ax.set_xlabel("Eb/N0 (dB), Eb = total power / 400 bit/s")
    ax.set_ylabel("packet error rate")
    ax.set_title("PTT-A2 PER, full receiver (250 kS/s, ±100 kHz)")
    ax.set_ylim(1e-4, 1.2)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    bx.set_xlabel("Eb/N0 (dB)")
    bx.set_ylabel("bit error rate (bursts decoded with right N)")
    bx.set_title("BER")
    bx.set_ylim(1e-7, 0.5)
    bx.grid(True, which="both", alpha=0.3)
    bx.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 points, 16 bursts each")
    ap.add_argument("--out", type=Path, default=bl.RESULTS_DIR, help="output directory")
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args(argv)
    runs = QUICK_RUNS if a.quick else FULL_RUNS
    result = {"benchmark": "per", "quick": a.quick, "meta": bl.machine_info(),
              "setup": {"sample_rate": 250e3, "offset_range_hz": 100e3, "bursts_at_once": 4,
                        "min_separation_hz": 15e3, "n_blocks": [1, 8], "id_bits": 28,
                        "time_tol_s": bl.TIME_TOL_S, "freq_tol_hz": bl.FREQ_TOL_HZ,
                        "loss_level": LOSS_LEVEL},
              "runs": []}
    for ri, (drift, grid) in enumerate(runs):
        points = []
        for k, (ebn0, n) in enumerate(sorted(grid.items())):
            p = run_point(float(ebn0), n, drift_hz_s=drift, seed=a.seed + 1000 * ri + k)
            points.append(p)
            print(f"drift ±{drift:g} Hz/s  Eb/N0 {ebn0:5.1f} dB  bursts {p['bursts']:4d}  "
                  f"PER {p['per']:.4f} [{p['per_ci95'][0]:.4f}, {p['per_ci95'][1]:.4f}]  "
                  f"theory {p['theory_per']:.4f}  BER {p['ber']:.2e} (theory {p['theory_ber']:.2e})  "
                  f"missed {p['missed']} rejected {p['rejected']} wrong {p['wrong_bits'] + p['wrong_length']} "
                  f"false {p['false_decodes']} dup {p['duplicates']}  ({p['wall_s']:.0f} s)", flush=True)
            if p["rejected_reasons"]:
                print(f"    rejected: {p['rejected_reasons']}", flush=True)
        summ = summarise_run(points)
        result["runs"].append({"drift_hz_s": drift, "points": points, "summary": summ})
        loss = summ["implementation_loss_db"]
        print(f"drift ±{drift:g} Hz/s: Eb/N0 at PER 10 %: measured "
              f"{summ['ebn0_at_per10_measured'] if summ['ebn0_at_per10_measured'] is None else round(summ['ebn0_at_per10_measured'], 2)}"
              f" dB, theory {summ['ebn0_at_per10_theory']:.2f} dB, loss "
              f"{'n/a' if loss is None else f'{loss:.2f} dB'}", flush=True)
    a.out.mkdir(parents=True, exist_ok=True)
    bl.write_json(a.out / "per.json", result)
    plot(result, a.out / "per.png")
    print(f"wrote {a.out / 'per.json'} and {a.out / 'per.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
