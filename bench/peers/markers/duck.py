import duckdb, time
con = duckdb.connect()
con.execute("SET threads TO 2")
t0 = time.time()
con.execute("CREATE TABLE rows AS SELECT * FROM read_csv('/tmp/extract.csv', header=true, columns={'client':'VARCHAR','date':'DATE','system':'VARCHAR','code':'VARCHAR'})")
t1 = time.time()
q = """
WITH counts AS (
  SELECT client,
    SUM(CASE WHEN system = 'merkki' AND code = 'lastensuojeluilmoitus' AND date > DATE '2026-10-15' - 360 AND date <= DATE '2026-10-15' THEN 1 ELSE 0 END) AS c1,
    SUM(CASE WHEN system = 'ICD10' AND (code LIKE 'F10%' OR code LIKE 'F11%' OR code LIKE 'F12%' OR code LIKE 'F13%' OR code LIKE 'F14%' OR code LIKE 'F15%' OR code LIKE 'F19%') AND date > DATE '2026-10-15' - 360 AND date <= DATE '2026-10-15' THEN 1 ELSE 0 END) AS c2,
    SUM(CASE WHEN system = 'ICD10' AND (code LIKE 'O24%' OR code LIKE 'O10%' OR code LIKE 'O13%') AND date > DATE '2026-10-15' - 270 AND date <= DATE '2026-10-15' THEN 1 ELSE 0 END) AS c3,
    SUM(CASE WHEN system = 'SPAT' AND code LIKE 'SPAT1331%' AND date > DATE '2026-10-15' - 360 AND date <= DATE '2026-10-15' THEN 1 ELSE 0 END) AS c4,
    SUM(CASE WHEN system = 'SHPT' AND code LIKE '1071%' AND date > DATE '2026-10-15' - 180 AND date <= DATE '2026-10-15' THEN 1 ELSE 0 END) AS c5,
    SUM(CASE WHEN system = 'ICD10' AND (code LIKE 'F32%' OR code LIKE 'F41%') AND date > DATE '2026-10-15' - 360 AND date <= DATE '2026-10-15' THEN 1 ELSE 0 END) AS c6
  FROM rows GROUP BY client
)
SELECT segment, COUNT(*) FROM (
  SELECT CASE WHEN c1 > 0 OR c2 > 0 THEN 'huolenpito'
              WHEN c3 > 0 OR c4 >= 3 THEN 'yhteistyö'
              WHEN c5 >= 2 OR c6 > 0 THEN 'tuki'
              ELSE 'pärjääjä' END AS segment
  FROM counts
) GROUP BY segment ORDER BY segment
"""
best = 1e9
for _ in range(3):
    t = time.time(); r = con.execute(q).fetchall(); best = min(best, time.time() - t)
print("load", round(t1 - t0, 2), "s; query best of 3", round(best, 2), "s;", r)
