"""Written by run-benchmarks and loaded with `-p run_benchmarks_plugin`; not part of any suite.

Always: records which tests failed (so their benchmarks stay out of the history) and which test
runs now (so a run stopped at its time limit can say where each process was), in files named by
RUN_BENCHMARKS_STATE: STATE.failed (node ids, one JSON string a line), STATE.current (the running test's
number and node id, tab-separated; empty once the session is over) and STATE.error.

Under an MPI launcher (RUN_BENCHMARKS_LOCKSTEP=1): every rank runs the same rounds and iterations
of every benchmark and starts each benchmark together. pytest-benchmark calibrates on each process
by itself (BenchmarkFixture._calibrate_timer times growing loops until one lasts long enough, then
rounds = max_time / duration), so ranks doing uneven work choose different counts, fall out of
step and wait forever in the benchmarked code's collectives. Calibration cannot run on rank 0 alone
(the benchmarked function may be a collective), so every rank runs each calibration step and every
decision is taken on a value all ranks agree on: the slowest rank's time, rank 0's clock.
A rank whose test fails (inside a benchmark, where the others wait in the benchmarked code's
collectives, or before it) ends the job at once with MPI_Abort, after writing the failure's
traceback to its output and its one-line cause to STATE.error: a failed test fails the process
count anyway (nothing is recorded at it), and the others would otherwise wait until the time
limit. A rank that never reaches a benchmark for another reason (skipped before it) would leave
the others waiting at its start forever: while they wait they watch the other ranks' state files
(RUN_BENCHMARKS_RANKS/rank-R.current), and when one has moved past the test or finished, the
waiting rank says so in its STATE.error and ends the job with MPI_Abort.

State files are replaced whole (a temporary file, then a rename), so another rank never reads one
half written: an empty `.current` means "finished", and a rank that read one while it was being
rewritten once took a rank in the middle of its tests for finished.
"""

import json
import os
import sys
import time
from math import ceil, sqrt

import pytest

STATE = os.environ.get("RUN_BENCHMARKS_STATE")
_failed = []
_tests_started = 0
# Under a launcher with more than one rank: (communicator, config) to end the job with.
_job = None


def _write(suffix, text):
    """Replaces STATE+suffix whole: written beside it, then renamed over it."""
    if STATE:
        temporary = f"{STATE}{suffix}.{os.getpid()}.tmp"
        with open(temporary, "w") as file:
            file.write(text)
        os.replace(temporary, STATE + suffix)


def _append(suffix, text):
    if STATE:
        with open(STATE + suffix, "a") as file:
            file.write(text)


def pytest_configure(config):
    if os.environ.get("RUN_BENCHMARKS_LOCKSTEP") != "1":
        return
    try:
        from mpi4py import MPI
    except ImportError as error:
        message = (
            f"failed: mpi4py is not importable by {sys.executable} ({error}); under --launcher the ranks "
            "run in lockstep through it: install it where pytest runs (pip install mpi4py)"
        )
        _write(".error", message)
        raise pytest.UsageError(message) from error
    try:
        from pytest_benchmark.fixture import BenchmarkFixture
    except ImportError as error:
        message = f"failed: pytest-benchmark is not importable by {sys.executable} ({error}): pip install pytest-benchmark"
        _write(".error", message)
        raise pytest.UsageError(message) from error
    _in_lockstep(BenchmarkFixture, MPI.COMM_WORLD, MPI)
    if MPI.COMM_WORLD.Get_size() > 1:
        global _job
        _job = (MPI.COMM_WORLD, config)


def pytest_runtest_logstart(nodeid, location):
    global _tests_started
    _tests_started += 1
    _write(".current", f"{_tests_started}\t{nodeid}")


def pytest_runtest_logreport(report):
    # Appended, one line per failure: with pytest-xdist the workers and the controller each see
    # some of them, and none may overwrite another's.
    if report.failed and report.nodeid not in _failed:
        _failed.append(report.nodeid)
        # One JSON string a line: an id may hold a newline (pytest keeps control characters in
        # ids when told to).
        _append(".failed", json.dumps(report.nodeid) + "\n")
        if _job is not None:
            _stop_the_job(report)


def _stop_the_job(report):
    """Says why this rank failed (its output gets the traceback) and ends every rank."""
    comm, config = _job
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    lines = [line for line in report.longreprtext.splitlines() if line.strip()]
    cause = crash.message if crash is not None else (lines[-1] if lines else "no details")
    cause = cause.splitlines()[0][:500] if cause else "no details"
    _write(".error", f"failed {report.nodeid}: {cause}")
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.suspend_global_capture(in_=False)
    sys.stderr.write(
        f"\nrun-benchmarks: rank {comm.Get_rank()} of {comm.Get_size()} failed {report.nodeid} "
        f"({report.when}); every rank is stopped (MPI_Abort), as nothing can be recorded at this "
        f"process count:\n{report.longreprtext}\n"
    )
    sys.stderr.flush()
    comm.Abort(1)


