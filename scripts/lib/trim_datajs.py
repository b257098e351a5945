#!/usr/bin/env python3
"""Turns a github-action-benchmark `data.js` into the compressed test fixture kept in fixtures/datajs/.

Keeps every run and every bench as recorded; drops what tests never read and what names people:
a run's commit keeps `id`, the first line of `message`, `timestamp` and `url` (never `author`,
`committer` or e-mail addresses); numbers are rounded to 7 significant digits, far below any
benchmark's noise, which halves the file. The output is the same `window.BENCHMARK_DATA = {...}`
text, gzip-compressed.

Usage: scripts/lib/trim_datajs.py SOURCE.data.js OUTPUT.data.js.gz
"""
import gzip
import json
import re
import sys

NUMBER = re.compile(r"-?\d+\.\d+(?:[eE][-+]?\d+)?")


def rounded(value):
    if isinstance(value, float):
        return float(f"{value:.7g}")
    if isinstance(value, str):
        return NUMBER.sub(lambda m: f"{float(m.group()):.7g}", value)
    return value


def trim(data):
    for runs in data["entries"].values():
        for run in runs:
            commit = run["commit"]
            kept = {key: commit[key] for key in ("id", "message", "timestamp", "url") if key in commit}
            if "message" in kept:
                kept["message"] = kept["message"].split("\n")[0]
            run["commit"] = kept
            run["benches"] = [{key: rounded(value) for key, value in bench.items()} for bench in run["benches"]]
    return data


def main():
    source, output = sys.argv[1:3]
    text = open(source, encoding="utf-8").read()
    data = json.loads(text[text.index("{"):].rstrip().rstrip(";"))
    body = "window.BENCHMARK_DATA = " + json.dumps(trim(data), separators=(",", ":"), ensure_ascii=False) + "\n"
    with open(output, "wb") as out:
        out.write(gzip.compress(body.encode("utf-8"), 9, mtime=0))


if __name__ == "__main__":
    main()
