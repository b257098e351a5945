//! The GPE plots we ship: JSONata files kept up to date in `plots/`, never over a user's own.

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
    (
        "regressions.jsonata",
        include_str!("../plots/regressions.jsonata"),
    ),
];

/// Every plot file an earlier version shipped, by name and [`fnv1a`] hash of its text: a file that
/// is still one of these was never edited by its user, so it is ours to update (or, when retired,
/// to remove). From the history of `crates/run-benchmarks/plots/` (a test checks that every
/// committed version is here: add the current ones before changing a plot).
const EARLIER: &[(&str, u64)] = &[
    ("box-plot.jsonata", 0x109d6b92a10caae6),
    ("box-plot.jsonata", 0x8398c234ffe78082),
    ("change.jsonata", 0x0767298cd4c2e7b7),
    ("change.jsonata", 0x238e2ec801fb76d8),
    ("change.jsonata", 0x4830f08895441504),
    ("change.jsonata", 0xbdf69034bbc63f35),
    ("change.jsonata", 0xdf3182f38bc83f30),
    ("change.jsonata", 0xf4d74052fd3e4615),
    ("compare-branches.jsonata", 0x36ab7c0276df493a),
    ("compare-branches.jsonata", 0x4bd0702da14e4eda),
    ("compare-branches.jsonata", 0x509b717b7ba85593),
    ("compare-branches.jsonata", 0x77e88e7d75bd6ee8),
    ("compare-branches.jsonata", 0x9f284e98f28b7e95),
    ("compare-branches.jsonata", 0xa75ba8d4948ca3ef),
    ("compare-branches.jsonata", 0xdde2ee5cf69925a0),
    ("latest-run.jsonata", 0x0c507d61da601795),
    ("latest-run.jsonata", 0x1ff3754334c829b0),
    ("latest-run.jsonata", 0x2cbbae60d967e278),
    ("latest-run.jsonata", 0x4bcfab41fed5bf47),
    ("latest-run.jsonata", 0x76c304565dc5afd9),
    ("latest-run.jsonata", 0x89d15abb746d37be),
    ("latest-run.jsonata", 0xdb7e61f8b12e457e),
    ("latest-run.jsonata", 0xf1614c45558e1705),
    ("min-median-max.jsonata", 0x109d6b92a10caae6),
    ("min-median-max.jsonata", 0x287db6653772a81a),
    ("min-median-max.jsonata", 0x8976604c0550b73f),
    ("min-median-max.jsonata", 0xb85aadfa65e62bbc),
    ("min-median-max.jsonata", 0xcc2ccd5c30aee8d0),
    ("regressions.jsonata", 0x35b4171da7560bbf),
    ("regressions.jsonata", 0x5ea8101b393db19f),
    ("regressions.jsonata", 0xf647ec2c74d0e49e),
    ("scaling.jsonata", 0x5d9f43cf6a69ffb0),
    ("scaling.jsonata", 0x64a93f8a286ce48d),
    ("scaling.jsonata", 0x99701aa2cf35f482),
    ("scaling.jsonata", 0xb9ba14393efa2fab),
    ("scaling.jsonata", 0xdab2ea33b25f2ea9),
    ("scaling.jsonata", 0xeae34594e34db722),
    ("trend.jsonata", 0x035f7d4c2fbafc47),
    ("trend.jsonata", 0x22c0361b6176770e),
    ("trend.jsonata", 0x3b1e30605c7afe5c),
    ("trend.jsonata", 0x4319cd3131651c3d),
    ("trend.jsonata", 0x574dcb421668cf57),
    ("trend.jsonata", 0x77ba5abc7dacbc4b),
    ("trend.jsonata", 0x96ed581dda0a981c),
    ("trend.jsonata", 0xabc2603a6569c1f0),
    ("trend.jsonata", 0xfd4afe83af2f56ea),
];

/// FNV-1a, 64 bits: a hash that stays the same across Rust versions.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What [`install`] did to `plots/`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Installed {
    /// Shipped plots written because they were missing or an earlier version of ours.
    pub written: Vec<String>,
    /// Retired plots of ours removed (e.g. `box-plot.jsonata`, now `min-median-max.jsonata`).
    pub removed: Vec<String>,
    /// Shipped names whose file the user edited: left as they are.
    pub kept: Vec<String>,
}

