"""The original aggregate.py's way of appending, given every benchmark of a report: the speed baseline.

Loads the whole history, appends each benchmark (stats.data dropped, the report's commit_info
attached), dumps it back with indent=4 over the same file and, for a fair comparison with a tool
that is durable, fsyncs it.
Usage: python_append.py REPORT HISTORY
"""
import json
import os
import sys

report_path, history_path = sys.argv[1], sys.argv[2]
with open(report_path) as report_file:
    report = json.load(report_file)
with open(history_path, "r+") as history_file:
    history = json.load(history_file)
    for benchmark in report["benchmarks"]:
        benchmark["stats"].pop("data", None)
        benchmark["commit_info"] = report["commit_info"]
        history.append(benchmark)
    history_file.seek(0)
    json.dump(history, history_file, indent=4)
    history_file.truncate()
    history_file.flush()
    os.fsync(history_file.fileno())
