"""Writes pytest-benchmark reports for plot tests and plot benchmarks, varied from real ones.

Every report starts as a real --benchmark-json output under fixtures/reports/ (the
pytest-benchmark version picked by suite, so keys and datetime formats differ between suites as in
the world); what varies is what
a history of many runs holds: each run's datetime, commit and branch, the benchmarks measured,
their timings (seeded noise, an occasional slow round, a step regression), MPI process counts and
the gate's verdict, extra metrics. Reports land in OUT/SUITE/NNNN.json, NNNN counting the suite's
runs in time order, so appending a suite's reports in name order builds its history; a report named
NNNN-original.json is appended by the original aggregate.py (scripts/lib/legacy_aggregate.py).

Usage: vary_reports.py OUT SHAPE...
  partial   suites measured-a/b/c: 5 runs, run 3 measured only measured-a, run 4 not measured-c
  churn     suite churn: 6 runs, a benchmark added at run 3 and one removed after run 4
  twice     suite twice: 4 runs, runs 2 and 3 on one commit on one day, run 4 on a branch
  original  suites original-a (3 runs) and original-b (6 runs), for the original script
  mpi       suite mpi: 3 runs at 1, 2 and 4 processes; suite serial: 3 runs without MPI
  wide      suite wide: 50 runs of 30 benchmarks, a 30% step in one of them at run 40 that
            the gate judged a regression, two improvements at run 45, a regression of a third
            benchmark at run 46 that recovered at run 48, of a fourth at run 47 that was accepted;
            the last run states the open regressions as the gate that judges sequences does
  judged    suite judged: 6 runs, the gate's verdicts only (an earlier gate): two regressions,
            one recovered
  continued suite continued: 3 runs of the original aggregate.py, then 3 of heat-bench's
  weak      suite weak: 3 runs at 1, 2 and 4 processes of benchmarks that record their problem
            size per process (extra_info.size_per_proc), times nearly flat
  metrics   suite metrics: 4 runs recording extra_info.metrics memory (bytes) and energy
            (joules); run 2 lacks them
  many      suite many: 5 runs of 200 benchmarks
  one       suite one: a single run of 3 benchmarks
  year:N    suite year: nightly runs of 30 benchmarks, N entries in all (plot benchmarks)
"""
import copy
import hashlib
import json
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
VERSIONS = ["5.3.1", "3.2.0", "4.0.0", "5.1.0", "3.4.1", "5.2.3"]
START = datetime(2026, 1, 5, 2, 0, tzinfo=timezone.utc)


def real_report(suite):
    """A suite's runs all start from one version's report: its timings stay comparable run to run."""
    version = VERSIONS[sum(map(ord, suite)) % len(VERSIONS)]
    return json.loads((ROOT / "fixtures/reports" / version / "git-clean.json").read_text())


def commit(label):
    return hashlib.sha1(label.encode()).hexdigest()


def scaled(stats, factor):
    for key in ("min", "max", "mean", "stddev", "median", "iqr", "q1", "q3", "ld15iqr", "hd15iqr", "total"):
        if isinstance(stats.get(key), (int, float)):
            stats[key] *= factor
    if isinstance(stats.get("ops"), (int, float)):
        stats["ops"] /= factor
    if "data" in stats:
        stats["data"] = [t * factor for t in stats["data"]]


def benchmarks(report, count):
    """`count` benchmarks made from the report's own, named apart, magnitudes spread over ns to ms."""
    originals = report["benchmarks"]
    out = []
    for i in range(count):
        b = copy.deepcopy(originals[i % len(originals)])
        if i >= len(originals):
            tag = f"v{i // len(originals)}"
            if b["name"].endswith("]"):
                b["name"] = b["name"][:-1] + f"-{tag}]"
                b["fullname"] = b["fullname"][:-1] + f"-{tag}]"
            else:
                b["name"] += f"[{tag}]"
                b["fullname"] += f"[{tag}]"
            scaled(b["stats"], 10 ** (i % 4))
        out.append(b)
    return out


