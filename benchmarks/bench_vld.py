"""A4 VLD sensitivity: packet error rate of the over-air bit stream versus Eb/N0.

Each Eb/N0 point is one emulated 250 kS/s capture of non-colliding A4 VLD bursts (4 at a time,
random carrier offset in ±100 kHz at least 15 kHz apart, random drift in ±50 Hz/s, short or long
with equal odds, random 45-bit coded blocks), streamed through
:class:`argosneo.receiver.A2Receiver` (formats A2 + VLD, as in ``argosneo replay``). A packet is
correct when a VLD record is matched to the burst (±5 ms, ±50 Hz) with exactly the transmitted
over-air stream (sync, length field and every coded bit).

**Eb = burst power / 200 bit/s** (the VLD over-air rate), N0 = noise power density, so a VLD burst
at the same Eb/N0 as an A2 burst (Eb = power / 400) has half its power: C/N0 = Eb/N0 + 23.0 dB-Hz.
Since the VLD block code is unknown, nothing here is decoded through it: this is the *uncoded*
stream's PER (the claimed 5–6 dB advantage of VLD over A2 would come from the 3 dB of the halved
bit rate at equal C/N0 plus the coding gain of the 34 → 45 block code, which cannot be measured
until that code is known). Theory: ``Q(sqrt(2 sin²β Eb/N0))`` per bit, every bit after the sync
right (2 + 45·n bits).

Usage::

    .venv/bin/python benchmarks/bench_vld.py            # full (a few minutes)
    .venv/bin/python benchmarks/bench_vld.py --quick    # smoke run (seconds)

Writes ``vld.json`` into ``benchmarks/results`` (or ``--out``).
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

FULL_POINTS = {5: 120, 6: 160, 7: 200, 8: 200, 9: 200, 10: 160, 12: 120}
QUICK_POINTS = {7: 8, 16: 8}
LOSS_LEVEL = 0.1
DRIFT_HZ_S = 50.0
SLOT_S = 1.15          # longer than a long VLD burst (0.965 s) plus the start spread and a gap
PER_SLOT = 4
MIN_SEPARATION_HZ = 15e3


def vld_theory_per(ebn0_db, n_blocks: int):
    """PER of the uncoded over-air stream: every bit after the sync right (length + coded bits)."""
    from argosneo import spec

    n_bits = spec.A4_VLD_LENGTH_BITS + spec.A4_VLD_CODED_BLOCK_BITS * int(n_blocks)
    return 1.0 - (1.0 - spec.a2_theoretical_ber(ebn0_db)) ** n_bits


def vld_scenario(*, ebn0_db: float, bursts: int, seed: int):
    """Slotted, non-colliding VLD-only scenario (see the module docstring)."""
    from argosneo import spec
    from argosneo.synth import Platform, Scenario

    rng = np.random.default_rng([seed, 4099])
    plats = []
    n_slots = math.ceil(bursts / PER_SLOT)
    for s in range(n_slots):
        k = min(PER_SLOT, bursts - s * PER_SLOT)
        offs: list[float] = []
        while len(offs) < k:
            f = float(rng.uniform(-100e3, 100e3))
            if all(abs(f - g) >= MIN_SEPARATION_HZ for g in offs):
                offs.append(f)
        for f in offs:
            plats.append(Platform(
                format="VLD", vld_blocks="random",
                n_blocks=spec.A4_VLD_BLOCKS[int(rng.integers(len(spec.A4_VLD_BLOCKS)))],
                period_s=1e6, first_tx_s=0.05 + s * SLOT_S + float(rng.uniform(0.0, 0.1)), offset_hz=f,
                drift_hz_s=float(rng.uniform(-DRIFT_HZ_S, DRIFT_HZ_S)), ebn0_db=float(ebn0_db)))
    return Scenario(sample_rate=250e3, duration_s=0.05 + n_slots * SLOT_S + 0.2,
                    noise_variance=bl.NOISE_VARIANCE, seed=seed, platforms=plats)


def classify(records, truths, sample_rate: float) -> tuple[list[str], int]:
    """Outcome per truth (ok / wrong_bits / wrong_length / wrong_format / rejected / missed) and
    the number of decoded records that match no burst."""
    def grade(r, t):
        if r["format"] != "VLD":
            return "wrong_format"
        if r["length_code"] != t.n_blocks:
            return "wrong_length"
        if (r["over_air_hex"], r["over_air_tail_bits"]) == (t.over_air_hex, t.over_air_tail_bits):
            return "ok"
        return "wrong_bits"
    return bl.classify_records(records, truths, sample_rate, grade)


def run_point(ebn0_db: float, bursts: int, seed: int) -> dict:
    sc = vld_scenario(ebn0_db=ebn0_db, bursts=bursts, seed=seed)
    t0 = time.perf_counter()
    records, truths, info = bl.run_receiver_in_memory(sc)
    wall = time.perf_counter() - t0
    outcomes, false = classify(records, truths, sc.sample_rate)
    n = len(truths)
    errors = sum(o != "ok" for o in outcomes)
    by_n = {}
    for nb in (1, 3):
        idx = [i for i, t in enumerate(truths) if t.n_blocks == nb]
        by_n[str(nb)] = {"bursts": len(idx), "errors": sum(outcomes[i] != "ok" for i in idx),
                         "theory": float(vld_theory_per(ebn0_db, nb))}
    theory = float(np.mean([vld_theory_per(ebn0_db, t.n_blocks) for t in truths])) if n else math.nan
    lo, hi = bl.wilson_interval(errors, n)
    return {
        "ebn0_db": float(ebn0_db), "cn0_dbhz": float(ebn0_db + 10 * math.log10(200.0)),
        "a2_equivalent_ebn0_db": float(ebn0_db - 10 * math.log10(2.0)),
        "seed": seed, "bursts": n, **{k: outcomes.count(k) for k in
                                     ("ok", "wrong_bits", "wrong_length", "wrong_format", "rejected", "missed")},
        "false_decodes": false, "per": errors / n if n else math.nan, "per_ci95": [lo, hi],
        "theory_per": theory, "per_by_n": by_n, "seconds": wall, "capture_s": sc.duration_s,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 points, 8 bursts each")
    ap.add_argument("--out", type=Path, default=bl.RESULTS_DIR, help="output directory")
    ap.add_argument("--seed", type=int, default=2027)
    args = ap.parse_args(argv)
    points_spec = QUICK_POINTS if args.quick else FULL_POINTS
    points = []
    for i, (ebn0, n) in enumerate(sorted(points_spec.items())):
        p = run_point(float(ebn0), n, args.seed + i)
        points.append(p)
        print(f"VLD Eb/N0 {p['ebn0_db']:5.1f} dB (C/N0 {p['cn0_dbhz']:.1f} dB-Hz): PER {p['per']:.3f} "
              f"[{p['per_ci95'][0]:.3f}, {p['per_ci95'][1]:.3f}] theory {p['theory_per']:.3f} "
              f"({p['bursts']} bursts: ok {p['ok']}, bits {p['wrong_bits']}, length {p['wrong_length']}, "
              f"format {p['wrong_format']}, rejected {p['rejected']}, missed {p['missed']}; "
              f"false {p['false_decodes']})", flush=True)
    x = [p["ebn0_db"] for p in points]
    measured = bl.crossing(x, [p["per"] for p in points], LOSS_LEVEL)
    grid = np.arange(0.0, 20.0, 0.005)
    theory_x = bl.crossing(grid, 0.5 * (vld_theory_per(grid, 1) + vld_theory_per(grid, 3)), LOSS_LEVEL)
    summary = {
        "per10_ebn0_db": measured, "theory_per10_ebn0_db": theory_x,
        "implementation_loss_db": None if measured is None else measured - theory_x,
        "per10_cn0_dbhz": None if measured is None else measured + 10 * math.log10(200.0),
    }
    if measured is not None:
        print(f"PER 10 % at Eb/N0 {measured:.2f} dB (C/N0 {summary['per10_cn0_dbhz']:.2f} dB-Hz); "
              f"theory {theory_x:.2f} dB; loss {summary['implementation_loss_db']:.2f} dB")
    bl.write_json(args.out / "vld.json", {
        "benchmark": "vld", "quick": bool(args.quick), "meta": bl.machine_info(),
        "setup": {"sample_rate": 250e3, "offset_range_hz": 100e3, "bursts_at_once": PER_SLOT,
                  "min_separation_hz": MIN_SEPARATION_HZ, "drift_hz_s": DRIFT_HZ_S,
                  "n_blocks": [1, 3], "eb_definition": "power / 200 bit/s (over-air VLD bit rate)",
                  "packet_ok": "exact over-air stream (sync + length + all coded bits); code unknown, "
                               "so uncoded PER", "time_tol_s": bl.TIME_TOL_S, "freq_tol_hz": 50.0,
                  "loss_level": LOSS_LEVEL},
        "points": points, "summary": summary,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
