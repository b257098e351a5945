//! Every shipped plot, evaluated by the jsonata GPE ships (1.8.4, pinned from GPE's lock file) and
//! by the newest jsonata 1.x, and drawn by GPE's Chart.js 2.9.4 with its moment 2.29.1 in headless
//! Chromium (GPE's own stack, via scripts/lib/gpe.mjs), on histories of real runs, on histories the
//! original script wrote and on the shapes real histories take; scripts/lib/gpe.mjs checks what a
//! reader relies on (every entry drawn once at its own run with its own value, and more).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use aggregate::AppendOptions;
use run_benchmarks::plots::SHIPPED;
use run_benchmarks::Results;
use serde_json::Value;

use common::{
    commit_all, git, gpe_stack, pytest, render_plots_with, root, run_benchmarks, succeed, write,
};

/// GPE's versions (its package-lock.json) and the newest jsonata 1.x: both must pass.
const STACKS: [(&str, &str); 2] = [("jsonata", "1.8.4"), ("jsonata-1x", "1.8.9")];

/// The cases that failed, one line each.
fn failures(cases: &[Value]) -> Vec<String> {
    cases
        .iter()
        .filter(|c| c["ok"] != true)
        .map(|c| format!("{} on {}: {}", c["plot"], c["selection"], c["error"]))
        .collect()
}

/// Every shipped plot's name.
fn shipped() -> Vec<String> {
    SHIPPED
        .iter()
        .map(|(file, _)| file.trim_end_matches(".jsonata").to_string())
        .collect()
}

