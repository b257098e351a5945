//! Memory and energy beside time: what the plugin records per benchmark and per rank, and the
//! gate judging them, through the real run-benchmarks, pytest, mpirun and git.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use common::{gpe_stack, history, mpirun, pytest, render_plots, stderr, write, Project};

const MB: f64 = 1024.0 * 1024.0;

/// A suite whose benchmark allocates `mb` MiB and writes every page of it (bytes filled with
/// one byte each: numpy is not among the test tools, and an untouched allocation is not resident).
fn allocating_suite(dir: &Path, mb: u64) {
    write(
        &dir.join("suites/alloc/test_alloc.py"),
        &format!(
            "def allocate():\n    data = b'x' * ({mb} * 2**20)\n    return len(data)\n\n\
             def test_allocate(benchmark):\n    benchmark.pedantic(allocate, rounds=3)\n"
        ),
    );
}

fn run(dir: &Path, pytest: &str, env: &[(String, String)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
        .args(["--pytest", pytest, "-d", "suites", "--quiet"])
        .args(args)
        .envs(env.iter().cloned())
        .current_dir(dir)
        .output()
        .unwrap()
}

fn metric<'a>(entry: &'a Value, name: &str) -> &'a Value {
    &entry["extra_info"]["metrics"][name]
}

#[test]
fn a_200_mb_allocation_reads_as_200_mb_of_peak_memory_on_every_rank_at_1_2_and_4_processes() {
    let (Some(pytest), Some(env)) = (pytest(), mpirun()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    allocating_suite(dir.path(), 200);
    let launcher = "mpirun --oversubscribe -n {procs}";
    let output = run(
        dir.path(),
        &pytest,
        &env,
        &[
            "--launcher",
            launcher,
            "--procs",
            "1,2,4",
            "--timeout",
            "120",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let entries = history(&dir.path().join("suites/results/data/alloc/aggregate.json"));
    let mut seen = Vec::new();
    for entry in &entries {
        let procs = entry["procs"].as_u64().unwrap();
        let memory = metric(entry, "memory");
        assert_eq!(memory["unit"], "B", "{memory}");
        assert_eq!(memory["better"], "lower", "{memory}");
        let per_rank: Vec<f64> = memory["per_rank"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(per_rank.len() as u64, procs, "{memory}");
        for value in per_rank.iter().chain([&memory["value"].as_f64().unwrap()]) {
            let mb = value / MB;
            assert!(
                (180.0..=220.0).contains(&mb),
                "x{procs}: {mb:.1} MiB: {memory}"
            );
        }
        let max = per_rank.iter().cloned().fold(0.0, f64::max);
        assert_eq!(memory["value"].as_f64().unwrap(), max, "{memory}");
        seen.push(procs);
    }
    seen.sort();
    assert_eq!(seen, [1, 2, 4]);
}

#[test]
fn a_suite_that_allocates_twice_as_much_at_one_commit_is_caught_by_the_memory_gate_with_its_range()
{
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut project = Project::new(dir.path());
    let library = |project: &mut Project, mb: u64| {
        write(
            &project.root.join("speedlib.py"),
            &format!("import time\n\ndef work():\n    data = b'x' * ({mb} * 2**20)\n    time.sleep(0.2)\n    return len(data)\n"),
        );
        project.commit(&format!("work holds {mb} MiB"))
    };
    library(&mut project, 20);
    let args = [
        "--metric",
        "time",
        "--metric",
        "memory",
        "--fail-on-regression",
        // A step seen in one run alone is confirmed by reruns of that benchmark.
        "--confirm",
        "2",
    ];
    let mut before = String::new();
    for night in 0..6 {
        before = project.touch();
        let (output, findings) = project.check(&pytest, &[], &args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "night {night}: {}",
            stderr(&output)
        );
        let memory = &findings["benchmarks"][1];
        assert_eq!(memory["metric"], "memory", "{findings}");
        if night >= 5 {
            assert_eq!(memory["verdict"], "unchanged", "{findings}");
        }
    }
    let culprit = library(&mut project, 40);
    let (output, findings) = project.check(&pytest, &[], &args);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let judged: Vec<(&str, &str)> = findings["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["metric"].as_str().unwrap_or("time"),
                j["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    // Time is judged as before (the sleep did not change); memory doubled.
    assert_eq!(
        judged,
        [("time", "unchanged"), ("memory", "regression")],
        "{text}"
    );
    let memory = &findings["benchmarks"][1];
    assert_eq!(memory["unit"], "B");
    assert_eq!(memory["range"]["from"]["id"], before.as_str(), "{findings}");
    assert_eq!(memory["range"]["to"]["id"], culprit.as_str(), "{findings}");
    let change = memory["change"].as_f64().unwrap();
    assert!((0.8..1.2).contains(&change), "{findings}");
    assert!(text.contains("[memory]") && text.contains(" MiB"), "{text}");
    // The state is kept per metric: memory's open regression beside time's verdict.
    let entries = history(&project.root.join("bench/results/data/speed/aggregate.json"));
    let last = entries.last().unwrap();
    assert_eq!(last["gate"]["verdict"], "unchanged", "{last}");
    assert_eq!(last["gate_by_metric"]["memory"]["verdict"], "regression");
    assert_eq!(
        last["gate_by_metric"]["memory"]["open"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The next run still lists it open, for memory only.
    project.touch();
    let (output, findings) = project.check(&pytest, &[], &["--metric", "memory", "--fail-on-open"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(findings["open"][0]["metric"], "memory", "{findings}");
    assert_eq!(findings["open"][0]["range"]["to"]["id"], culprit.as_str());

    // The plots read memory's verdicts when $metric says memory, time's otherwise.
    let Some((modules, chromium)) = gpe_stack() else {
        return;
    };
    let results = project.root.join("bench/results");
    for plot in ["change", "regressions"] {
        with_metric(&results, plot, "memory");
    }
    let (cases, errors) = render_plots(&results, &modules, &chromium, &[]);
    let case = |plot: &str| {
        let found = cases.iter().find(|c| c["plot"] == plot).unwrap();
        assert_eq!(found["ok"], true, "{found} {errors}");
        found
    };
    assert_eq!(case("change-memory")["marked"], 1, "{errors}");
    assert_eq!(case("change")["marked"], 0);
    let open = case("regressions-memory");
    assert_eq!(open["labels"], 1, "{open}");
    assert!(
        open["title"].as_str().unwrap().contains("memory): 1 open"),
        "{open}"
    );
    assert!(case("regressions")["title"]
        .as_str()
        .unwrap()
        .contains("none open"));
}

/// `plot` with `$metric` set to `metric`, as a user sets it in GPE's editor: PLOT-METRIC.
fn with_metric(results: &Path, plot: &str, metric: &str) {
    let plots = results.join("plots");
    let text = fs::read_to_string(plots.join(format!("{plot}.jsonata"))).unwrap();
    let changed = text.replacen(
        "$metric := \"time\";",
        &format!("$metric := \"{metric}\";"),
        1,
    );
    assert_ne!(changed, text, "{plot} has no $metric");
    let name = format!("{plot}-{metric}");
    fs::write(plots.join(format!("{name}.jsonata")), changed).unwrap();
    let list = plots.join("list.json");
    let mut entries: Vec<Value> = serde_json::from_slice(&fs::read(&list).unwrap()).unwrap();
    entries.push(serde_json::json!({"name": name, "file": format!("{name}.jsonata")}));
    fs::write(list, serde_json::to_vec(&entries).unwrap()).unwrap();
}

/// A fake powercap tree: one package whose counter starts near its wrap-around.
fn powercap(dir: &Path, start: u64, max: u64) -> std::path::PathBuf {
    let zone = dir.join("powercap/intel-rapl:0");
    write(&zone.join("name"), "package-0\n");
    write(&zone.join("energy_uj"), &format!("{start}\n"));
    write(&zone.join("max_energy_range_uj"), &format!("{max}\n"));
    // A sub-zone inside the package: not counted twice.
    write(&dir.join("powercap/intel-rapl:0:0/name"), "core\n");
    write(&dir.join("powercap/intel-rapl:0:0/energy_uj"), "5\n");
    write(
        &dir.join("powercap/intel-rapl:0:0/max_energy_range_uj"),
        "100\n",
    );
    dir.join("powercap")
}

#[test]
fn energy_per_round_comes_from_rapl_counters_across_their_wrap_around_and_is_never_made_up() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let root = powercap(dir.path(), 19_000_000, 20_000_000);
    // Each call of the benchmarked function "uses" 1.5 J: the counter moves by 1,500,000 uJ,
    // wrapping at max_energy_range_uj as RAPL's does (the 1st call of the 2nd round wraps).
    write(
        &dir.path().join("suites/energy/test_energy.py"),
        "import os\n\nPATH = os.path.join(os.environ['HEAT_BENCH_POWERCAP'], 'intel-rapl:0', 'energy_uj')\n\n\
         def work():\n    value = int(open(PATH).read())\n    open(PATH, 'w').write(str((value + 1_500_000) % 20_000_000))\n\n\
         def test_energy(benchmark):\n    benchmark.pedantic(work, rounds=4, warmup_rounds=1)\n\n\
         def test_looped(benchmark):\n    benchmark.pedantic(work, rounds=2, iterations=3)\n",
    );
    let env = [(
        "HEAT_BENCH_POWERCAP".to_string(),
        root.display().to_string(),
    )];
    let output = run(dir.path(), &pytest, &env, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let entries = history(&dir.path().join("suites/results/data/energy/aggregate.json"));
    let joules: Vec<(&str, f64)> = entries
        .iter()
        .map(|e| {
            let energy = metric(e, "energy");
            assert_eq!(energy["unit"], "J", "{energy}");
            (
                e["name"].as_str().unwrap(),
                energy["value"].as_f64().unwrap(),
            )
        })
        .collect();
    // A round of test_looped is 3 calls: 4.5 J (its extra call after the rounds counted too).
    assert_eq!(joules.len(), 2, "{joules:?}");
    for (name, value) in joules {
        let expected = if name == "test_looped" { 4.5 } else { 1.5 };
        assert!((value - expected).abs() < 1e-9, "{name}: {value} J");
    }

    // Where no counter is readable (a VM or container), nothing is recorded and the log says why
    // once.
    let empty = dir.path().join("no-powercap");
    fs::create_dir_all(&empty).unwrap();
    write(
        &dir.path().join("suites2/plain/test_plain.py"),
        "def test_a(benchmark):\n    benchmark.pedantic(lambda: len(b'x' * (10 * 2**20)), rounds=2)\n\n\
         def test_b(benchmark):\n    benchmark(sum, range(20))\n",
    );
    // With --memory=python (passed to pytest), the Python heap's peak too.
    let output = Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
        .args([
            "--pytest",
            &pytest,
            "-d",
            "suites2",
            "--",
            "--memory=python",
        ])
        .env("HEAT_BENCH_POWERCAP", &empty)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert_eq!(
        text.matches("energy not recorded: no RAPL energy counters under")
            .count(),
        1,
        "{text}"
    );
    let entries = history(&dir.path().join("suites2/results/data/plain/aggregate.json"));
    for entry in &entries {
        assert!(metric(entry, "energy").is_null(), "{entry}");
        assert!(metric(entry, "memory")["value"].is_u64(), "{entry}");
        if entry["name"] == "test_a" {
            let heap = metric(entry, "python_memory")["value"].as_f64().unwrap() / MB;
            assert!((9.5..11.0).contains(&heap), "{heap} MiB: {entry}");
        }
    }
}

#[test]
fn ranks_on_one_node_share_its_packages_so_one_rank_reads_them() {
    let (Some(pytest), Some(mut env)) = (pytest(), mpirun()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = powercap(dir.path(), 0, 20_000_000);
    // Rank 0's calls move the package counter by 1.5 J each; the other rank's run beside it.
    write(
        &dir.path().join("suites/energy/test_energy.py"),
        "import os\nfrom mpi4py import MPI\n\nPATH = os.path.join(os.environ['HEAT_BENCH_POWERCAP'], 'intel-rapl:0', 'energy_uj')\n\n\
         def work():\n    if MPI.COMM_WORLD.Get_rank() == 0:\n        value = int(open(PATH).read())\n        open(PATH, 'w').write(str(value + 1_500_000))\n\n\
         def test_energy(benchmark):\n    benchmark.pedantic(work, rounds=4)\n",
    );
    env.push(("HEAT_BENCH_POWERCAP".into(), root.display().to_string()));
    let launcher = "mpirun --oversubscribe -n {procs}";
    let output = run(
        dir.path(),
        &pytest,
        &env,
        &["--launcher", launcher, "--procs", "2", "--timeout", "120"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let entries = history(&dir.path().join("suites/results/data/energy/aggregate.json"));
    let energy = metric(&entries[0], "energy");
    assert_eq!(
        energy["per_rank"],
        serde_json::json!([1.5, null]),
        "{energy}"
    );
    assert_eq!(energy["value"], 1.5, "{energy}");
}
