# Family G: A3-style "groups of 3 time steps": from each group of 6 mother bits (x1 y1 x2 y2 x3 y3)
# keep 4 in ANY order (6*5*4*3 = 360 ordered choices, same for all groups); 34 = 11*3 + 1, the
# final single step keeps x or y (or both and the 46-bit stream loses its first/last bit).
# Then a 45-bit post-interleaver: identity/reverse/block (18) + linear-congruential j->(a j + b) mod 45 (+inverses).
import numpy as np, itertools, math, sys
from search2 import *
from search1 import perms45
T=34
post = [list(p) for p in perms45()]
lcg = []
for a in range(2, 45):
    if math.gcd(a, 45) != 1: continue
    for b in range(45):
        p = [(a*j+b) % 45 for j in range(45)]
        lcg.append(p)
allp = post + [p for p in lcg if p not in post]
allp = np.array(allp, np.int64)
print('post perms', len(allp))
sels = []
for ordsel in itertools.permutations(range(6), 4):
    base = []
    for g in range(11):
        base += [g*6 + o for o in ordsel]
    for tail in ([66], [67]):
        sels.append(base + tail)
    full = base + [66, 67]
    sels.append(full[:45]); sels.append(full[1:])
    full2 = base + [67, 66]
    sels.append(full2[:45]); sels.append(full2[1:])
sels = np.array(sels, np.int64)
print('selections', len(sels))
tot=0; exp=0.0
for order in ('msb','lsb'):
    u = info_bits(order)
    for K in (6,7,8):
        for tb in (0,1):
            mother = mother_rows(u, K, 2, tb)
            n,e = run(f'G {order} K{K} tb{tb}', mother, sels, allp, 2*K+2, K=K)
            tot+=n; exp+=e
            print(order,K,tb,'cum',tot,exp,flush=True)
print('FAMILY G structures', tot, 'expected spurious', exp)
