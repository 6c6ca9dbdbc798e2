# Family K: (a) tail-first info blocks (0^6 + ID, msb/lsb) through search1-type masks P<=8 (x18) and G selections (x18+LCG);
#           (b) linear-congruential interleaver on the 68-bit mother stream (j -> (a j + b) mod 68) BEFORE a periodic
#               single-stream mask of period <= 8 (first 45 kept), no post-perm, and with reverse.
import numpy as np, itertools, math
from search2 import *
from search1 import perms45, ID
T=34; K=7
post18 = np.array(perms45(), np.int64)
lcg = [[(a*j+b) % 45 for j in range(45)] for a in range(2,45) if math.gcd(a,45)==1 for b in range(45)]
allp = np.array([list(p) for p in post18] + lcg, np.int64)
selsG = []
for o in itertools.permutations(range(6), 4):
    base = [g*6+x for g in range(11) for x in o]
    selsG += [base+[66], base+[67], (base+[66,67])[1:], (base+[67,66])[1:]]
selsG = np.array(selsG, np.int64)
idm=[int(x) for x in bin(ID)[2:].zfill(28)]
tot=0; exp=0.0
for name,u in (('tf-msb',[0]*6+idm),('tf-lsb',[0]*6+idm[::-1])):
    mother = mother_rows(u, K, 2, 0)
    for sm in (0,1):
        for P in range(3,9):
            sels=[]
            for m in masks_for(P,2,T):
                if sm==0: s=[t*2+i for t in range(T) for i in range(2) if (m>>((t%P)*2+i))&1]
                else: s=[t*2+i for i in range(2) for t in range(T) if (m>>((t%P)*2+i))&1]
                sels.append(s[:45])
            if sels:
                n,e=run(f'Ka {name} sm{sm} P{P}', mother, np.array(sels), post18, 16); tot+=n; exp+=e
    n,e = run(f'Ka-G {name}', mother, selsG, allp, 16); tot+=n; exp+=e
print('FAMILY Ka structures', tot, 'expected', exp, flush=True)
tot=0; exp=0.0
ident = np.array([list(range(45)), list(range(45))[::-1]], np.int64)
for order in ('msb','lsb'):
    mother = mother_rows(info_bits(order), K, 2, 0)
    sels=[]
    for a in range(1,68):
        if math.gcd(a,68)!=1: continue
        for b in range(68):
            q=[(a*j+b)%68 for j in range(68)]
            for Pm in range(2,9):
                for mm in range(1,1<<Pm):
                    kept=[q[j] for j in range(68) if (mm>>(j%Pm))&1]
                    if 45<=len(kept)<=47: sels.append(kept[:45])
    n,e = run(f'Kb {order}', mother, np.array(sels), ident, 16); tot+=n; exp+=e
print('FAMILY Kb structures', tot, 'expected', exp, flush=True)
