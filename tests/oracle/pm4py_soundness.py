"""Soundness oracle: runs pm4py's check_soundness on every PNML net of a folder and compares
its verdict with Polku's (the folder's verdicts.json, as `polku export pnml` writes it).

pm4py is used as an external program only. Prints one JSON object: the number of nets, the
disagreements, and the seconds pm4py spent in check_soundness (the import is not timed).
Exits 1 on any disagreement.
"""
import json
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("PM4PY_DISABLE_PROGRESS_BAR", "1")

import pm4py  # noqa: E402


def main(folder: str) -> int:
    with open(os.path.join(folder, "verdicts.json"), encoding="utf-8") as f:
        verdicts = json.load(f)
    disagreements = []
    seconds = 0.0
    checked = 0
    for entry in verdicts:
        if entry["sound"] is None:
            continue
        net, im, fm = pm4py.read_pnml(os.path.join(folder, entry["file"]))
        started = time.perf_counter()
        result = pm4py.check_soundness(net, im, fm)
        seconds += time.perf_counter() - started
        sound = bool(result[0] if isinstance(result, tuple) else result)
        checked += 1
        if sound != entry["sound"]:
            disagreements.append({"name": entry["name"], "polku": entry["sound"], "pm4py": sound})
    print(json.dumps({"nets": checked, "disagreements": disagreements, "pm4py_seconds": seconds}))
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