#[test]
fn every_shipped_plot_evaluates_and_renders_in_gpes_stack() {
    let (Some(pytest), Some((modules, chromium))) = (pytest(), gpe_stack()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    // Three runs; the third moves each suite's first two runs into its archive.
    for run in 0..3 {
        let bound: &[&str] = if run == 2 {
            &["--max-entries", "10"]
        } else {
            &[]
        };
        succeed(
            Command::new(env!("CARGO_BIN_EXE_run-benchmarks"))
                .args(bound)
                .args([
                    "-d",
                    root().join("fixtures/suites").to_str().unwrap(),
                    "--quiet",
                    "--pytest",
                    &pytest,
                ])
                .args([
                    "--results",
                    results.to_str().unwrap(),
                    "--",
                    "--benchmark-max-time=0.005",
                ]),
        );
    }
    // The original script's two layouts, and HeAT's own MPI histories (fixtures/heat).
    let histories = root().join("fixtures/histories");
    let heat = root().join("fixtures/heat");
    let mut extra = Vec::new();
    for (name, path) in [
        ("compact", histories.join("original-compact.json")),
        ("indented", histories.join("original-indented.json")),
        ("heat-reductions", heat.join("reductions/aggregate.json")),
    ] {
        extra.extend([
            "--history".to_string(),
            format!("{name}={}", path.display()),
        ]);
    }
    for (jsonata, version) in STACKS {
        let (cases, stderr) = render_plots_with(jsonata, &results, &modules, &chromium, &extra);
        let failed = failures(&cases);
        assert!(
            failed.is_empty(),
            "jsonata {version}:\n{}\n{stderr}",
            failed.join("\n")
        );
        for case in &cases {
            assert_eq!(
                case["versions"],
                serde_json::json!({"jsonata": version, "chart.js": "2.9.4", "moment": "2.29.1"})
            );
        }
        let plots: std::collections::BTreeSet<String> = cases
            .iter()
            .map(|c| c["plot"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(plots.into_iter().collect::<Vec<_>>(), {
            let mut names = shipped();
            names.sort();
            names
        });
        // Each file alone (two current, two archive chunks), all together, the three histories
        // alone and together.
        assert_eq!(cases.len(), SHIPPED.len() * 9, "{stderr}");
        for case in cases.iter().filter(|c| c["plot"] == "trend") {
            // One point per entry: a current file and its archive chunks join into one suite.
            assert_eq!(case["points"], case["entries"], "{case}");
        }
    }
}

/// Histories of the shapes real data takes, from real pytest-benchmark reports varied by
/// scripts/lib/vary_reports.py and appended as run-benchmarks appends them (the original-* suites,
/// and reports named *-original.json, by the original script), in `results/data`, with the lists
/// and plots run-benchmarks writes.
fn untidy_histories(python: &Path, results: &Path, shapes: &[&str]) {
    let reports = results.join("reports");
    succeed(
        Command::new(python)
            .arg(root().join("scripts/lib/vary_reports.py"))
            .arg(&reports)
            .args(shapes),
    );
    let folder = Results {
        root: results.to_path_buf(),
    };
    for suite in std::fs::read_dir(&reports).unwrap() {
        let suite = suite.unwrap().path();
        let name = suite.file_name().unwrap().to_str().unwrap().to_string();
        let mut runs: Vec<PathBuf> = std::fs::read_dir(&suite)
            .unwrap()
            .map(|r| r.unwrap().path())
            .collect();
        runs.sort();
        for report in runs {
            let original = name.starts_with("original-")
                || report.to_str().unwrap().ends_with("-original.json");
            if original {
                std::fs::create_dir_all(folder.data().join(&name)).unwrap();
                succeed(
                    Command::new(python)
                        .arg(root().join("scripts/lib/legacy_aggregate.py"))
                        .arg(&report)
                        .arg(folder.history(&name)),
                );
            } else {
                let options = AppendOptions::default();
                let loaded = aggregate::load_reports(&[report], &options).unwrap();
                folder.record(&name, &loaded, &options).unwrap();
            }
        }
    }
    folder.refresh().unwrap();
}

/// Histories imported from github-action-benchmark's `data.js` as `aggregate --import` writes
/// them (the mean only: null median, min and max), from two real projects' files in
/// fixtures/datajs: one of its pytest tool (`imported-pytest`), HeAT's own custom tool
/// (`imported-heat`, runtime and energy by node set).
fn imported_histories(results: &Path) {
    let folder = Results {
        root: results.to_path_buf(),
    };
    for (suite, file) in [
        ("imported-pytest", "histolab__histolab.data.js.gz"),
        ("imported-heat", "helmholtz-analytics__heat.data.js.gz"),
    ] {
        let mut text = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(
                std::fs::File::open(root().join("fixtures/datajs").join(file)).unwrap(),
            ),
            &mut text,
        )
        .unwrap();
        let source = results.join(file.trim_end_matches(".gz"));
        std::fs::write(&source, text).unwrap();
        let options = aggregate::import::ImportOptions::default();
        let imported = aggregate::import::read(&source, &options).unwrap();
        std::fs::create_dir_all(folder.data().join(suite)).unwrap();
        aggregate::append_imported(&imported, &folder.history(suite), &AppendOptions::default())
            .unwrap();
    }
    folder.refresh().unwrap();
}

/// `plot` with one of its variables set otherwise, as a user sets it in GPE's editor, written to
/// the plots folder as NAME.jsonata and listed.
fn variant(results: &Path, plot: &str, name: &str, variable: &str, value: &str) {
    let plots = results.join("plots");
    let text = std::fs::read_to_string(plots.join(format!("{plot}.jsonata"))).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("${variable} := ")))
        .unwrap_or_else(|| panic!("{plot} has no ${variable}"));
    let changed = text.replacen(line, &format!("  ${variable} := {value};"), 1);
    std::fs::write(plots.join(format!("{name}.jsonata")), changed).unwrap();
    let list = plots.join("list.json");
    let mut entries: Vec<Value> = serde_json::from_slice(&std::fs::read(&list).unwrap()).unwrap();
    entries.push(serde_json::json!({"name": name, "file": format!("{name}.jsonata")}));
    std::fs::write(list, serde_json::to_vec(&entries).unwrap()).unwrap();
}

// One test per jsonata version, so the two renderings (each minutes of Chromium) run side by side.
#[test]
fn every_shipped_plot_tells_the_truth_on_untidy_histories_with_gpes_jsonata() {
    tells_the_truth_on_untidy_histories(STACKS[0]);
}

