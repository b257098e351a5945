//! The results folder: where histories, GPE lists, plots and logs go, and how they are refreshed.

use std::io::Write;
use std::path::{Path, PathBuf};

use aggregate::{AppendOptions, Loaded};
use bench_model::Error as ModelError;

use crate::{plots, Error};

/// The `.gitignore` a results folder gets when it has none.
pub(crate) const GITIGNORE: &str =
    "# Written by run-benchmarks: lock files, temporaries and pytest logs.\n.*.lock\n.*.tmp.*\n/logs/\n";

/// The results folder: `data/<suite>/aggregate.json`, `data/list.json`, `plots/`, `logs/`.
#[derive(Debug, Clone)]
pub struct Results {
    /// Its root.
    pub root: PathBuf,
}

impl Results {
    /// `data/`: what GPE's data URL points at.
    pub fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// `plots/`: what GPE's plots URL points at.
    pub fn plots(&self) -> PathBuf {
        self.root.join("plots")
    }

    /// A suite's history.
    pub fn history(&self, suite: &str) -> PathBuf {
        self.data().join(suite).join("aggregate.json")
    }

    /// Where `--quiet` keeps a suite's pytest output.
    pub fn log(&self, suite: &str) -> PathBuf {
        self.root.join("logs").join(format!("{suite}.log"))
    }

    /// Appends a run's entries to a suite's history, creating its folder.
    pub fn record(
        &self,
        suite: &str,
        loaded: &Loaded,
        options: &AppendOptions,
    ) -> Result<aggregate::Summary, ModelError> {
        let history = self.history(suite);
        let folder = history.parent().expect("history has a folder");
        std::fs::create_dir_all(folder).map_err(|e| ModelError::Write {
            path: folder.to_path_buf(),
            source: e,
        })?;
        aggregate::append_entries(loaded, &history, options)
    }

    /// Rebuilds `data/list.json` and `plots/list.json`, installs missing plots and the
    /// `.gitignore` that keeps locks and logs out of a data repository. Returns warnings.
    pub fn refresh(&self) -> Result<Vec<String>, Error> {
        let mut warnings = Vec::new();
        std::fs::create_dir_all(self.data()).map_err(|e| ModelError::Write {
            path: self.data(),
            source: e,
        })?;
        let data = build_list::build(&self.data(), &build_list::ListOptions::default())?;
        warnings.extend(data.warnings);
        write_list(&self.data().join("list.json"), &data.entries)?;

        let installed = plots::install(&self.plots())?;
        warnings.extend(installed.kept.iter().map(|name| {
            format!(
                "{} was edited, so this version's {name} was not written over it; delete it (or rename yours) to get the new one",
                self.plots().join(name).display()
            )
        }));
        let options = build_list::ListOptions {
            pattern: "*.jsonata".into(),
            name: build_list::NameTemplate::parse("{stem}").expect("valid template"),
            archives: false,
        };
        let plots = build_list::build(&self.plots(), &options)?;
        warnings.extend(plots.warnings);
        write_list(&self.plots().join("list.json"), &plots.entries)?;

        let ignore = self.root.join(".gitignore");
        if !ignore.exists() {
            bench_model::fsio::write_atomic(&ignore, |w| w.write_all(GITIGNORE.as_bytes()))?;
        }
        Ok(warnings)
    }
}

fn write_list(path: &Path, entries: &[bench_model::ListEntry]) -> Result<(), ModelError> {
    let text = bench_model::list::to_vec(entries);
    bench_model::fsio::write_atomic(path, |w| w.write_all(&text))
}
