# A national-scale extract for `polku segment-daily`: N clients, ROWS rows over two years, with
# artificial personal identity codes (individual numbers 900-999, valid check characters), as
# record systems would send them. Usage: gen_extract.py N ROWS OUT.csv
import random, sys, datetime
random.seed(7)
chars = "0123456789ABCDEFHJKLMNPRSTUVWXY"
N = int(sys.argv[1]); ROWS = int(sys.argv[2]); out = sys.argv[3]
codes = []
for i in range(N):
    d = 1 + i % 28; m = 1 + (i // 28) % 12; y = (i // 336) % 30
    nnn = 900 + (i // 10080) % 100
    base = f"{d:02d}{m:02d}{y:02d}"
    codes.append(f"{base}A{nnn:03d}{chars[int(base + f'{nnn:03d}') % 31]}")
pool = [("SPAT","SPAT1331")]*6 + [("SPAT","SPAT1071")]*4 + [("ICD10","J06")]*4 + [("ICD10","Z00.1")]*3 + \
       [("ICD10","F32")] + [("ICD10","F10.2")] + [("SHPT","1071")]*2 + [("merkki","lastensuojeluilmoitus")]
start = datetime.date(2024, 10, 16)
dates = [(start + datetime.timedelta(days=k)).isoformat() for k in range(730)]
rnd = random.random
with open(out, "w", buffering=1 << 22) as f:
    f.write("client,date,system,code\n")
    per = ROWS // N
    lines = []
    for i in range(N):
        c = codes[i]
        for _ in range(per):
            s, k = pool[int(rnd() * len(pool))]
            lines.append(f"{c},{dates[int(rnd() * 730)]},{s},{k}\n")
        if len(lines) > 200000:
            f.write("".join(lines)); lines = []
    f.write("".join(lines))