#[test]
fn every_shipped_plot_tells_the_truth_on_untidy_histories_with_the_newest_jsonata_1x() {
    tells_the_truth_on_untidy_histories(STACKS[1]);
}

fn tells_the_truth_on_untidy_histories((jsonata, version): (&str, &str)) {
    let (Some(pytest), Some((modules, chromium))) = (pytest(), gpe_stack()) else {
        return;
    };
    let python = Path::new(&pytest).with_file_name("python");
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    untidy_histories(
        &python,
        &results,
        &[
            "partial",
            "churn",
            "twice",
            "original",
            "mpi",
            "wide",
            "judged",
            "continued",
            "weak",
            "metrics",
            "many",
            "one",
            "year:11000",
        ],
    );
    imported_histories(&results);
    variant(&results, "trend", "trend-runs", "axis", "\"runs\"");
    variant(&results, "change", "change-runs", "axis", "\"runs\"");
    variant(&results, "trend", "trend-memory", "metric", "\"memory\"");
    variant(&results, "trend", "trend-main", "branch", "\"main\"");
    variant(
        &results,
        "scaling",
        "scaling-efficiency",
        "view",
        "\"efficiency\"",
    );
    variant(&results, "scaling", "scaling-time", "view", "\"time\"");
    let picks = [
        "--pick",
        "some suites per run=measured-a,measured-b,measured-c",
        "--pick",
        "original layouts together=original-a,original-b",
        "--pick",
        "MPI beside serial=mpi,serial",
    ]
    .map(String::from);
    {
        let (cases, stderr) = render_plots_with(jsonata, &results, &modules, &chromium, &picks);
        // gpe.mjs checks each case: no error from jsonata or Chart.js; labels of a category axis
        // unique and as many as the values; nothing missing on a log axis unless Chart.js skips
        // it; no {x, y} points on a category axis (their tooltips name the wrong label); the plot
        // area at least half the canvas; the legend and the bottom clear of GPE's buttons; no
        // animation; and for trend and change every entry drawn once at its own run, with its own
        // value, lines in time order (and the change's axes scaled to its percentages).
        let failed = failures(&cases);
        assert!(
            failed.is_empty(),
            "jsonata {version}:\n{}\n{stderr}",
            failed.join("\n")
        );
        let case = |plot: &str, selection: &str| {
            cases
                .iter()
                .find(|c| c["plot"] == plot && c["selection"] == selection)
                .unwrap_or_else(|| panic!("no case {plot} on {selection}"))
        };
        // Every suite alone, the three picks and all suites together, for every plot and variant.
        assert_eq!(
            cases.len(),
            (SHIPPED.len() + 6) * (17 + 2 + 3 + 1),
            "jsonata {version}: {:?} {stderr}",
            cases
                .iter()
                .map(|c| c["selection"].as_str().unwrap())
                .collect::<std::collections::BTreeSet<_>>()
        );

        // The original script's history continued by heat-bench's: one line per benchmark.
        let continued = case("trend", "continued");
        assert_eq!(continued["datasets"], 3, "{continued}");
        assert_eq!(continued["points"], continued["entries"], "{continued}");
        // Two branches: one line per benchmark and branch; a branch picked, its lines only.
        assert_eq!(case("trend", "twice")["datasets"], 6);
        assert_eq!(case("trend-main", "twice")["datasets"], 3);
        // Gaps: a benchmark removed after run 4 of 6 misses 2 runs, and says so.
        let legend = case("trend", "churn")["legend"].to_string();
        assert!(legend.contains("misses 2 of 6 runs"), "{legend}");
        // A metric other than time, in its unit; a run without it is a gap.
        let memory = case("trend-memory", "metrics");
        assert_eq!(memory["datasets"], 3, "{memory}");
        assert!(
            memory["legend"]
                .to_string()
                .contains("(MiB, misses 1 of 4 runs)"),
            "{memory}"
        );
        // 200 benchmarks: those that moved most (20 lines, 40 bars), and a note saying how many.
        for (plot, shown) in [
            ("trend", "20 of 200"),
            ("change", "20 of 200"),
            ("latest-run", "40 of 200"),
        ] {
            let many = case(plot, "many");
            assert!(many["title"].as_str().unwrap().contains(shown), "{many}");
        }
        assert_eq!(case("trend", "many")["datasets"], 20);
        // A year of nightly runs: every entry drawn.
        let year = case("trend", "year");
        assert_eq!(year["points"], 11000, "{year}");
        // The gate's verdicts marked: three regressions, two improvements, one recovery.
        assert_eq!(case("change", "wide")["marked"], 6);
        assert_eq!(case("change", "churn")["marked"], 0);
        // Open regressions, as the newest run states them: the one that recovered and the one
        // that was accepted are not listed.
        let open = case("regressions", "wide");
        assert_eq!(open["labels"], 1, "{open}");
        assert!(
            open["title"].as_str().unwrap().contains("1 open, of 3"),
            "{open}"
        );
        assert_eq!(case("regressions", "churn")["datasets"], 0);
        // Verdicts of an earlier gate, replayed: a regression stays open until it recovers.
        let replayed = case("regressions", "judged");
        assert_eq!(replayed["labels"], 1, "{replayed}");
        assert!(
            replayed["title"]
                .as_str()
                .unwrap()
                .contains("1 open, of 2 the gate found (1 recovered)"),
            "{replayed}"
        );
        // Scaling draws MPI runs only, per process count, with the ideal line; weak scaling when
        // the benchmarks say their size per process; a message without MPI runs.
        assert_eq!(case("scaling", "MPI beside serial")["labels"], 3);
        assert_eq!(
            case("scaling", "mpi")["datasets"],
            4,
            "the ideal and 3 benchmarks"
        );
        assert!(case("scaling", "weak")["title"]
            .as_str()
            .unwrap()
            .contains("weak scaling"));
        assert!(case("scaling-efficiency", "mpi")["title"]
            .as_str()
            .unwrap()
            .contains("efficiency"));
        assert_eq!(case("scaling", "serial")["datasets"], 0);
        // Runs in commit order: suites of one pipeline run share nothing but their time.
        assert_eq!(case("trend-runs", "twice")["labels"], 4);
        // Imported histories know each run's mean only: it is drawn where the median would be
        // (gpe.mjs checks every point against it), and no plot lacks its lines or throws.
        for plot in shipped() {
            for suite in ["imported-pytest", "imported-heat"] {
                let drawn = case(&plot, suite);
                if plot != "regressions" && plot != "scaling" {
                    assert!(
                        drawn["datasets"].as_u64() > Some(0),
                        "{plot} on {suite}: {drawn}"
                    );
                }
            }
        }
    }
}

#[test]
fn new_entries_carry_their_commits_subject_for_the_tooltips() {
    let Some(pytest) = pytest() else { return };
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    write(
        &project.join("bench/tiny/test_tiny.py"),
        "def test_sum(benchmark):\n    benchmark(sum, range(10))\n",
    );
    git(&project, &["init", "-q", "-b", "main"]);
    commit_all(
        &project,
        "Sum faster: use the builtin\n\nThe body is not the subject.",
    );
    let results = dir.path().join("results");
    let output = run_benchmarks(
        &project,
        &pytest,
        &[
            "-d",
            "bench",
            "--results",
            results.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let history: Value =
        serde_json::from_slice(&std::fs::read(results.join("data/tiny/aggregate.json")).unwrap())
            .unwrap();
    let info = &history[0]["commit_info"];
    assert_eq!(info["subject"], "Sum faster: use the builtin", "{info}");
    // The other keys stay as pytest-benchmark wrote them.
    assert_eq!(
        info["id"].as_str().unwrap(),
        git(&project, &["rev-parse", "HEAD"]).trim()
    );
    assert_eq!(info["branch"], "main");
}
