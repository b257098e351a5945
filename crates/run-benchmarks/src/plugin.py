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

Beside time, every benchmark gets its memory and, where the machine exposes it, its energy in
`extra_info["metrics"]` (see _Readings): read before and after the test call, outside the timed
rounds, and under a launcher gathered from every rank (`per_rank`, `value` over all of them).
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
# What is read around each benchmark: memory, energy (set up by pytest_configure).
_readings = None


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


def pytest_addoption(parser):
    parser.addoption(
        "--memory",
        choices=["rss", "python"],
        default="rss",
        help="run-benchmarks: the memory recorded per benchmark beside its peak RSS: 'python' also "
        "records the Python heap's peak with tracemalloc (slows Python code; off by default)",
    )


def pytest_configure(config):
    global _readings
    _readings = _Readings(config.getoption("memory", "rss") == "python")
    if os.environ.get("RUN_BENCHMARKS_LOCKSTEP") != "1":
        _readings.wrap(_fixture_class())
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
    _readings.wrap(BenchmarkFixture)
    _readings.comm = MPI.COMM_WORLD
    _readings.node_leader = MPI.COMM_WORLD.Split_type(MPI.COMM_TYPE_SHARED).Get_rank() == 0
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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    fixture = getattr(item, "funcargs", {}).get("benchmark")
    if _readings is None or fixture is None or not hasattr(fixture, "extra_info"):
        yield
        return
    _readings.before_test()
    outcome = yield
    _readings.after_test(fixture, failed=outcome.excinfo is not None)


def pytest_terminal_summary(terminalreporter):
    if _readings is not None:
        for line in _readings.said:
            terminalreporter.write_line(f"run-benchmarks: {line}")
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


def _fixture_class():
    try:
        from pytest_benchmark.fixture import BenchmarkFixture
    except ImportError:
        return None
    return BenchmarkFixture


def _metric(value, unit, per_rank, **more):
    entry = {"value": value, "unit": unit, "better": "lower", "per_rank": per_rank}
    entry.update(more)
    return entry


class _Powercap:
    """Intel RAPL through Linux powercap: the packages' (and their zones') energy counters.

    Each `intel-rapl:N` (a package) counts microjoules in `energy_uj` and wraps to 0 after
    `max_energy_range_uj`; its sub-zones (`intel-rapl:N:M`: cores, dram) are parts of it or beside
    it (dram), so only the packages' top-level counters are summed, plus `dram` sub-zones, which
    the package does not include. The root is HEAT_BENCH_POWERCAP, or /sys/class/powercap.
    """

    def __init__(self):
        root = os.environ.get("HEAT_BENCH_POWERCAP") or "/sys/class/powercap"
        self.zones, self.why = [], None
        try:
            names = sorted(os.listdir(root))
        except OSError as error:
            self.why = f"no RAPL energy counters ({root}: {error.strerror})"
            return
        for name in names:
            parts = name.split(":")
            if parts[0] != "intel-rapl" or len(parts) not in (2, 3):
                continue
            zone = os.path.join(root, name)
            if len(parts) == 3 and _read_text(os.path.join(zone, "name")) != "dram":
                continue
            try:
                wrap = int(_read_text(os.path.join(zone, "max_energy_range_uj")))
                int(_read_text(os.path.join(zone, "energy_uj")))
            except (OSError, ValueError) as error:
                self.why = f"RAPL energy counters unreadable ({os.path.join(zone, 'energy_uj')}: {error})"
                continue
            self.zones.append((os.path.join(zone, "energy_uj"), wrap))
        if self.zones:
            self.why = None
        elif self.why is None:
            self.why = f"no RAPL energy counters under {root} (a VM or container exposes none)"

    def read(self):
        return [int(_read_text(path)) for path, _ in self.zones]

    def joules(self, start, end):
        """Energy between two readings, each counter's wrap-around undone (one wrap at most)."""
        total = 0
        for (_, wrap), a, b in zip(self.zones, start, end):
            total += b - a if b >= a else b + wrap - a
        return total / 1e6


class _Nvml:
    """NVIDIA GPUs' energy counters through pynvml, when it is installed (never installed here)."""

    def __init__(self):
        self.handles, self.why = [], None
        try:
            import pynvml

            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            self._energy = pynvml.nvmlDeviceGetTotalEnergyConsumption
            [self._energy(h) for h in self.handles]
        except Exception as error:  # not installed, no driver, no GPU, no energy counter
            self.handles, self.why = [], f"no NVML energy counters ({type(error).__name__}: {error})"

    def read(self):
        return [self._energy(h) for h in self.handles]

    def joules(self, start, end):
        return sum(b - a for a, b in zip(start, end)) / 1e3  # millijoules


def _read_text(path):
    with open(path) as file:
        return file.read().strip()


def _status_kib(field):
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"/proc/self/status has no {field}")