def pytest_sessionfinish(session, exitstatus):
    _write(".current", "")


def pytest_terminal_summary(terminalreporter):
    # pytest-benchmark has just named its report file, which run-benchmarks deletes at the end.
    terminalreporter.write_line(
        "run-benchmarks: the benchmark data file named above is temporary; run-benchmarks "
        "records its benchmarks in the suite's history and says where when the suite ends"
    )


def _in_lockstep(fixture, comm, MPI):
    """Replaces the fixture's per-process choices with collective ones."""
    raw, raw_pedantic = fixture._raw, fixture._raw_pedantic

    def slowest(seconds):
        return comm.allreduce(seconds, op=MPI.MAX)

    def rank0(flag):
        return comm.bcast(flag, root=0)

    ranks = os.environ.get("RUN_BENCHMARKS_RANKS")
    rank, size = comm.Get_rank(), comm.Get_size()

    def moved_on(other):
        # Whether rank `other` has left the test this rank is in, without reaching its benchmark.
        try:
            with open(os.path.join(ranks, f"rank-{other}.current")) as file:
                state = file.read()
        except OSError:
            return None
        if state == "":
            return "had finished its tests"
        number, _, nodeid = state.partition("\t")
        if number.isdigit() and int(number) > _tests_started:
            return f"had moved on to {nodeid}"
        return None

    def together(nodeid):
        """A barrier that ends the job instead of waiting for a rank that will never come."""
        request = comm.Ibarrier()
        pause, watched = 0.0001, time.monotonic()
        while not request.Test():
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
            if ranks is None or time.monotonic() - watched < 0.5:
                continue
            watched = time.monotonic()
            for other in range(size):
                where = moved_on(other) if other != rank else None
                if where:
                    message = (
                        f"stopped the run: rank {other} of {size} never started the benchmark of "
                        f"{nodeid} ({where}; see its output in the log); every rank must run every "
                        "benchmark"
                    )
                    _write(".error", message)
                    sys.stderr.write(f"run-benchmarks: rank {rank} {message}\n")
                    sys.stderr.flush()
                    comm.Abort(1)

    def _raw(self, *args, **kwargs):
        together(self.fullname)
        return raw(self, *args, **kwargs)

    def _raw_pedantic(self, *args, **kwargs):
        # rounds and iterations are the caller's, the same on every rank: only the start is shared.
        together(self.fullname)
        return raw_pedantic(self, *args, **kwargs)

    def _calibrate_timer(self, runner):
        # pytest-benchmark's algorithm, step for step; only the values decided on are shared.
        timer_precision = slowest(self._get_precision(self._timer))
        min_time = max(self._min_time, timer_precision * self._calibration_precision)
        min_time_estimate = min_time * 5 / self._calibration_precision
        loops = 1
        while True:
            loops_range = range(loops)
            duration = slowest(runner(loops_range))
            if self._warmup:
                warmup_start = time.time()
                warmup_iterations = 0
                while rank0(time.time() - warmup_start < self._max_time and warmup_iterations < self._warmup):
                    duration = min(duration, slowest(runner(loops_range)))
                    warmup_iterations += loops
            if duration >= min_time:
                break
            if duration >= min_time_estimate:
                loops = ceil(min_time * loops / duration)
                if loops == 1:
                    loops_range = range(loops)
                    break
            else:
                loops *= 10
        return duration, loops, loops_range

    def _run_until_precise(self, runner, loops_range, stats, max_rounds):
        # --benchmark-precision: stop when every rank has reached it, all after the same round.
        import statistics

        z = statistics.NormalDist().inv_cdf(0.5 + self._confidence / 2)
        mean = m2 = 0.0
        for n in range(1, max_rounds + 1):
            duration = runner(loops_range)
            stats.update(duration)
            delta = duration - mean
            mean += delta / n
            m2 += delta * (duration - mean)
            precise = n >= self._min_rounds and n >= 2 and mean > 0
            precise = precise and z * sqrt(m2 / (n - 1)) / sqrt(n) / mean <= self._precision
            if comm.allreduce(precise, op=MPI.LAND):
                return

    fixture._raw = _raw
    fixture._raw_pedantic = _raw_pedantic
    fixture._calibrate_timer = _calibrate_timer
    if hasattr(fixture, "_run_until_precise"):
        fixture._run_until_precise = _run_until_precise
