//! Per-benchmark thresholds: a JSON file of fullname glob patterns to percentages, for time and,
//! under a metric's name, for that metric.

use std::path::Path;

use crate::error::GateError;

/// Per-benchmark thresholds: fullname glob patterns to percentages, the first match wins; a
/// metric's own under its name.
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    patterns: Vec<(glob::Pattern, f64)>,
    by_metric: Vec<(String, Vec<(glob::Pattern, f64)>)>,
}

impl Thresholds {
    /// Reads a JSON object such as `{"test_io.py::*": 25, "*[large]": 15}` (time's), where an
    /// object under a metric's name holds that metric's: `{"memory": {"*": 2}}`.
    pub fn load(path: &Path) -> Result<Self, GateError> {
        let error = |message: String| GateError::Thresholds {
            path: path.to_path_buf(),
            message,
        };
        let text = bench_model::fsio::read_regular(path).map_err(|e| error(e.to_string()))?;
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&text).map_err(|e| error(e.to_string()))?;
        let (metrics, time): (Vec<_>, Vec<_>) =
            object.into_iter().partition(|(_, v)| v.is_object());
        let mut by_metric = Vec::new();
        for (metric, patterns) in metrics {
            let serde_json::Value::Object(patterns) = patterns else {
                continue;
            };
            by_metric.push((metric, Self::patterns(patterns, &error)?));
        }
        let patterns = Self::patterns(time.into_iter().collect(), &error)?;
        Ok(Thresholds {
            patterns,
            by_metric,
        })
    }

    fn patterns(
        object: serde_json::Map<String, serde_json::Value>,
        error: &dyn Fn(String) -> GateError,
    ) -> Result<Vec<(glob::Pattern, f64)>, GateError> {
        object
            .into_iter()
            .map(|(pattern, percent)| {
                let percent = percent
                    .as_f64()
                    .filter(|p| *p >= 0.0)
                    .ok_or_else(|| error(format!("{pattern:?}: {percent} is not a percentage")))?;
                let glob =
                    glob::Pattern::new(&pattern).map_err(|e| error(format!("{pattern:?}: {e}")))?;
                Ok((glob, percent / 100.0))
            })
            .collect()
    }

    /// The threshold (a fraction) of `metric` for `fullname`, when the file sets one: time's
    /// from the top-level patterns (and a `"time"` object), another metric's from its object.
    pub fn for_metric(&self, metric: &str, fullname: &str) -> Option<f64> {
        let own = self
            .by_metric
            .iter()
            .filter(|(m, _)| m == metric)
            .flat_map(|(_, patterns)| patterns);
        let top = self.patterns.iter().filter(|_| metric == "time");
        own.chain(top)
            .find(|(p, _)| p.matches(fullname))
            .map(|(_, t)| *t)
    }

    /// The threshold (a fraction) for `fullname`.
    pub fn for_benchmark(&self, fullname: &str, default: f64) -> f64 {
        self.patterns
            .iter()
            .find(|(p, _)| p.matches(fullname))
            .map_or(default, |(_, t)| *t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_threshold_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        std::fs::write(&path, r#"{"*::test_io*": 25, "*": 5}"#).unwrap();
        let thresholds = Thresholds::load(&path).unwrap();
        assert_eq!(thresholds.for_benchmark("a.py::test_io_read", 0.1), 0.25);
        assert_eq!(thresholds.for_benchmark("a.py::test_x", 0.1), 0.05);
        std::fs::write(&path, r#"{"*": "x"}"#).unwrap();
        assert!(Thresholds::load(&path)
            .unwrap_err()
            .to_string()
            .contains("is not a percentage"));
    }

    #[test]
    fn a_metric_has_its_own_thresholds_under_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        std::fs::write(
            &path,
            r#"{"*::test_io*": 25, "memory": {"*::test_io*": 2}}"#,
        )
        .unwrap();
        let thresholds = Thresholds::load(&path).unwrap();
        assert_eq!(
            thresholds.for_metric("time", "a.py::test_io_read"),
            Some(0.25)
        );
        assert_eq!(
            thresholds.for_metric("memory", "a.py::test_io_read"),
            Some(0.02)
        );
        assert_eq!(thresholds.for_metric("memory", "a.py::test_x"), None);
        assert_eq!(thresholds.for_metric("energy", "a.py::test_io_read"), None);
    }
}