def run_report(suite, run, when, count, keep=None, commit_label=None, branch="main", noise=None):
    """One run's report of `suite`: `count` benchmarks (those `keep` accepts), measured at `when`."""
    report = real_report(suite)
    rng = noise or random.Random(f"{suite}/{run}")
    chosen = [b for i, b in enumerate(benchmarks(report, count)) if keep is None or keep(i)]
    for b in chosen:
        # Run-to-run noise, now and then a slow round.
        scaled(b["stats"], rng.uniform(0.97, 1.03) * (1.3 if rng.random() < 0.005 else 1.0))
    report["benchmarks"] = chosen
    # Old versions write naive local datetimes, new ones UTC with an offset.
    naive = "+" not in report["datetime"] and not report["datetime"].endswith("Z")
    report["datetime"] = (when.replace(tzinfo=None) if naive else when).isoformat()
    info = report["commit_info"]
    info["id"] = commit(commit_label or f"{suite}/{run}")
    info["time"] = info["author_time"] = (when - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    info["branch"] = branch
    # What run-benchmarks adds: the commit's subject.
    info["subject"] = f"{suite}: change {run}"
    return report


def write(out, suite, run, report, original=False):
    path = out / suite / (f"{run:04d}-original.json" if original else f"{run:04d}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=4))


def shape(out, name):
    day = timedelta(days=1)
    if name == "partial":
        # One pipeline run measures the suites one after another, minutes apart, on one commit.
        for run in range(5):
            for k, suite in enumerate(["measured-a", "measured-b", "measured-c"]):
                if (run == 2 and suite != "measured-a") or (run == 3 and suite == "measured-c"):
                    continue
                when = START + run * day + timedelta(minutes=7 * k)
                write(out, suite, run, run_report(suite, run, when, 3 + k, commit_label=f"pipeline/{run}"))
    elif name == "churn":
        for run in range(6):
            keep = lambda i, run=run: (i != 1 or run < 4) and (i != 5 or run >= 2)
            write(out, "churn", run, run_report("churn", run, START + run * day, 6, keep))
    elif name == "twice":
        times = [START, START + day + timedelta(hours=1), START + day + timedelta(hours=9), START + 3 * day]
        labels = ["twice/0", "twice/1", "twice/1", "twice/3"]
        for run, (when, label) in enumerate(zip(times, labels)):
            # The last run measures a feature branch.
            branch = "feature" if run == 3 else "main"
            write(out, "twice", run, run_report("twice", run, when, 3, commit_label=label, branch=branch))
    elif name == "original":
        for suite, runs in [("original-a", 3), ("original-b", 6)]:
            for run in range(runs):
                write(out, suite, run, run_report(suite, run, START + run * day, 2))
    elif name == "mpi":
        for run in range(3):
            for i, procs in enumerate([1, 2, 4]):
                report = run_report("mpi", run, START + run * day + timedelta(minutes=3 * i), 3, commit_label=f"mpi/{run}")
                for b in report["benchmarks"]:
                    # What run-benchmarks records for a launcher run: the count and every rank's median.
                    scaled(b["stats"], 1.0 / procs ** 0.8)
                    b["procs"] = procs
                    b["ranks"] = {"slowest": 0, "medians": [b["stats"]["median"]] * procs}
                write(out, "mpi", run * 3 + i, report)
            write(out, "serial", run, run_report("serial", run, START + run * day + timedelta(minutes=20), 2, commit_label=f"mpi/{run}"))
    elif name == "wide":
        for run in range(50):
            report = run_report("wide", run, START + run * day, 30)
            first = report["benchmarks"][0]
            if run >= 40:
                scaled(first["stats"], 1.3)
            if run == 40:
                report["commit_info"]["subject"] = "Check every input of sum (30% slower)"
            if run in (40, 45):
                # The gate's verdict as aggregate --check stores it on a recorded entry.
                regression = run == 40
                first["gate"] = {
                    "verdict": "regression" if regression else "improvement",
                    "change": 0.3 if regression else -0.2,
                    "baseline": first["stats"]["median"] / (1.3 if regression else 0.8),
                    "range": {"from": {"id": commit(f"wide/{run - 1}"), "datetime": (START + (run - 1) * day).isoformat()},
                              "to": {"id": commit(f"wide/{run}"), "datetime": (START + run * day).isoformat()}},
                }
            if run == 45:
                # A second verdict in the same run: both marks share its label.
                second = report["benchmarks"][1]
                scaled(second["stats"], 0.8)
                second["gate"] = dict(first["gate"], baseline=second["stats"]["median"] / 0.8)
            # A third benchmark regresses at run 46 and recovers at run 48: no longer open.
            third = report["benchmarks"][2]
            if run in (46, 47):
                scaled(third["stats"], 1.25)
            if run in (46, 48):
                third["gate"] = {"verdict": "regression" if run == 46 else "recovered", "change": 0.25 if run == 46 else 0.0,
                                 "baseline": third["stats"]["median"] / (1.25 if run == 46 else 1.0)}
                if run == 46:
                    third["gate"]["range"] = {"from": {"id": commit(f"wide/{run - 1}"), "datetime": (START + (run - 1) * day).isoformat()},
                                              "to": {"id": commit(f"wide/{run}"), "datetime": (START + run * day).isoformat()}}
            # A fourth regresses at run 47, and the maintainers accept it (run-benchmarks --accept).
            fourth = report["benchmarks"][3]
            if run >= 47:
                scaled(fourth["stats"], 1.25)
            if run == 47:
                fourth["gate"] = {"verdict": "regression", "change": 0.25, "baseline": fourth["stats"]["median"] / 1.25,
                                  "range": {"from": {"id": commit(f"wide/{run - 1}"), "datetime": (START + (run - 1) * day).isoformat()},
                                            "to": {"id": commit(f"wide/{run}"), "datetime": (START + run * day).isoformat()}}}
            if run == 49:
                # The gate that judges sequences states every series' open regressions: only the
                # first benchmark's (the fourth was accepted, the third recovered).
                for i, b in enumerate(report["benchmarks"]):
                    b["gate"] = {"verdict": "unchanged", "change": 0.0, "baseline": b["stats"]["median"], "open": []}
                first["gate"]["open"] = [{
                    "range": {"from": {"id": commit("wide/39"), "datetime": (START + 39 * day).isoformat()},
                              "to": {"id": commit("wide/40"), "datetime": (START + 40 * day).isoformat()}},
                    "before": first["stats"]["median"] / 1.3, "level": first["stats"]["median"], "runs": 10}]
            write(out, "wide", run, report)
    elif name == "judged":
        # Judged by the gate before it stated open regressions: only verdicts, which plots replay.
        for run in range(6):
            report = run_report("judged", run, START + run * day, 3)
            first, second = report["benchmarks"][0], report["benchmarks"][1]
            if run >= 2:
                scaled(first["stats"], 1.5)
            if 3 <= run < 5:
                scaled(second["stats"], 1.4)
            step = lambda verdict, change, b: {"verdict": verdict, "change": change, "baseline": b["stats"]["median"],
                                               "range": {"from": {"id": commit(f"judged/{run - 1}"), "datetime": (START + (run - 1) * day).isoformat()},
                                                         "to": {"id": commit(f"judged/{run}"), "datetime": (START + run * day).isoformat()}}}
            if run == 2:
                first["gate"] = step("regression", 0.5, first)
            if run == 3:
                second["gate"] = step("regression", 0.4, second)
            if run == 5:
                second["gate"] = step("recovered", -0.29, second)
            write(out, "judged", run, report)
    elif name == "continued":
        # HeAT's case: a history of the original script, continued by heat-bench.
        for run in range(6):
            write(out, "continued", run, run_report("continued", run, START + run * day, 3), original=run < 3)
    elif name == "weak":
        for run in range(3):
            for i, procs in enumerate([1, 2, 4]):
                report = run_report("weak", run, START + run * day + timedelta(minutes=3 * i), 3, commit_label=f"weak/{run}")
                for b in report["benchmarks"]:
                    # The problem grows with the processes: the time stays nearly flat.
                    scaled(b["stats"], 1.0 + 0.08 * i)
                    b["procs"] = procs
                    b["ranks"] = {"slowest": 0, "medians": [b["stats"]["median"]] * procs}
                    b["extra_info"]["size_per_proc"] = 1000
                write(out, "weak", run * 3 + i, report)
    elif name == "metrics":
        for run in range(4):
            report = run_report("metrics", run, START + run * day, 3)
            if run != 2:
                for i, b in enumerate(report["benchmarks"]):
                    b["extra_info"]["metrics"] = {
                        "memory": {"value": (200 + 50 * i + run) * 1024 * 1024, "unit": "B", "of": "peak RSS"},
                        "energy": {"value": 3.5 + i + 0.1 * run, "unit": "J"},
                    }
            write(out, "metrics", run, report)
    elif name == "many":
        for run in range(5):
            write(out, "many", run, run_report("many", run, START + run * day, 200))
    elif name == "one":
        write(out, "one", 0, run_report("one", 0, START, 3))
    elif name.startswith("year:"):
        entries = int(name.split(":")[1])
        rng = random.Random(entries)
        for run in range((entries + 29) // 30):
            count = min(30, entries - run * 30)
            write(out, "year", run, run_report("year", run, START + run * day, count, noise=rng))
    else:
        sys.exit(f"vary_reports.py: unknown shape {name!r}; see --help")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if len(sys.argv) > 1 else 2)
    for name in sys.argv[2:]:
        shape(Path(sys.argv[1]), name)