/// Brings the shipped plots in `dir` up to date: writes the missing ones, replaces those still
/// as an earlier version shipped them, removes retired ones of ours, and leaves every file a user
/// edited (or wrote) alone.
pub fn install(dir: &Path) -> Result<Installed, bench_model::Error> {
    std::fs::create_dir_all(dir).map_err(|e| bench_model::Error::Write {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let ours = |name: &str, text: &[u8]| {
        let hash = fnv1a(text);
        EARLIER.iter().any(|&(n, h)| n == name && h == hash)
    };
    let mut installed = Installed::default();
    for (name, code) in SHIPPED {
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(text) if text == code.as_bytes() => continue,
            Ok(text) if !ours(name, &text) => {
                installed.kept.push(name.to_string());
                continue;
            }
            _ => {}
        }
        bench_model::fsio::write_atomic(&path, |w| w.write_all(code.as_bytes()))?;
        installed.written.push(name.to_string());
    }
    let retired = EARLIER
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| SHIPPED.iter().all(|(shipped, _)| shipped != name));
    for name in retired {
        let path = dir.join(name);
        if std::fs::read(&path).is_ok_and(|text| ours(name, &text)) {
            std::fs::remove_file(&path).map_err(|e| bench_model::Error::Write {
                path: path.clone(),
                source: e,
            })?;
            installed.removed.push(name.to_string());
        }
    }
    installed.removed.dedup();
    Ok(installed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earlier_plots_of_ours_are_updated_and_retired_ones_removed_but_edits_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let old = |name: &str, commit: &str| {
            let out = std::process::Command::new("git")
                .args([
                    "show",
                    &format!("{commit}:crates/run-benchmarks/plots/{name}"),
                ])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output()
                .unwrap();
            assert!(out.status.success(), "the project's git history is needed");
            out.stdout
        };
        // The versions c1cbefb shipped, as a results folder of that time holds them.
        let trend = old("trend.jsonata", "c1cbefb");
        let box_plot = old("box-plot.jsonata", "c1cbefb");
        std::fs::write(dir.path().join("trend.jsonata"), &trend).unwrap();
        std::fs::write(dir.path().join("box-plot.jsonata"), &box_plot).unwrap();
        std::fs::write(dir.path().join("scaling.jsonata"), "/* mine */ {}").unwrap();
        std::fs::write(dir.path().join("Box-plot.jsonata"), "/* HeAT's */ {}").unwrap();

        let installed = install(dir.path()).unwrap();
        assert!(installed.written.contains(&"trend.jsonata".to_string()));
        assert_eq!(installed.removed, ["box-plot.jsonata"]);
        assert_eq!(installed.kept, ["scaling.jsonata"]);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("trend.jsonata")).unwrap(),
            SHIPPED[0].1
        );
        assert!(!dir.path().join("box-plot.jsonata").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("scaling.jsonata")).unwrap(),
            "/* mine */ {}"
        );
        assert!(dir.path().join("Box-plot.jsonata").exists());
        // Up to date: nothing to do.
        let again = install(dir.path()).unwrap();
        assert!(again.written.is_empty() && again.removed.is_empty());
    }

    /// `git` in this crate's folder: its stdout.
    fn git(args: &[&str]) -> Vec<u8> {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(out.status.success(), "the project's git history is needed");
        out.stdout
    }

    #[test]
    fn every_plot_version_ever_committed_is_known_as_ours() {
        let commits = git(&["log", "--format=%H", "--", "plots"]);
        for commit in String::from_utf8(commits).unwrap().lines() {
            let files = git(&["ls-tree", "--name-only", commit, "plots/"]);
            for file in String::from_utf8(files).unwrap().lines() {
                let text = git(&["show", &format!("{commit}:crates/run-benchmarks/{file}")]);
                let name = file.trim_start_matches("plots/");
                let current = SHIPPED
                    .iter()
                    .any(|(n, code)| *n == name && code.as_bytes() == text);
                assert!(
                    current || EARLIER.contains(&(name, fnv1a(&text))),
                    "{name} as of {commit} is missing from EARLIER: (\"{name}\", {:#018x})",
                    fnv1a(&text)
                );
            }
        }
    }

    /// The parts every plot file repeats (GPE loads each file alone): `(first line, last line)`.
    const SHARED: [(&str, &str); 3] = [
        (
            "/* ==== heat-bench runs",
            "/* ==== end of heat-bench runs ==== */",
        ),
        (
            "/* ==== heat-bench lines",
            "/* ==== end of heat-bench lines ==== */",
        ),
        (
            "/* ==== heat-bench newest runs",
            "/* ==== end of heat-bench newest runs ==== */",
        ),
    ];

    #[test]
    fn the_parts_plots_share_are_the_same_text_in_each() {
        for (start, end) in SHARED {
            let copies: Vec<(&str, &str)> = SHIPPED
                .iter()
                .filter_map(|(name, code)| {
                    let from = code.find(start)?;
                    let to = code[from..].find(end).expect("a shared part ends") + from;
                    // The first line names the files that share it; the rest must match.
                    let body = &code[from..to];
                    Some((*name, &body[body.find('\n').unwrap_or(0)..]))
                })
                .collect();
            assert!(
                copies.len() >= 2,
                "{start} is shared by fewer than two plots"
            );
            for (name, body) in &copies[1..] {
                assert!(
                    *body == copies[0].1,
                    "{name}'s copy of \"{start}\" differs from {}'s: change them together",
                    copies[0].0
                );
            }
        }
    }
}
