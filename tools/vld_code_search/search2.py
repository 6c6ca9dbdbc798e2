"""More hypothesis families, same linear trick (see search1.py)."""
import numpy as np, numba, sys
from search1 import C, info_bits, solve, mother_rows, perms45, masks_for

@numba.njit(cache=True)
def solve_many(mother, sels, perms, C, nunk, extra, out, outn):
    # sels: (N, L>=45) mother-index sequences (after puncturing); perms: post-interleavers on 45
    # extra: (45,) uint64 extra columns OR'd per output position (e.g. scrambler seed unknowns)
    found = 0; expsum = 0.0
    rows = np.empty(45, np.uint64)
    for si in range(sels.shape[0]):
        for pi in range(perms.shape[0]):
            for j in range(45):
                rows[j] = mother[sels[si, perms[pi, j]]] | extra[j]
            ok, rank, sol = solve(rows, C, nunk)
            expsum += 2.0**(rank-45)
            if ok and found < out.shape[0]:
                out[found, 0] = si; out[found, 1] = pi; out[found, 2] = np.int64(sol); out[found, 3] = rank
                found += 1
    outn[0] = found
    return expsum

def block_perms(n, shapes):
    P = []
    for R, Cc in shapes:
        for fr in (0, 1):
            for fc in (0, 1):
                rr = list(range(R))[::-1] if fr else list(range(R))
                cc = list(range(Cc))[::-1] if fc else list(range(Cc))
                p = [r*Cc+c for c in cc for r in rr]
                p = [v for v in p if v < n]          # pruned if R*C > n
                inv = [0]*n
                for j, v in enumerate(p): inv[v] = j
                P.append(p); P.append(inv)
    U = []
    for p in P:
        if p not in U: U.append(p)
    return U

def report(tag, hits, K, nout, extra_bits=0):
    for h in hits:
        si, pi, sol, rank = h
        gs = [(int(sol) >> (i*K)) & ((1 << K)-1) for i in range(nout)]
        print('HIT', tag, 'sel', si, 'perm', pi, 'gens', [bin(g) for g in gs], 'rank', rank, 'sol', hex(int(sol)), flush=True)

def run(tag, mother, sels, perms, nunk, extra=None, K=7, nout=2):
    if extra is None: extra = np.zeros(45, np.uint64)
    out = np.zeros((1000, 4), np.int64); outn = np.zeros(1, np.int64)
    sels = np.ascontiguousarray(sels, np.int64); perms = np.ascontiguousarray(perms, np.int64)
    e = solve_many(mother, sels, perms, C, nunk, extra, out, outn)
    n = len(sels)*len(perms)
    report(tag, out[:outn[0]], K, nout)
    return n, e
