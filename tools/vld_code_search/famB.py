# Family B: non-periodic "rate matching" puncturing (3GPP-style evenly spaced removal).
# B1: on the 68-bit time-major (or stream-major) mother stream, remove 23 evenly, e_ini = 1..68.
# B2: keep k1 bits of stream x and 45-k1 of stream y, each evenly spaced (every e_ini phase),
#     merged time-major or stream-major.  Then 18 block perms (+ LCG perms for B1).
import numpy as np, math
from search2 import *
from search1 import perms45
T=34; K=7
def ratematch(n, keep, e_ini):
    # 3GPP 25.212 4.2.7.5 style: e_plus = n, e_minus = n-keep (bits to remove)
    e = e_ini; out=[]
    for m in range(n):
        e -= (n-keep)
        if e <= 0: e += n
        else: out.append(m)
    return out
post18 = np.array(perms45(), np.int64)
lcg = [[(a*j+b) % 45 for j in range(45)] for a in range(2,45) if math.gcd(a,45)==1 for b in range(45)]
allp = np.array([list(p) for p in post18] + lcg, np.int64)
tot=0; exp=0.0
for order in ('msb','lsb'):
    u = info_bits(order)
    mother = mother_rows(u, K, 2, 0)
    sels=[]
    tm = list(range(68)); smj = [t*2 for t in range(T)] + [t*2+1 for t in range(T)]
    for base in (tm, smj):
        for e0 in range(1, 69):
            k = ratematch(68, 45, e0)
            if len(k)==45: sels.append([base[j] for j in k])
    sels = np.array(sels); n,e = run(f'B1 {order}', mother, sels, allp, 16); tot+=n; exp+=e
    sels=[]
    for k1 in range(11, 35):
        k2 = 45-k1
        if k2 > 34: continue
        A = {tuple(ratematch(34, k1, e0)) for e0 in range(1, 35)}
        B = {tuple(ratematch(34, k2, e0)) for e0 in range(1, 35)}
        A = [a for a in A if len(a)==k1]; B=[b for b in B if len(b)==k2]
        for a in A:
            for b in B:
                sa=set(a); sb=set(b)
                sels.append([t*2+i for t in range(T) for i in range(2) if (t in (sa if i==0 else sb))])
                sels.append([t*2 for t in a] + [t*2+1 for t in b])
                sels.append([t*2+1 for t in b] + [t*2 for t in a])
    sels = np.array(sels); n,e = run(f'B2 {order}', mother, sels, post18, 16); tot+=n; exp+=e
    print(order, tot, exp, flush=True)
print('FAMILY B structures', tot, 'expected spurious', exp)
