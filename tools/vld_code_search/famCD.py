# Family C: rate-1/2 periodic masks (P<=8) + pruned block interleavers of padded sizes.
# Family D: rate-1/3 mother code, masks over 3 streams with period <=5, 45-bit block interleavers.
import numpy as np, sys
from search2 import *
T=34
shapes = [(6,8),(8,6),(4,12),(12,4),(3,16),(16,3),(2,23),(23,2),(5,10),(10,5),(7,7),(2,24),(24,2),(4,16),(16,4),(8,8),(3,17),(17,3)]
postC = np.array(block_perms(45, shapes), np.int64)
tot=0; exp=0.0
for order in ('msb','lsb'):
    u = info_bits(order)
    for K in (5,6,7):
        for tb in (0,1):
            mother = mother_rows(u, K, 2, tb)
            for sm in (0,1):
                for P in range(3, 9):
                    sels=[]
                    for m in masks_for(P, 2, T):
                        if sm == 0:
                            s=[t*2+i for t in range(T) for i in range(2) if (m>>((t%P)*2+i))&1]
                        else:
                            s=[t*2+i for i in range(2) for t in range(T) if (m>>((t%P)*2+i))&1]
                        sels.append(s[:45])
                    if not sels: continue
                    n,e = run(f'C {order} K{K} tb{tb} sm{sm} P{P}', mother, np.array(sels), postC, 2*K+2, K=K)
                    tot+=n; exp+=e
print('FAMILY C structures', tot, 'perms', len(postC), 'expected spurious', exp, flush=True)
tot=0; exp=0.0
post = np.array(perms45(), np.int64)
for order in ('msb','lsb'):
    u = info_bits(order)
    for K in (5,7):
        for tb in (0,1):
            mother = mother_rows(u, K, 3, tb)
            for sm in (0,1):
                for P in range(1, 6):
                    sels=[]
                    for m in masks_for(P, 3, T):
                        if sm == 0:
                            s=[t*3+i for t in range(T) for i in range(3) if (m>>((t%P)*3+i))&1]
                        else:
                            s=[t*3+i for i in range(3) for t in range(T) if (m>>((t%P)*3+i))&1]
                        sels.append(s[:45])
                    if not sels: continue
                    n,e = run(f'D {order} K{K} tb{tb} sm{sm} P{P}', mother, np.array(sels), post, 3*K+3, K=K, nout=3)
                    tot+=n; exp+=e
print('FAMILY D structures', tot, 'expected spurious', exp, flush=True)
