//! Per-benchmark thresholds: a JSON file of fullname glob patterns to percentages.

use std::path::Path;

use crate::error::GateError;

/// Per-benchmark thresholds: fullname glob patterns to percentages, the first match wins.
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    patterns: Vec<(glob::Pattern, f64)>,
}

impl Thresholds {
    /// Reads a JSON object such as `{"test_io.py::*": 25, "*[large]": 15}`.
    pub fn load(path: &Path) -> Result<Self, GateError> {
        let error = |message: String| GateError::Thresholds {
            path: path.to_path_buf(),
            message,
        };
        let text = bench_model::fsio::read_regular(path).map_err(|e| error(e.to_string()))?;
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&text).map_err(|e| error(e.to_string()))?;
        let patterns = object
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
            .collect::<Result<_, GateError>>()?;
        Ok(Thresholds { patterns })
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
}
