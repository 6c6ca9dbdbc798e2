# Family H: encoder-state / tail variants (register preloaded with ones, tail bits ones) for
# K=7 rate 1/2: periodic masks P<=8 (time- and stream-major) x 18 block perms, and the
# group-of-3 ordered selections (family G) x block+LCG perms.
import numpy as np, itertools, math
from search2 import *
from search1 import perms45, ID
T=34; K=7
def rows_with_prefix(u, pre):
    # encoder register preloaded with 'pre' (6 bits), i.e. prepend them and drop their outputs
    full = pre + u
    r = mother_rows(full, K, 2, 0)
    return np.ascontiguousarray(r[2*len(pre):])
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
    b = [int(x) for x in bin(ID)[2:].zfill(28)]
    if order=='lsb': b=b[::-1]
    for tail in (0,1):
        u = b + [tail]*6
        for pre in (0,1):
            if tail==0 and pre==0: continue   # already covered
            mother = rows_with_prefix(u, [pre]*6)
            for sm in (0,1):
                for P in range(3,9):
                    sels=[]
                    for m in masks_for(P,2,T):
                        if sm==0: s=[t*2+i for t in range(T) for i in range(2) if (m>>((t%P)*2+i))&1]
                        else: s=[t*2+i for i in range(2) for t in range(T) if (m>>((t%P)*2+i))&1]
                        sels.append(s[:45])
                    if sels:
                        n,e=run(f'H1 {order} tail{tail} pre{pre} sm{sm} P{P}', mother, np.array(sels), post18, 16); tot+=n; exp+=e
            n,e=run(f'H2 {order} tail{tail} pre{pre}', mother, selsG, allp, 16); tot+=n; exp+=e
            print(order,tail,pre,tot,exp,flush=True)
print('FAMILY H structures', tot, 'expected spurious', exp)
