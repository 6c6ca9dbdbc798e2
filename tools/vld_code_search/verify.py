s=bin(0xAC53531C651CECA2F)[2:].zfill(68)+'011'
l=bin(0xAC5353DC651CECA2F6E328E76517B719473B28BD)[2:].zfill(160)+'1'
print(len(s),len(l))
print(s[:24],s[24:26],s[26:])
print(l[:24],l[24:26]); b=l[26:]; print([b[i*45:(i+1)*45] for i in range(3)])
print(bin(0x0E328E76517B)[2:].zfill(45))
