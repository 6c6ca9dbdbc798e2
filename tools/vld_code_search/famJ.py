# Family J: block-code checks.
# J1 non-systematic polynomial code c(x) = u(x) g(x): test exact divisibility of c by u (all bit orders).
# J2 systematic codes: do the 28 ID bits appear contiguously (either order / inverted) in c under the 18 block perms?
import numpy as np
from search1 import C, perms45, ID
def poly(bits): return int(''.join(map(str,bits)),2)
def pdivmod(a,b):
    q=0
    while a and a.bit_length()>=b.bit_length():
        s=a.bit_length()-b.bit_length(); q|=1<<s; a^=b<<s
    return q,a
idm=[int(x) for x in bin(ID)[2:].zfill(28)]
for cname,cb in (('c',list(C)),('rev c',list(C)[::-1])):
    for uname,ub in (('msb',idm),('lsb',idm[::-1])):
        q,r=pdivmod(poly(cb),poly(ub))
        print('J1',cname,'/ u',uname,'remainder zero?', r==0, 'quotient deg', q.bit_length()-1)
hits=0
for p in perms45():
    s=''.join(str(int(C[j])) for j in p)
    for t in (''.join(map(str,idm)), ''.join(map(str,idm[::-1]))):
        for tt in (t, t.translate(str.maketrans('01','10'))):
            if tt in s: hits+=1; print('J2 HIT', list(p)[:5], tt)
print('J2 hits', hits, 'of', len(perms45())*4, 'tests (random chance per test ~18*2^-28)')
