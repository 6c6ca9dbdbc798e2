# Family A: pre-puncture block interleaver on the 68-bit mother stream, then periodic
# single-stream mask (period<=16) giving exactly 45 (or first 45 of 45..47), then post perms.
import numpy as np, sys
from search2 import *
K=7; nout=2; T=34; nunk=16
post = np.array(perms45(), np.int64)
pre = block_perms(68, [(2,34),(4,17)]) + [list(range(68)), list(range(68))[::-1]]
tot=0; exp=0.0
for Pm in range(2, 17):
    m = np.arange(1, 1 << Pm, dtype=np.int64)
    cnt = np.zeros_like(m)
    for j in range(68): cnt += (m >> (j % Pm)) & 1
    masks = m[(cnt >= 45) & (cnt <= 47)]
    for order in ('msb','lsb'):
        u = info_bits(order)
        for tb in (0,1):
            mother = mother_rows(u, K, nout, tb)
            for qi, q in enumerate(pre):
                sels = []
                for mm in masks:
                    s = [q[j] for j in range(68) if (mm >> (j % Pm)) & 1][:45]
                    sels.append(s)
                if not sels: continue
                n, e = run(f'A {order} tb{tb} pre{qi} Pm{Pm}', mother, np.array(sels), post, nunk)
                tot += n; exp += e
    print('Pm', Pm, 'cum structures', tot, 'exp', exp, flush=True)
print('FAMILY A structures', tot, 'expected spurious', exp)
