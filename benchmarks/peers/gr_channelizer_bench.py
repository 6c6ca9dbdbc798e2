#!/usr/bin/python3
"""Throughput of GNU Radio's ``pfb.channelizer_ccf`` (run under Debian's /usr/bin/python3).

    gr_channelizer_bench.py N_SAMPLES REPEATS M:OVERSAMPLE:TAPS_FILE [...]

For each configuration: vector_source_c (a 2**20-sample noise vector, repeated) -> head
(N_SAMPLES) -> pfb.channelizer_ccf(M, taps, oversample_rate) -> M null sinks. TAPS_FILE holds the
prototype as raw little-endian float32 (the same taps the other implementations get). The best
of REPEATS runs is printed as one JSON line per configuration, with the process CPU time over
that run so the number of cores the scheduler kept busy can be read off (GNU Radio runs every
block in its own thread).
"""

import json
import os
import sys
import time

import numpy as np
from gnuradio import blocks, gr
from gnuradio.filter import pfb


def run_once(m, oversample, taps, n, src_vec):
    tb = gr.top_block()
    src = blocks.vector_source_c(src_vec, True)
    head = blocks.head(gr.sizeof_gr_complex, n)
    chan = pfb.channelizer_ccf(m, taps, oversample)
    tb.connect(src, head, chan)
    for i in range(m):
        tb.connect((chan, i), blocks.null_sink(gr.sizeof_gr_complex))
    c0 = os.times()
    t0 = time.perf_counter()
    tb.run()
    wall = time.perf_counter() - t0
    c1 = os.times()
    cpu = (c1.user - c0.user) + (c1.system - c0.system)
    return wall, cpu


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    n = int(argv[1])
    repeats = int(argv[2])
    rng = np.random.default_rng(1)
    src_vec = (rng.uniform(-0.5, 0.5, 1 << 20) + 1j * rng.uniform(-0.5, 0.5, 1 << 20)).astype(np.complex64).tolist()
    for spec in argv[3:]:
        m_s, os_s, path = spec.split(":", 2)
        m, oversample = int(m_s), int(os_s)
        taps = np.fromfile(path, dtype="<f4").astype(float).tolist()
        best = None
        for _ in range(repeats):
            wall, cpu = run_once(m, oversample, taps, n, src_vec)
            if best is None or wall < best[0]:
                best = (wall, cpu)
        wall, cpu = best
        print(json.dumps({
            "impl": "GNU Radio " + gr.version(), "mode": "crit" if oversample == 1 else "os2", "M": m,
            "taps_per_branch": len(taps) // m, "samples": n, "seconds": wall, "msps": n / wall / 1e6,
            "cpu_seconds": cpu, "cores_used": cpu / wall,
        }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
