#!/usr/bin/env bash
# Fills fuzz/corpus/ with seeds from the repository: the shipped model (each file, and all of
# them as one multi-file input joined by NUL bytes, as the `parse` target splits them), the
# golden files of the language, and event lines of every kind, good and bad.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p fuzz/corpus/parse fuzz/corpus/events
for file in processes/keusote/*.polku processes/keski-suomi/*.polku tests/golden/ok/*.polku tests/golden/err/*.polku tests/golden/rules/*.polku; do
  [ -f "$file" ] && cp "$file" "fuzz/corpus/parse/$(basename "$file")"
done
first=1
for file in processes/keusote/*.polku; do
  [ $first = 1 ] || printf '\0'
  first=0
  cat "$file"
done > fuzz/corpus/parse/keusote-all.bin
first=1
for file in processes/keski-suomi/*.polku; do
  [ $first = 1 ] || printf '\0'
  first=0
  cat "$file"
done > fuzz/corpus/parse/keski-suomi-all.bin
# Two small files that refer to each other.
printf 'rooli th "Terveydenhoitaja"\n\0prosessi p "P" {\n  vaihe v "V" {\n    askel a "A" tekijä th\n  }\n}\n' \
  > fuzz/corpus/parse/two-files.bin

cat > fuzz/corpus/events/kinds.jsonl <<'LINES'
{"id":"e-1","type":"case_opened","case":"c-1","occurred":"2026-01-05T09:00:00+02:00","recorded":"2026-01-05T09:01:00+02:00","role":"terveydenhoitaja","client":"131052-308T","process":"kth_laaja_5lk","unit":"kouluterveydenhuolto","segment":"tuki","born":"2014-03-14"}
{"id":"e-2","type":"step_started","case":"c-1","occurred":"2026-01-20","recorded":"2026-01-20T12:00:00Z","role":"terveydenhoitaja","step":"th"}
{"id":"e-3","type":"step_completed","case":"c-1","occurred":"2026-01-20","recorded":"2026-01-20T12:00:00Z","role":"terveydenhoitaja","step":"th"}
{"id":"e-4","type":"step_cancelled","case":"c-1","occurred":"2026-01-21","recorded":"2026-01-21","role":"th","step":"a","reason":"asiakas ei saapunut"}
{"id":"e-5","type":"step_not_needed","case":"c-1","occurred":"2026-01-21","recorded":"2026-01-21","role":"th","step":"a","reason":"r","reason_code":"client_declined"}
{"id":"e-6","type":"phase_completed","case":"c-1","occurred":"2026-01-22","recorded":"2026-01-22","role":"th","phase":"v"}
{"id":"e-7","type":"segment_assessed","case":"c-1","occurred":"2026-01-22","recorded":"2026-01-22","role":"th","segment":"tuki","by":"th","reason":null}
{"id":"e-8","type":"segment_changed","case":"c-1","occurred":"2026-01-23","recorded":"2026-01-23","role":"th","from":"tuki","to":"perus","reason":"r","by":"th"}
{"id":"e-9","type":"referral_sent","case":"c-1","occurred":"2026-01-24","recorded":"2026-01-24","role":"th","referral":"o-1","to_process":"q"}
{"id":"e-10","type":"referral_accepted","case":"c-1","occurred":"2026-01-25","recorded":"2026-01-25","role":"th","referral":"o-1"}
{"id":"e-11","type":"referral_declined","case":"c-1","occurred":"2026-01-25","recorded":"2026-01-25","role":"th","referral":"o-1","reason":"r"}
{"id":"e-13","type":"case_opened","case":"c-2","occurred":"2026-01-05T09:00:00+02:00","recorded":"2026-01-05T09:01:00+02:00","role":"terveydenhoitaja","client":"131052-308T","process":"aitiysneuvola_laaja","unit":"äitiysneuvola","segment":"tuki","due":"2026-08-03","facts":{"ensisynnyttäjä":true,"sikiöitä":2}}
{"id":"e-14","type":"fact_recorded","case":"c-2","occurred":"2026-02-05","recorded":"2026-02-05","role":"th","fact":"tulkki","value":true}
{"id":"e-15","type":"case_opened","case":"c-3","occurred":"2026-01-05","recorded":"2026-01-05","role":"th","client":"131052-308T","process":"p","unit":"u","segment":"s","pregnancy_start":"2025-10-27","facts":{}}
{"id":"e-12","type":"case_closed","case":"c-1","occurred":"2026-01-26T10:00:00.5+03:00","recorded":"2026-01-26","role":"th","reason":"valmis"}
LINES
printf '\xef\xbb\xbf{"id":"e-1","type":"case_closed","case":"c","occurred":"0000-01-01T00:00:00Z","recorded":"9999-12-31","role":"r","reason":"131052308T"}\r\n{"id":"e-2","type":5,"case":"c","occurred":"2026-01-05T09:00:00+99:99","recorded":"2026-01-05","role":"r","phase":"p\xe4"}\n' \
  > fuzz/corpus/events/bad.jsonl
