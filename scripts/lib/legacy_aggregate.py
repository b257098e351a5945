"""What HeAT's original aggregate.py does, reproduced for fixtures and for the speed comparison.

Behaviour kept on purpose, defects included: only benchmarks[0] is kept, its stats.data dropped and
the report's commit_info attached; an existing history is loaded whole, appended to and dumped back
with indent=4 over the same file; a missing one is created compact.
Usage: legacy_aggregate.py [REPORT [HISTORY]]  (defaults: output.json aggregate.json)
"""
import json
import os
import sys

report_path = sys.argv[1] if len(sys.argv) > 1 else "output.json"
history_path = sys.argv[2] if len(sys.argv) > 2 else "aggregate.json"

with open(report_path) as report_file:
    report = json.load(report_file)
first = report["benchmarks"][0]
del first["stats"]["data"]
first["commit_info"] = report["commit_info"]

if os.path.isfile(history_path) and os.access(history_path, os.R_OK):
    with open(history_path, "r+") as history_file:
        history = json.load(history_file)
        history.append(first)
        history_file.seek(0)
        json.dump(history, history_file, indent=4)
else:
    print("aggregate file is missing or is not readable, creating file...")
    with open(history_path, "w") as history_file:
        history_file.write(json.dumps([first]))
