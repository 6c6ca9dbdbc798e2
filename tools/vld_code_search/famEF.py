# Family E: additive scrambler (LFSR, unknown seed as extra unknowns) after rate-1/2 K=7 periodic masks P<=6.
# Family F: recursive systematic / feedback codes: enumerate feedback poly (K=7, 32 with tap0 and tap6 set... all 64 odd),
#           the feedback makes the register sequence a fixed function of u, so outputs remain linear in feedforward taps.
import numpy as np
from search2 import *
T=34; K=7
post = np.array(perms45(), np.int64)
def lfsr_cols(taps, d):
    # Fibonacci LFSR state s (d unknown seed bits); output bit j is linear in seed -> mask over d columns
    state = [1 << k for k in range(d)]   # each stage as linear combination of seed bits
    outm = []
    for j in range(45):
        outm.append(state[-1])
        fb = 0
        for t in taps: fb ^= state[t-1]
        state = [fb] + state[:-1]
    return outm
polys = {'x7+x6+1':[7,6],'x7+x4+1':[7,4],'x7+x3+1':[7,3],'x9+x5+1':[9,5],'x9+x4+1':[9,4],'x8+x7+x5+x3+1':[8,7,5,3],
         'x5+x3+1':[5,3],'x5+x2+1':[5,2],'x6+x5+1':[6,5],'x6+x1+1':[6,1],'x4+x3+1':[4,3],'x4+x1+1':[4,1],'x3+x2+1':[3,2],'x3+x1+1':[3,1]}
tot=0; exp=0.0
for order in ('msb','lsb'):
    u = info_bits(order)
    mother = mother_rows(u, K, 2, 0)
    for P in (3,5,6):
        sels=[]
        for m in masks_for(P,2,T):
            sels.append([t*2+i for t in range(T) for i in range(2) if (m>>((t%P)*2+i))&1][:45])
        for name,taps in polys.items():
            d=max(taps)
            cols = lfsr_cols(taps, d)
            extra = np.array([c << 16 for c in cols], np.uint64)
            n,e = run(f'E {order} P{P} {name}', mother, np.array(sels), post, 16+d, extra=extra)
            tot+=n; exp+=e
print('FAMILY E structures', tot, 'expected spurious', exp, flush=True)

def rsc_rows(u, fb):
    # register input a_t = u_t + sum_{k>=1} fb_k a_{t-k}; outputs = sum_k g_k a_{t-k} (+ systematic option covered by g)
    a=[]
    for t in range(len(u)):
        v=u[t]
        for k in range(1,K):
            if (fb>>k)&1 and t-k>=0: v^=a[t-k]
        a.append(v)
    rows=np.zeros(2*len(u),np.uint64)
    for t in range(len(u)):
        for i in range(2):
            m=0
            for k in range(K):
                if t-k>=0 and a[t-k]: m|=1<<(i*K+k)
            m|=1<<(2*K+i)
            rows[t*2+i]=m
    # systematic bit as an alternative first stream: replace stream 0 by u_t (no unknowns except inversion)
    return rows
tot=0; exp=0.0
for order in ('msb','lsb'):
    u = info_bits(order)
    for fb in range(1, 64):
        fbp = fb<<1
        mother = rsc_rows(u, fbp)
        for P in (3,6):
            sels=[]
            for m in masks_for(P,2,T):
                sels.append([t*2+i for t in range(T) for i in range(2) if (m>>((t%P)*2+i))&1][:45])
            n,e = run(f'F {order} fb{bin(fbp)} P{P}', mother, np.array(sels), post, 16)
            tot+=n; exp+=e
print('FAMILY F structures', tot, 'expected spurious', exp, flush=True)
