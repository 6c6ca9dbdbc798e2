# If the interleaver were arbitrary (unknown permutation) only the codeword weight is testable.
import numpy as np
from search1 import C, info_bits
print('weight of coded block', C.sum())
K=7
def enc(u,g):
    return [sum(u[t-k] for k in range(K) if t-k>=0 and (g>>(K-1-k))&1)%2 for t in range(len(u))]
pairs={'171,133':(0o171,0o133),'133,171':(0o133,0o171),'155,117':(0o155,0o117),'171,165':(0o171,0o165)}
for order in ('msb','lsb'):
    u=info_bits(order)
    for name,(a,b) in pairs.items():
        o=(enc(u,a),enc(u,b))
        ws=[]
        for m in range(64):
            s=[o[i][t] for t in range(34) for i in range(2) if (m>>((t%3)*2+i))&1]
            if len(s) in (45,46): ws.append((bin(m),sum(s[:45])))
        print(order,name,'mother weight',sum(o[0])+sum(o[1]),'punctured weights',sorted(set(w for _,w in ws)))
