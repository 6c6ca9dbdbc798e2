# Family I: (a) family-G selections with the 100 pruned/padded block interleavers of family C;
#           (b) per-block differential (NRZ-M style) decoding of the target, d_j = c_j ^ c_{j-1} (c_-1 = 0),
#               run through search1-type masks P<=8 (x18 perms) and family-G selections (x18+LCG perms).
import numpy as np, itertools, math
from search2 import *
import search1
from search1 import perms45
T=34; K=7
shapes = [(6,8),(8,6),(4,12),(12,4),(3,16),(16,3),(2,23),(23,2),(5,10),(10,5),(7,7),(2,24),(24,2),(4,16),(16,4),(8,8),(3,17),(17,3)]
postC = np.array(block_perms(45, shapes), np.int64)
post18 = np.array(perms45(), np.int64)
lcg = [[(a*j+b) % 45 for j in range(45)] for a in range(2,45) if math.gcd(a,45)==1 for b in range(45)]
allp = np.array([list(p) for p in post18] + lcg, np.int64)
selsG = []
for o in itertools.permutations(range(6), 4):
    base = [g*6+x for g in range(11) for x in o]
    selsG += [base+[66], base+[67], (base+[66,67])[1:], (base+[67,66])[1:]]
selsG = np.array(selsG, np.int64)
tot=0; exp=0.0
for order in ('msb','lsb'):
    mother = mother_rows(info_bits(order), K, 2, 0)
    n,e = run(f'Ia {order}', mother, selsG, postC, 16); tot+=n; exp+=e
print('FAMILY Ia structures', tot, 'expected', exp, flush=True)
orig = search1.C.copy()
d = orig.copy(); d[1:] = orig[1:] ^ orig[:-1]
search1.C[:] = d
tot=0; exp=0.0
for order in ('msb','lsb'):
    mother = mother_rows(info_bits(order), K, 2, 0)
    for sm in (0,1):
        for P in range(3,9):
            sels=[]
            for m in masks_for(P,2,T):
                if sm==0: s=[t*2+i for t in range(T) for i in range(2) if (m>>((t%P)*2+i))&1]
                else: s=[t*2+i for i in range(2) for t in range(T) if (m>>((t%P)*2+i))&1]
                sels.append(s[:45])
            if sels:
                n,e=run(f'Ib {order} sm{sm} P{P}', mother, np.array(sels), post18, 16); tot+=n; exp+=e
    n,e = run(f'Ib-G {order}', mother, selsG, allp, 16); tot+=n; exp+=e
print('FAMILY Ib structures', tot, 'expected', exp, flush=True)
search1.C[:] = orig