class _Readings:
    """Memory and energy of each benchmark, read outside its timed rounds.

    - memory (B): the peak resident memory the test added over what the process held when it
      started: VmHWM after it minus VmRSS before it, the high-water mark being reset first by
      writing 5 to /proc/self/clear_refs. Where that cannot be reset, the growth of the
      high-water mark is recorded instead (a lower bound: a peak under an earlier one is not
      seen) and `note` says so.
    - python_memory (B), with --memory=python: the Python heap's peak over its size at the start
      (tracemalloc, started for the session, its peak reset before each test).
    - device_memory (B): when torch is already imported and has CUDA/ROCm, the peak allocated
      (torch.cuda.max_memory_allocated, its peak reset before).
    - energy (J per round): RAPL package counters (one rank per node reads them: ranks on one node
      share its packages) and NVML devices, read just before the rounds and after the benchmark,
      divided by the rounds run in between (warm-up rounds and pytest-benchmark's one extra call
      of a looped benchmark counted as the fractions of a round they are).
    Under a launcher every rank's values are gathered: `per_rank`, and `value` the max over ranks
    (memory) or the sum of the ranks that read (energy, one per node).
    """

    def __init__(self, python_heap):
        self.comm, self.node_leader = None, True
        self.said = []
        self.python_heap = python_heap
        if python_heap:
            import tracemalloc

            tracemalloc.start()
        self.reset_note = None
        self.memory_note = None
        self.meters = None
        self.energy = None

    def _meters(self):
        # Found at the first benchmark (not at start-up: a suite without benchmarks pays nothing).
        if self.meters is None:
            tried = (_Powercap(), _Nvml())
            found = [m for m in tried if not m.why]
            self.meters = found if self.node_leader else []
            # Said once, by rank 0 (every rank's output goes to the log).
            if not found and (self.comm is None or self.comm.Get_rank() == 0):
                self.said.append("energy not recorded: " + "; ".join(m.why for m in tried))
        return self.meters

    def wrap(self, fixture):
        if fixture is None:
            return
        make_stats, raw, raw_pedantic = fixture._make_stats, fixture._raw, fixture._raw_pedantic
        readings = self

        def _make_stats(self, iterations):
            stats = make_stats(self, iterations)
            meters = readings._meters()
            readings.energy = (self, [m.read() for m in meters]) if meters else None
            return stats

        def _raw(self, *args, **kwargs):
            result = raw(self, *args, **kwargs)
            readings._energy_end(self, extra_calls=1)
            return result

        def _raw_pedantic(self, *args, **kwargs):
            result = raw_pedantic(self, *args, **kwargs)
            # _raw_pedantic(target, args, kwargs, setup, teardown, rounds, warmup_rounds, iterations)
            warmup = kwargs.get("warmup_rounds", args[6] if len(args) > 6 else 0)
            iterations = kwargs.get("iterations", args[7] if len(args) > 7 else 1)
            readings._energy_end(self, extra_calls=warmup * iterations + (iterations > 1))
            return result

        fixture._make_stats = _make_stats
        fixture._raw = _raw
        fixture._raw_pedantic = _raw_pedantic

    def _energy_end(self, fixture, extra_calls):
        started, self.energy = self.energy, None
        if started is None or started[0] is not fixture or fixture.stats is None:
            return
        end = [m.read() for m in self.meters]
        joules = sum(m.joules(a, b) for m, a, b in zip(self.meters, started[1], end))
        stats = fixture.stats.stats
        iterations = max(fixture.stats.iterations, 1)
        if fixture._mode == "benchmark(...)" and fixture._warmup:
            extra_calls += min(stats.rounds, max(1, int(fixture._warmup / iterations))) * iterations
        rounds = stats.rounds + extra_calls / iterations
        if rounds > 0:
            fixture._run_benchmarks_energy = joules / rounds

    def before_test(self):
        self.start = {}
        try:
            with open("/proc/self/clear_refs", "w") as file:
                file.write("5")
            self.reset_note = None
        except OSError as error:
            self.reset_note = (
                f"the peak of resident memory could not be reset (/proc/self/clear_refs: "
                f"{error.strerror}): the growth of the process's peak, a lower bound"
            )
        try:
            self.start["rss"] = _status_kib("VmRSS")
            self.start["hwm"] = _status_kib("VmHWM")
        except OSError as error:
            self.memory_note = f"memory not recorded: {error}"
        if self.python_heap:
            import tracemalloc

            tracemalloc.reset_peak()
            self.start["python"] = tracemalloc.get_traced_memory()[0]
        torch = sys.modules.get("torch")
        self.device = None
        try:
            if torch is not None and torch.cuda.is_available():
                self.device = torch.cuda
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                self.start["device"] = torch.cuda.memory_allocated()
        except Exception:  # torch without a usable device
            self.device = None

    def after_test(self, fixture, failed):
        mine = {}
        try:
            hwm = _status_kib("VmHWM")
            base = self.start["hwm"] if self.reset_note else self.start["rss"]
            mine["memory"] = max(hwm - base, 0)
        except (OSError, KeyError):
            pass
        if self.python_heap:
            import tracemalloc

            mine["python_memory"] = max(tracemalloc.get_traced_memory()[1] - self.start["python"], 0)
        if self.device is not None:
            self.device.synchronize()
            mine["device_memory"] = max(self.device.max_memory_allocated() - self.start["device"], 0)
        energy = getattr(fixture, "_run_benchmarks_energy", None)
        if energy is not None:
            mine["energy"] = energy
        ranks = [mine]
        if self.comm is not None and self.comm.Get_size() > 1 and not failed:
            ranks = self.comm.allgather(mine)
        metrics = fixture.extra_info.setdefault("metrics", {})
        for name in ("memory", "python_memory", "device_memory"):
            per_rank = [r.get(name) for r in ranks]
            known = [v for v in per_rank if v is not None]
            if known:
                more = {"note": self.reset_note} if name == "memory" and self.reset_note else {}
                metrics[name] = _metric(max(known), "B", per_rank, **more)
        per_rank = [r.get("energy") for r in ranks]
        known = [v for v in per_rank if v is not None]
        if known:
            metrics["energy"] = _metric(sum(known), "J", per_rank)
        if not metrics:
            del fixture.extra_info["metrics"]
        if self.reset_note and self.reset_note not in self.said:
            self.said.append(self.reset_note)
        if self.memory_note and self.memory_note not in self.said:
            self.said.append(self.memory_note)
