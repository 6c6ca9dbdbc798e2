"""Flowgraph runtime benchmark.

1. Runtime overhead per block per chunk: a chain of K ``gain`` blocks fed tiny chunks, run by the
   runtime versus the same block objects called in a plain loop; the difference divided by
   ``chunks × K`` is what the runtime adds per block call (queue hand-off, graph walk, timing).
2. End to end: the shipped ``a2_receiver`` flowgraph on a capture versus the hand-wired
   ``A2Receiver`` loop of ``argosneo replay`` (same reader, same chunk size). Target: within 10 %.

Usage: python benchmarks/bench_flowgraph.py [CAPTURE] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from argosneo.flowgraph.blocks_dsp import Gain  # noqa: E402
from argosneo.flowgraph.runtime import Runtime  # noqa: E402
from argosneo.flowgraph.schema import load_flowgraph  # noqa: E402
from argosneo.io.reader import open_capture  # noqa: E402
from argosneo.io.writer import SigMFWriter  # noqa: E402


def overhead(tmp: Path, k: int = 8, chunk: int = 64, n: int = 200_000) -> dict:
    base = tmp / "small"
    with SigMFWriter(base, sample_rate=48000.0) as w:
        w.write(np.zeros(n, np.complex64))
    cap = str(base) + ".sigmf-meta"
    chain = "\n".join(f"  g{i}: {{type: gain}}" for i in range(k))
    conns = ", ".join(["src -> g0"] + [f"g{i} -> g{i + 1}" for i in range(k - 1)] + [f"g{k - 1} -> rec"])
    p = tmp / "chain.yaml"
    p.write_text(f"blocks:\n  src: {{type: file_source, params: {{path: {cap}, chunk_size: {chunk}}}}}\n"
                 f"{chain}\n  rec: {{type: sigmf_record_sink, params: {{path: out}}}}\nconnections: [{conns}]\n")
    fg = load_flowgraph(p)
    t0 = time.perf_counter()
    s = Runtime(fg, output_dir=tmp).run()
    t_rt = time.perf_counter() - t0
    # the same work wired by hand
    from argosneo.flowgraph.blocks_io import SigMFRecordSink
    blocks = [Gain() for _ in range(k)]
    sink = SigMFRecordSink(str(tmp / "out2"))
    t0 = time.perf_counter()
    with open_capture(cap) as r:
        for c in r.chunks(chunk):
            item = c
            for b in blocks:
                item = b.process(item)[0][1]
            sink.process(item)
    sink.close()
    t_hand = time.perf_counter() - t0
    calls = s.chunks * (k + 1)
    return {"blocks": k + 1, "chunk_samples": chunk, "chunks": s.chunks, "runtime_s": t_rt, "hand_wired_s": t_hand,
            "overhead_us_per_block_per_chunk": (t_rt - t_hand) / calls * 1e6,
            "runtime_walk_us_per_block_per_chunk": s.runtime_seconds / calls * 1e6}


def end_to_end(tmp: Path, capture: str, repeat: int, chunk: int = 1 << 18) -> dict:
    from argosneo.receiver import A2Receiver

    fg = load_flowgraph(REPO / "flowgraphs" / "a2_receiver.yaml",
                        variables={"input": capture, "chunk_size": chunk, "output": str(tmp / "b.jsonl")})
    t_fg, t_hand, c_fg, c_hand = [], [], [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        s = Runtime(fg, output_dir=tmp).run()
        t_fg.append(time.perf_counter() - t0)
        c_fg.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        with open_capture(capture) as r, open(tmp / "h.jsonl", "w") as out:
            rx = A2Receiver(r.info)
            for c in r.chunks(chunk):
                for b in rx.process(c):
                    out.write(json.dumps(b.to_record()) + "\n")
            for b in rx.flush():
                out.write(json.dumps(b.to_record()) + "\n")
        t_hand.append(time.perf_counter() - t0)
        c_hand.append(time.process_time() - c0)
    same = (tmp / "b.jsonl").read_text() == (tmp / "h.jsonl").read_text()
    # CPU time counts both of the flowgraph's threads (reader and decoder), so on a shared
    # machine it is the steadier comparison; wall time is what a user waits
    return {"capture": capture, "seconds_of_signal": s.samples / s.sample_rate, "flowgraph_s": min(t_fg),
            "hand_wired_s": min(t_hand), "ratio": min(t_fg) / min(t_hand),
            "flowgraph_cpu_s": min(c_fg), "hand_wired_cpu_s": min(c_hand), "cpu_ratio": min(c_fg) / min(c_hand),
            "identical_output": same}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("capture", nargs="?", default=str(REPO / "captures" / "demo.sigmf-meta"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ov = overhead(tmp)
        e2e = end_to_end(tmp, a.capture, a.repeat)
    print(json.dumps({"overhead": ov, "end_to_end": e2e}, indent=2))


if __name__ == "__main__":
    main()
