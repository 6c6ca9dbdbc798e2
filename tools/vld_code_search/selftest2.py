# plant: (171,133), group-of-3 ordered keep (y1,x1,x3,y3), final step keeps x, LCG interleave j->(7j+5) mod 45
import numpy as np, itertools, math
import search1
from search2 import *
u = search1.info_bits('lsb'); K=7
def enc(g): return [sum(u[t-k] for k in range(K) if t-k>=0 and (g>>(K-1-k))&1)%2 for t in range(34)]
x=enc(0o171); y=enc(0o133); mo=[v for t in range(34) for v in (x[t],y[t])]
o=(1,0,4,5); base=[g*6+i for g in range(11) for i in o]+[66]
p=[(7*j+5)%45 for j in range(45)]
search1.C[:] = [mo[base[p[j]]] for j in range(45)]
selsG=[]
for oo in itertools.permutations(range(6),4):
    b=[g*6+i for g in range(11) for i in oo]; selsG += [b+[66], b+[67]]
lcg=np.array([[(a*j+b)%45 for j in range(45)] for a in range(2,45) if math.gcd(a,45)==1 for b in range(45)])
print(run('selftest', mother_rows(u,K,2,0), np.array(selsG), lcg, 16))
