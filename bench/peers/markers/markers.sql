.timer on
WITH d AS (SELECT julianday('2026-10-15') AS day),
counts AS (
  SELECT client,
    SUM(system = 'merkki' AND code = 'lastensuojeluilmoitus' AND julianday(date) > day - 360 AND julianday(date) <= day) AS c1,
    SUM(system = 'ICD10' AND (code LIKE 'F10%' OR code LIKE 'F11%' OR code LIKE 'F12%' OR code LIKE 'F13%' OR code LIKE 'F14%' OR code LIKE 'F15%' OR code LIKE 'F19%') AND julianday(date) > day - 360 AND julianday(date) <= day) AS c2,
    SUM(system = 'ICD10' AND (code LIKE 'O24%' OR code LIKE 'O10%' OR code LIKE 'O13%') AND julianday(date) > day - 270 AND julianday(date) <= day) AS c3,
    SUM(system = 'SPAT' AND code LIKE 'SPAT1331%' AND julianday(date) > day - 360 AND julianday(date) <= day) AS c4,
    SUM(system = 'SHPT' AND code LIKE '1071%' AND julianday(date) > day - 180 AND julianday(date) <= day) AS c5,
    SUM(system = 'ICD10' AND (code LIKE 'F32%' OR code LIKE 'F41%') AND julianday(date) > day - 360 AND julianday(date) <= day) AS c6
  FROM rows, d GROUP BY client
)
SELECT segment, COUNT(*) FROM (
  SELECT CASE WHEN c1 > 0 OR c2 > 0 THEN 'huolenpito'
              WHEN c3 > 0 OR c4 >= 3 THEN 'yhteistyö'
              WHEN c5 >= 2 OR c6 > 0 THEN 'tuki'
              ELSE 'pärjääjä' END AS segment
  FROM counts
) GROUP BY segment ORDER BY segment;
