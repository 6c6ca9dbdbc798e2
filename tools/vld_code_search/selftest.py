# plant a known code and check that the search machinery recovers it
import numpy as np, search1 as s
u = s.info_bits('msb'); K=7; g1=0o171; g2=0o133
def enc(u,g):
    # tap k = bit (K-1-k) of octal generator (MSB = current input)
    out=[]
    for t in range(len(u)):
        v=0
        for k in range(K):
            if t-k>=0 and u[t-k] and (g>>(K-1-k))&1: v^=1
        out.append(v)
    return out
o1=enc(u,g1); o2=enc(u,g2)
mask=0b011011  # positions t%3*2+i : keep per period (o1,o2),(o1,o2),(o1,o2)
kept=[]
for t in range(34):
    for i,o in enumerate((o1,o2)):
        if (mask>>((t%3)*2+i))&1: kept.append(o[t])
kept=kept[:45]
perms=s.perms45(); p=perms[5]
c=np.array([kept[p[j]] for j in range(45)])
s.C[:]=c
mother=s.mother_rows(u,K,2,0)
out=np.zeros((100,4),np.int64); n=np.zeros(1,np.int64)
masks=s.masks_for(3,2,34)
e=s.run_masks(mother,2,34,3,masks,perms,s.C,16,out,n,0)
for f in range(n[0]):
    mi,pi,sol,r=out[f]; print(bin(masks[mi]),pi,oct(int(sol)&127),oct((int(sol)>>7)&127),r)
