"""PTT-A3 / PTT-ZE sensitivity: packet error rate versus Eb/N0 through the full receiver.

Each Eb/N0 point is one emulated 250 kS/s capture of non-colliding Argos-3 bursts (4 at a time,
random carrier offset in ±100 kHz at least 15 kHz apart, random drift in ±50 Hz/s, random 28-bit
ID and user data), the format cycling through ZE and A3 with N = 1, 4 and 8, streamed through
:class:`argosneo.receiver.A2Receiver` with ``formats=("A2", "VLD", "A3")`` (``argosneo replay
--formats A2,VLD,A3``). A packet is correct when an A3/ZE record is matched to the burst (±5 ms,
±50 Hz) with the transmitted format, length, platform ID and user data.

**Eb = burst power / 400 bit/s**, the *information* bit rate (400 QPSK symbols/s, each carrying two
code bits of the rate-1/2 code, i.e. one information bit), N0 = noise power density, so
C/N0 = Eb/N0 + 26.0 dB-Hz as for A2. The modulation (82 ms carrier, I NRZ / Q Manchester QPSK)
is the UNCONFIRMED model of :mod:`argosneo.spec_a3`; the coding chain is verified.

Reference: ideal coherent soft-decision Viterbi decoding of the K = 7, r = 1/2 (171, 133) code on
the per-code-bit BPSK channel (each code bit has energy Eb/2, so a weight-d error event has
probability ``Q(sqrt(d·Eb/N0))``). The first-event error probability per trellis step is
union-bounded by ``P_E ≤ Σ_d a_d Q(sqrt(d·Eb/N0))`` with the code's weight spectrum ``a_d``
(computed here from the generators: a_10 = 11, a_12 = 38, a_14 = 193, …) and the packet error
rate by ``1 − (1 − P_E)^L`` over the L information bits of the datagram. This is an upper bound,
tight at low PER (a few tenths of a dB at PER 10 %), loose below ~3 dB; it ignores the sync,
carrier acquisition and timing, which is what the implementation loss measures.

Usage::

    .venv/bin/python benchmarks/bench_a3.py            # full (a few minutes)
    .venv/bin/python benchmarks/bench_a3.py --quick    # smoke run (seconds)

Writes ``a3.json`` and ``a3.png`` into ``benchmarks/results`` (or ``--out``).
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

FULL_POINTS = {2: 48, 3: 48, 4: 64, 5: 64, 6: 64, 8: 48, 12: 32}
QUICK_POINTS = {4: 8, 14: 8}
#: Formats cycled through, (format, N); ZE has no N.
KINDS = (("ZE", 0), ("A3", 1), ("A3", 4), ("A3", 8))
LOSS_LEVEL = 0.1
DRIFT_HZ_S = 50.0
SLOT_S = 1.05          # longer than an N = 8 A3 burst (0.84 s) plus the start spread and a gap
PER_SLOT = 4
MIN_SEPARATION_HZ = 15e3
OUTCOMES = ("ok", "wrong_bits", "wrong_length", "wrong_format", "rejected", "missed")
#: Code weights kept in the union bound (the terms beyond d = 24 are negligible where it is used).
MAX_WEIGHT = 24


def weight_spectrum(max_weight: int = MAX_WEIGHT, generators=(0o171, 0o133), k: int = 7) -> dict[int, int]:
    """Number ``a_d`` of first-event error paths of output weight d (d ≤ max_weight) of a rate-1/n
    feed-forward convolutional code, by dynamic programming over the trellis.

    Paths leave state 0 with an input 1, never pass through state 0 and end on their first
    return to it; their weight grows by at least 1 every few steps, so the count is finite.
    """

    def step(state: int, bit: int) -> tuple[int, int]:
        reg = (bit << (k - 1)) | state          # newest bit in the top position (MSB = current input)
        w = sum(bin(reg & g).count("1") & 1 for g in generators)
        return reg >> 1, w

    # counts[state][weight] of partial paths not yet returned to 0
    start, w0 = step(0, 1)
    counts = {start: {w0: 1}}
    spectrum: dict[int, int] = {}
    for _ in range(64 * k):
        nxt: dict[int, dict[int, int]] = {}
        for s, by_w in counts.items():
            for bit in (0, 1):
                s2, w = step(s, bit)
                for wt, c in by_w.items():
                    tot = wt + w
                    if tot > max_weight:
                        continue
                    if s2 == 0:
                        spectrum[tot] = spectrum.get(tot, 0) + c
                    else:
                        d = nxt.setdefault(s2, {})
                        d[tot] = d.get(tot, 0) + c
        counts = nxt
        if not counts:
            break
    return dict(sorted(spectrum.items()))


_SPECTRUM: dict[int, int] | None = None


def theory_per(ebn0_db, n_info_bits: int):
    """Union-bound PER of ideal soft-decision decoding of ``n_info_bits`` (capped at 1)."""
    from scipy.special import erfc

    global _SPECTRUM
    if _SPECTRUM is None:
        _SPECTRUM = weight_spectrum()
    g = 10.0 ** (np.asarray(ebn0_db, dtype=float) / 10.0)
    pe = sum(a * 0.5 * erfc(np.sqrt(d * g / 2.0)) for d, a in _SPECTRUM.items())
    pe = np.minimum(pe, 1.0)
    return 1.0 - (1.0 - pe) ** int(n_info_bits)


def info_bits(fmt: str, n: int) -> int:
    from argosneo.coding.a3 import datagram_length

    return datagram_length(fmt, n)


def a3_scenario(*, ebn0_db: float, bursts: int, seed: int):
    """Slotted, non-colliding A3/ZE scenario (see the module docstring)."""
    from argosneo.synth import Platform, Scenario

    rng = np.random.default_rng([seed, 4111])
    plats = []
    n_slots = math.ceil(bursts / PER_SLOT)
    idx = 0
    for s in range(n_slots):
        k = min(PER_SLOT, bursts - s * PER_SLOT)
        offs: list[float] = []
        while len(offs) < k:
            f = float(rng.uniform(-100e3, 100e3))
            if all(abs(f - g) >= MIN_SEPARATION_HZ for g in offs):
                offs.append(f)
        for f in offs:
            fmt, n = KINDS[idx % len(KINDS)]
            idx += 1
            plats.append(Platform(
                platform_id=int(rng.integers(1, 1 << 28)), format=fmt, n_blocks=max(n, 1),
                data="random", period_s=1e6,
                first_tx_s=0.05 + s * SLOT_S + float(rng.uniform(0.0, 0.1)), offset_hz=f,
                drift_hz_s=float(rng.uniform(-DRIFT_HZ_S, DRIFT_HZ_S)), ebn0_db=float(ebn0_db)))
    return Scenario(sample_rate=250e3, duration_s=0.05 + n_slots * SLOT_S + 0.2,
                    noise_variance=bl.NOISE_VARIANCE, seed=seed, platforms=plats)


def classify(records, truths, sample_rate: float) -> tuple[list[str], int]:
    """Outcome per truth (see :data:`OUTCOMES`) and the number of decoded records matching no burst."""
    def grade(r, t):
        if r["format"] not in ("A3", "ZE"):
            return "wrong_format"
        if r["format"] != t.format or (t.format == "A3" and r["length_code"] != t.n_blocks):
            return "wrong_length"      # ZE vs A3, or the wrong A3 N
        if (r["platform_id"], r["data_hex"]) == (t.platform_id_hex, t.data_hex):
            return "ok"
        return "wrong_bits"
    return bl.classify_records(records, truths, sample_rate, grade)


def _kind_key(fmt: str, n: int) -> str:
    return "ZE" if fmt == "ZE" else f"A3 N={n}"


def run_point(ebn0_db: float, bursts: int, seed: int) -> dict:
    sc = a3_scenario(ebn0_db=ebn0_db, bursts=bursts, seed=seed)
    t0 = time.perf_counter()
    records, truths, _ = bl.run_receiver_in_memory(sc, receiver_kwargs={"formats": ("A2", "VLD", "A3")})
    wall = time.perf_counter() - t0
    outcomes, false = classify(records, truths, sc.sample_rate)
    n = len(truths)
    errors = sum(o != "ok" for o in outcomes)
    by_kind = {}
    for fmt, nb in KINDS:
        idx = [i for i, t in enumerate(truths) if t.format == fmt and (fmt == "ZE" or t.n_blocks == nb)]
        e = sum(outcomes[i] != "ok" for i in idx)
        lo, hi = bl.wilson_interval(e, len(idx))
        by_kind[_kind_key(fmt, nb)] = {
            "bursts": len(idx), "errors": e, "per": e / len(idx) if idx else math.nan, "per_ci95": [lo, hi],
            **{k: sum(outcomes[i] == k for i in idx) for k in OUTCOMES if k != "ok"},
            "theory_per": float(theory_per(ebn0_db, info_bits(fmt, nb)))}
    lo, hi = bl.wilson_interval(errors, n)
    return {
        "ebn0_db": float(ebn0_db), "cn0_dbhz": float(ebn0_db + 10 * math.log10(400.0)),
        "seed": seed, "bursts": n, **{k: outcomes.count(k) for k in OUTCOMES},
        "false_decodes": false, "per": errors / n if n else math.nan, "per_ci95": [lo, hi],
        "theory_per": float(np.mean([theory_per(ebn0_db, info_bits(t.format, t.n_blocks)) for t in truths])),
        "per_by_kind": by_kind, "seconds": wall, "capture_s": sc.duration_s,
    }


def plot(points, path: Path) -> None:
    plt = bl.pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    grid = np.linspace(0.0, 14.0, 281)
    x = [p["ebn0_db"] for p in points]
    for j, (fmt, nb) in enumerate(KINDS):
        key = _kind_key(fmt, nb)
        color = f"C{j}"
        y = [max(p["per_by_kind"][key]["per"], 1e-3) for p in points]
        ax.semilogy(x, y, "o-", color=color, label=f"{key} measured")
        ax.semilogy(grid, np.maximum(theory_per(grid, info_bits(fmt, nb)), 1e-6), "--", color=color, lw=1,
                    label=f"{key} union bound")
    ax.set_ylim(1e-3, 1.2)
    ax.set_xlabel("Eb/N0 (dB, Eb = power / 400 information bit/s)")
    ax.set_ylabel("packet error rate (0 plotted at 1e-3)")
    ax.set_title("PTT-A3 / ZE through the receiver (250 kS/s, ±50 Hz/s drift)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 points, 8 bursts each")
    ap.add_argument("--out", type=Path, default=bl.RESULTS_DIR, help="output directory")
    ap.add_argument("--seed", type=int, default=3031)
    args = ap.parse_args(argv)
    points_spec = QUICK_POINTS if args.quick else FULL_POINTS
    points = []
    for i, (ebn0, n) in enumerate(sorted(points_spec.items())):
        p = run_point(float(ebn0), n, args.seed + i)
        points.append(p)
        kinds = ", ".join(f"{k} {v['errors']}/{v['bursts']}" for k, v in p["per_by_kind"].items())
        print(f"A3/ZE Eb/N0 {p['ebn0_db']:5.1f} dB (C/N0 {p['cn0_dbhz']:.1f} dB-Hz): PER {p['per']:.3f} "
              f"[{p['per_ci95'][0]:.3f}, {p['per_ci95'][1]:.3f}] bound {p['theory_per']:.3f} "
              f"({p['bursts']} bursts: ok {p['ok']}, bits {p['wrong_bits']}, length {p['wrong_length']}, "
              f"format {p['wrong_format']}, rejected {p['rejected']}, missed {p['missed']}; "
              f"false {p['false_decodes']}; errors {kinds})", flush=True)
    x = [p["ebn0_db"] for p in points]
    grid = np.arange(0.0, 20.0, 0.005)
    summary = {}
    for fmt, nb in KINDS:
        key = _kind_key(fmt, nb)
        measured = bl.crossing(x, [p["per_by_kind"][key]["per"] for p in points], LOSS_LEVEL)
        bound = bl.crossing(grid, theory_per(grid, info_bits(fmt, nb)), LOSS_LEVEL)
        summary[key] = {"per10_ebn0_db": measured, "bound_per10_ebn0_db": bound,
                        "implementation_loss_db": None if measured is None else measured - bound}
        if measured is not None:
            print(f"{key}: PER 10 % at Eb/N0 {measured:.2f} dB; union bound {bound:.2f} dB; "
                  f"loss {measured - bound:.2f} dB")
    args.out.mkdir(parents=True, exist_ok=True)
    bl.write_json(args.out / "a3.json", {
        "benchmark": "a3", "quick": bool(args.quick), "meta": bl.machine_info(),
        "setup": {"sample_rate": 250e3, "offset_range_hz": 100e3, "bursts_at_once": PER_SLOT,
                  "min_separation_hz": MIN_SEPARATION_HZ, "drift_hz_s": DRIFT_HZ_S,
                  "kinds": [_kind_key(f, n) for f, n in KINDS], "receiver_formats": ["A2", "VLD", "A3"],
                  "eb_definition": "power / 400 bit/s (information bit rate: one bit per QPSK symbol)",
                  "packet_ok": "format, A3 length, platform ID and user data all equal the transmitted ones",
                  "reference": "union bound, ideal coherent soft-decision Viterbi, K=7 r=1/2 (171,133), "
                               "weight spectrum a_d for d <= %d" % MAX_WEIGHT,
                  "weight_spectrum": {str(d): a for d, a in weight_spectrum().items()},
                  "modulation_model": "UNCONFIRMED (argosneo.spec_a3)",
                  "time_tol_s": bl.TIME_TOL_S, "freq_tol_hz": 50.0, "loss_level": LOSS_LEVEL},
        "points": points, "summary": summary,
    })
    plot(points, args.out / "a3.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
