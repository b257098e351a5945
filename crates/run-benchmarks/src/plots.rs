//! The GPE plots we ship: JSONata files written into `plots/` when missing, never over a user's.

use std::io::Write;
use std::path::Path;

/// Every shipped plot: file name and JSONata text.
pub const SHIPPED: &[(&str, &str)] = &[
    ("trend.jsonata", include_str!("../plots/trend.jsonata")),
    ("change.jsonata", include_str!("../plots/change.jsonata")),
    (
        "latest-run.jsonata",
        include_str!("../plots/latest-run.jsonata"),
    ),
    (
        "compare-branches.jsonata",
        include_str!("../plots/compare-branches.jsonata"),
    ),
    (
        "min-median-max.jsonata",
        include_str!("../plots/min-median-max.jsonata"),
    ),
    ("scaling.jsonata", include_str!("../plots/scaling.jsonata")),
];

/// Writes the shipped plots that `dir` lacks; returns the names written.
pub fn install_missing(dir: &Path) -> Result<Vec<&'static str>, bench_model::Error> {
    std::fs::create_dir_all(dir).map_err(|e| bench_model::Error::Write {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut written = Vec::new();
    for (name, code) in SHIPPED {
        let path = dir.join(name);
        if path.exists() {
            continue;
        }
        bench_model::fsio::write_atomic(&path, |w| w.write_all(code.as_bytes()))?;
        written.push(*name);
    }
    Ok(written)
}
