"""Linear-algebra search for the VLD-A4 block code.

For a fixed structure (info bit order, constraint length K, termination, puncture mask,
ordering, interleaver) the coded block is LINEAR in the unknown generator taps (and an
affine inversion bit per output stream).  So instead of enumerating generators we solve
45 GF(2) equations in 2K+2 unknowns; a random structure is consistent with prob 2^(rank-45).
"""
import numpy as np, numba, itertools, sys, math

C = np.array([int(b) for b in bin(0x0E328E76517B)[2:].zfill(45)], np.int64)
ID = 0x1234567

def info_bits(order):
    b = [int(x) for x in bin(ID)[2:].zfill(28)]
    if order == 'lsb': b = b[::-1]
    return b + [0]*6

@numba.njit(cache=True)
def solve(rows, rhs, nunk):
    # GF(2) elimination; rows uint64 masks; returns (consistent, rank, solution mask)
    r = rows.copy(); y = rhs.copy(); n = r.shape[0]
    rank = 0
    piv_col = np.full(nunk, -1, np.int64)
    for col in range(nunk):
        bit = np.uint64(1) << np.uint64(col)
        p = -1
        for i in range(rank, n):
            if r[i] & bit:
                p = i; break
        if p < 0: continue
        tr = r[p]; r[p] = r[rank]; r[rank] = tr
        ty = y[p]; y[p] = y[rank]; y[rank] = ty
        for i in range(n):
            if i != rank and (r[i] & bit):
                r[i] ^= r[rank]; y[i] ^= y[rank]
        piv_col[col] = rank
        rank += 1
    for i in range(rank, n):
        if y[i]:
            return False, rank, np.uint64(0)
    sol = np.uint64(0)
    for col in range(nunk):
        if piv_col[col] >= 0 and y[piv_col[col]]:
            sol |= np.uint64(1) << np.uint64(col)
    return True, rank, sol

@numba.njit(cache=True)
def run_masks(mother, nout, T, P, masks, perms, C, nunk, out, outn, smajor):
    # mother: (nout*T) rows indexed [t*nout+i]; masks: int64 bitmask over P*nout positions
    found = 0
    expsum = 0.0
    idx = np.empty(nout*T, np.int64)
    rows = np.empty(45, np.uint64)
    for mi in range(masks.shape[0]):
        m = masks[mi]
        k = 0
        if smajor == 0:
            for t in range(T):
                for i in range(nout):
                    if (m >> ((t % P)*nout + i)) & 1:
                        idx[k] = t*nout + i; k += 1
        else:
            for i in range(nout):
                for t in range(T):
                    if (m >> ((t % P)*nout + i)) & 1:
                        idx[k] = t*nout + i; k += 1
        if k < 45: continue
        for pi in range(perms.shape[0]):
            for j in range(45):
                rows[j] = mother[idx[perms[pi, j]]]
            ok, rank, sol = solve(rows, C, nunk)
            expsum += 2.0**(rank-45)
            if ok and found < out.shape[0]:
                out[found, 0] = mi; out[found, 1] = pi; out[found, 2] = np.int64(sol); out[found, 3] = rank
                found += 1
    outn[0] = found
    return expsum

def mother_rows(u, K, nout, tb):
    T = len(u)
    rows = np.zeros(nout*T, np.uint64)
    for t in range(T):
        for i in range(nout):
            m = 0
            for k in range(K):
                s = t-k
                if s < 0:
                    if not tb: continue
                    s %= T
                if u[s]: m |= 1 << (i*K+k)
            m |= 1 << (nout*K + i)   # inversion unknown for stream i
            rows[t*nout+i] = m
    return rows

def perms45():
    P = [list(range(45))]
    for R in (3,5,9,15):
        Cc = 45//R
        for fr in (0,1):
            for fc in (0,1):
                # write row-wise into R x C, read column-wise
                rr = range(R)[::-1] if fr else range(R)
                cc = range(Cc)[::-1] if fc else range(Cc)
                p = [r*Cc+c for c in cc for r in rr]
                P.append(p)
    P.append(list(range(45))[::-1])
    # add inverses
    Q = []
    for p in P:
        inv = [0]*45
        for j,v in enumerate(p): inv[v] = j
        Q.append(p); Q.append(inv)
    uniq = []
    for p in Q:
        if p not in uniq: uniq.append(p)
    return np.array(uniq, np.int64)

def masks_for(P, nout, T, lo=45, hi=48):
    m = np.arange(1, 1 << (P*nout), dtype=np.int64)
    cnt = np.zeros_like(m)
    for t in range(T):
        for i in range(nout):
            cnt += (m >> ((t % P)*nout + i)) & 1
    return m[(cnt >= lo) & (cnt <= hi)]
def _old_masks_for(P, nout, T, lo=45, hi=48):
    res = []
    for m in range(1, 1 << (P*nout)):
        cnt = 0
        for t in range(T):
            tt = t % P
            cnt += bin((m >> (tt*nout)) & ((1<<nout)-1)).count('1')
        if lo <= cnt <= hi: res.append(m)
    return np.array(res, np.int64)

if __name__ == '__main__':
    nout = int(sys.argv[1]); Ks = [int(x) for x in sys.argv[2].split(',')]; Pmax = int(sys.argv[3])
    T = 34
    perms = perms45()
    print('perms', len(perms), flush=True)
    total_struct = 0; total_exp = 0.0
    out = np.zeros((1000, 4), np.int64); outn = np.zeros(1, np.int64)
    maskcache = {}
    for P in range(1, Pmax+1):
        maskcache[P] = masks_for(P, nout, T)
        print('P', P, 'masks', len(maskcache[P]), flush=True)
    for order in ('msb', 'lsb'):
        u = info_bits(order)
        for K in Ks:
            nunk = nout*K + nout
            for tb in (0, 1):
                mother = mother_rows(u, K, nout, tb)
                for sm in (0, 1):
                    for P in range(1, Pmax+1):
                        masks = maskcache[P]
                        if len(masks) == 0: continue
                        e = run_masks(mother, nout, T, P, masks, perms, C, nunk, out, outn, sm)
                        n = len(masks)*len(perms); total_struct += n; total_exp += e
                        for f in range(outn[0]):
                            mi, pi, sol, rank = out[f]
                            gs = [(int(sol) >> (i*K)) & ((1<<K)-1) for i in range(nout)]
                            inv = [(int(sol) >> (nout*K+i)) & 1 for i in range(nout)]
                            print('HIT', order, 'K', K, 'tb', tb, 'smajor', sm, 'P', P, 'mask', bin(masks[mi]), 'perm', pi,
                                  'gens(tap k=bit k)', [bin(g) for g in gs], 'inv', inv, 'rank', rank, flush=True)
    print('structures', total_struct, 'expected spurious', total_exp)
