//! A series' state carried from run to run: its open regressions and where its current level
//! began, read back from the verdicts stored in its entries.
//!
//! Every check stores, with each entry it judged, the series' open regressions after that run
//! ([`GateRecord::open`]), so the next check continues from there however far back the regression
//! was found (an archive chunk need not be read). Entries judged before the gate stored its state
//! carry only their verdicts; those are replayed, and a regression the old gate reported twice
//! for one step (against the level before it, once the level had moved) counts once.

use bench_model::{GateRecord, OpenRecord, RunRef};

use crate::judge::{OpenLevel, Verdict};
use crate::series::PastRun;

/// What earlier runs left for a series' next check.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesState {
    /// Regressions still open, oldest first.
    pub open: Vec<OpenRecord>,
    /// The last reported step: its first run on the new level and that level (seconds).
    pub last_step: Option<(RunRef, f64)>,
}

impl SeriesState {
    /// The state the runs `runs` (a series' past runs on its baseline branch, oldest first) left.
    pub fn read(runs: &[&PastRun], threshold: f64) -> SeriesState {
        let last_step = runs.iter().rev().find_map(|run| {
            let gate = run.gate.as_ref()?;
            let range = gate.range.as_ref()?;
            is_step(gate).then(|| (range.to.clone(), new_level(gate, run.value)))
        });
        let carried = runs
            .iter()
            .rposition(|r| r.gate.as_ref().is_some_and(|g| g.open.is_some()));
        let (mut open, replayed) = match carried {
            Some(at) => (
                runs[at]
                    .gate
                    .as_ref()
                    .and_then(|g| g.open.clone())
                    .unwrap_or_default(),
                &runs[at + 1..],
            ),
            None => (Vec::new(), runs),
        };
        for run in replayed {
            if let Some(gate) = &run.gate {
                replay(&mut open, gate, run.value, threshold);
            }
        }
        SeriesState { open, last_step }
    }

    /// The open regressions as the judge needs them.
    pub fn open_levels(&self) -> Vec<OpenLevel> {
        self.open
            .iter()
            .map(|o| OpenLevel {
                before: o.before,
                level: o.level,
            })
            .collect()
    }
}

fn is_step(gate: &GateRecord) -> bool {
    [
        Verdict::Regression,
        Verdict::Improvement,
        Verdict::Recovered,
    ]
    .iter()
    .any(|v| v.as_str() == gate.verdict)
}

/// The level a stored step went to: its baseline moved by its change (or the run's own value).
fn new_level(gate: &GateRecord, value: f64) -> f64 {
    match (gate.baseline, gate.change) {
        (Some(baseline), Some(change)) => baseline * (1.0 + change),
        _ => value,
    }
}

/// Applies one stored verdict to the open regressions.
fn replay(open: &mut Vec<OpenRecord>, gate: &GateRecord, value: f64, threshold: f64) {
    let Some(range) = &gate.range else { return };
    let level = new_level(gate, value);
    if gate.verdict == Verdict::Regression.as_str() {
        let before = gate.baseline.unwrap_or(value);
        // The old gate judged a run that stayed slow against the level before the step and
        // reported it again: a regression from (about) the same level is the same step.
        let same_step = open
            .last()
            .is_some_and(|o| (before / o.before).ln().abs() < (before / o.level).ln().abs());
        if same_step {
            return;
        }
        open.push(OpenRecord {
            range: range.clone(),
            before,
            level,
            runs: 1,
        });
    } else if is_step(gate) {
        let closed = |o: &OpenRecord| {
            OpenLevel {
                before: o.before,
                level: o.level,
            }
            .is_back(level, threshold)
        };
        open.retain(|o| !closed(o));
        if gate.verdict == Verdict::Improvement.as_str() {
            if let Some(last) = open.last_mut() {
                last.level = level;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bench_model::CommitRange;

    fn run(n: usize, value: f64, gate: Option<GateRecord>) -> PastRun {
        PastRun {
            branch: Some("main".into()),
            value,
            run: RunRef {
                id: Some(format!("{n:040x}")),
                datetime: None,
            },
            gate,
        }
    }

    fn regression(from: usize, to: usize, baseline: f64, change: f64) -> GateRecord {
        GateRecord {
            verdict: "regression".into(),
            change: Some(change),
            baseline: Some(baseline),
            range: Some(CommitRange {
                from: run(from, 0.0, None).run,
                to: run(to, 0.0, None).run,
            }),
            open: None,
            run_wide: None,
        }
    }

    #[test]
    fn the_old_gates_second_report_of_one_step_counts_once() {
        let runs = [
            run(1, 1.0, None),
            run(2, 1.5, Some(regression(1, 2, 1.0, 0.5))),
            run(3, 1.5, Some(regression(2, 3, 1.02, 0.47))),
        ];
        let runs: Vec<&PastRun> = runs.iter().collect();
        let state = SeriesState::read(&runs, 0.10);
        assert_eq!(state.open.len(), 1, "{state:?}");
        assert_eq!(state.open[0].range.to.id, runs[1].run.id);
        // A further step on top of the first is a second one.
        let mut more: Vec<PastRun> = runs.iter().map(|r| (*r).clone()).collect();
        more.push(run(4, 2.3, Some(regression(3, 4, 1.5, 0.53))));
        let more: Vec<&PastRun> = more.iter().collect();
        assert_eq!(SeriesState::read(&more, 0.10).open.len(), 2);
    }

    #[test]
    fn the_carried_state_wins_over_replaying_older_verdicts() {
        let mut carried = regression(1, 2, 1.0, 0.5);
        carried.verdict = "unchanged".into();
        carried.range = None;
        carried.open = Some(Vec::new());
        let runs = [
            run(2, 1.5, Some(regression(1, 2, 1.0, 0.5))),
            run(3, 1.0, Some(carried)),
        ];
        let runs: Vec<&PastRun> = runs.iter().collect();
        let state = SeriesState::read(&runs, 0.10);
        assert!(state.open.is_empty(), "{state:?}");
        assert_eq!(state.last_step.unwrap().0.id, runs[0].run.id);
    }
}
