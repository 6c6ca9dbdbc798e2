#!/usr/bin/env python3
"""Channelizer throughput: argosneo vs liquid-dsp ``firpfbch_crcf`` vs GNU Radio ``pfb.channelizer_ccf``.

    .venv/bin/python benchmarks/bench_channelizer.py [--quick] [--out DIR] [--no-peers]

Every implementation gets the same prototype: the liquid-dsp style Kaiser filter with
``M · 16`` taps (:func:`argosneo.channelize.liquid_kaiser_prototype`, m = 8, 60 dB), for
M in {8, 32, 128, 256}, critically sampled (``crit``) and oversampled by two (``os2``: ours with
``oversample=2``, liquid-dsp ``firpfbch2_crcf``, GNU Radio ``oversample_rate=2``). Throughput is
in millions of *input* samples per second, best of several repeats. Ours and liquid-dsp run on
one core; GNU Radio runs a thread per block, so it is measured both as it comes (with the cores
it kept busy) and pinned to one core with ``taskset``. Peers are skipped (and said so) when
``benchmarks/setup_peers.sh`` has not been run. Results go to ``DIR/channelizer.json`` and
``DIR/channelizer.png`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from argosneo.channelize import PolyphaseChannelizer, liquid_kaiser_prototype  # noqa: E402

PEERS = HERE / "peers"
SYSTEM_PYTHON = "/usr/bin/python3"
TAPS_PER_BRANCH = 16


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def bench_ours(m: int, oversample: int, taps: np.ndarray, x: np.ndarray, chunk: int, repeats: int) -> dict:
    ch = PolyphaseChannelizer(m, oversample=oversample, prototype=taps)
    ch.process(x[: 4 * taps.size])  # compile / load the Numba kernel outside the timing
    best = float("inf")
    for _ in range(repeats):
        ch.reset()
        t0 = time.perf_counter()
        for i in range(0, x.size, chunk):
            ch.process(x[i:i + chunk])
        best = min(best, time.perf_counter() - t0)
    return {"impl": "argosneo", "mode": "crit" if oversample == 1 else "os2", "M": m,
            "taps_per_branch": taps.size // m, "samples": int(x.size), "seconds": best,
            "msps": x.size / best / 1e6, "chunk": chunk}


def liquid_available() -> bool:
    return Path("/usr/include/liquid/liquid.h").exists() and shutil.which("gcc") is not None


def gnuradio_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    r = subprocess.run([SYSTEM_PYTHON, "-c", "import gnuradio.filter.pfb"], capture_output=True)
    return r.returncode == 0


def build_liquid(workdir: Path) -> Path:
    exe = workdir / "liquid_channelizer_bench"
    subprocess.run(["gcc", "-O2", "-march=native", "-o", str(exe), str(PEERS / "liquid_channelizer_bench.c"),
                    "-lliquid", "-lm"], check=True)
    return exe


def bench_liquid(exe: Path, mode: str, m: int, taps_file: Path, n: int, repeats: int) -> dict:
    out = subprocess.run([str(exe), mode, str(m), str(taps_file), str(n), str(repeats)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_gnuradio(specs: list[tuple[int, int, Path]], n: int, repeats: int, pin: bool) -> list[dict]:
    cmd = [SYSTEM_PYTHON, str(PEERS / "gr_channelizer_bench.py"), str(n), str(repeats)]
    cmd += [f"{m}:{o}:{p}" for m, o, p in specs]
    if pin:
        cmd = ["taskset", "-c", "0"] + cmd
    # Run from a neutral directory so nothing in the repository shadows GNU Radio's modules.
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    for r in rows:
        r["pinned_one_core"] = pin
        if pin:
            r["impl"] += " (1 core)"
    return rows


def print_table(rows: list[dict]) -> None:
    ours = {(r["M"], r["mode"]): r["msps"] for r in rows if r["impl"] == "argosneo"}
    print(f"{'impl':34s} {'mode':5s} {'M':>4s} {'Msps':>9s} {'ours/this':>10s} {'cores':>6s}")
    for r in sorted(rows, key=lambda r: (r["mode"], r["M"], r["impl"])):
        ratio = ours.get((r["M"], r["mode"]), float("nan")) / r["msps"]
        cores = f"{r['cores_used']:.2f}" if "cores_used" in r else "1"
        print(f"{r['impl']:34s} {r['mode']:5s} {r['M']:4d} {r['msps']:9.1f} {ratio:10.2f} {cores:>6s}")


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    impls = sorted({r["impl"] for r in rows}, key=lambda s: (not s.startswith("argosneo"), s))
    ms = sorted({r["M"] for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, mode in zip(axes, ("crit", "os2")):
        width = 0.8 / max(1, len(impls))
        for j, impl in enumerate(impls):
            vals = [next((r["msps"] for r in rows if r["impl"] == impl and r["mode"] == mode and r["M"] == m),
                         np.nan) for m in ms]
            ax.bar(np.arange(len(ms)) + (j - (len(impls) - 1) / 2) * width, vals, width, label=impl)
        ax.set_xticks(np.arange(len(ms)), [str(m) for m in ms])
        ax.set_xlabel("channels M")
        ax.set_title("critically sampled (D = M)" if mode == "crit" else "oversampled x2 (D = M/2)")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("Msps of input")
    axes[1].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (smoke test)")
    ap.add_argument("--out", type=Path, default=HERE / "results", help="directory for the JSON and PNG")
    ap.add_argument("--no-peers", action="store_true", help="measure argosneo only")
    args = ap.parse_args(argv)

    ms = [8, 32] if args.quick else [8, 32, 128, 256]
    n = 1 << 14 if args.quick else 1 << 23
    repeats = 1 if args.quick else 5
    chunk = 1 << 12 if args.quick else 1 << 18
    rng = np.random.default_rng(1)
    x = (rng.uniform(-0.5, 0.5, n) + 1j * rng.uniform(-0.5, 0.5, n)).astype(np.complex64)

    rows: list[dict] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench_channelizer_") as tmp:
        tmp = Path(tmp)
        taps_files = {}
        for m in ms:
            taps = liquid_kaiser_prototype(m, TAPS_PER_BRANCH // 2, 60.0)
            taps_files[m] = tmp / f"taps_{m}.f32"
            taps.astype("<f4").tofile(taps_files[m])
            for oversample in (1, 2):
                rows.append(bench_ours(m, oversample, taps, x, chunk, repeats))

        if args.no_peers:
            notes.append("peers not run (--no-peers)")
        else:
            if liquid_available():
                exe = build_liquid(tmp)
                for m in ms:
                    for mode in ("crit", "os2"):
                        rows.append(bench_liquid(exe, mode, m, taps_files[m], n, repeats))
            else:
                notes.append("liquid-dsp not installed (run benchmarks/setup_peers.sh): skipped")
            if gnuradio_available():
                specs = [(m, o, taps_files[m]) for m in ms for o in (1, 2)]
                gr_n = n if args.quick else n // 2
                gr_rep = 1 if args.quick else 3
                rows += bench_gnuradio(specs, gr_n, gr_rep, pin=False)
                if shutil.which("taskset"):
                    rows += bench_gnuradio(specs, gr_n, gr_rep, pin=True)
            else:
                notes.append("GNU Radio not installed (run benchmarks/setup_peers.sh): skipped")

    meta = {"cpu": cpu_model(), "cores": os.cpu_count(), "quick": args.quick, "samples": n,
            "repeats": repeats, "prototype": f"liquid-style Kaiser, 60 dB, M*{TAPS_PER_BRANCH} taps",
            "python": platform.python_version(), "numpy": np.__version__, "notes": notes}
    print(f"# {meta['cpu']}, {meta['cores']} cores; {n} samples, best of {repeats}")
    for note in notes:
        print(f"# {note}")
    print_table(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "channelizer.json").write_text(json.dumps({"meta": meta, "results": rows}, indent=1) + "\n")
    plot(rows, args.out / "channelizer.png", f"Polyphase channelizer throughput, 16 taps/branch ({meta['cpu']})")
    print(f"# wrote {args.out / 'channelizer.json'} and {args.out / 'channelizer.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
