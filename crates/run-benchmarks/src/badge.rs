//! The status badge a published, judged run leaves at the data repository's root: `badge.svg`
//! and `badge.json` (a shields.io endpoint), "benchmarks: ok" or "benchmarks: N regressions open".

use std::io::Write;
use std::path::Path;

use bench_gate::CheckReport;

/// The badge files, relative to the results folder, and the first bytes each of ours starts with:
/// a file there that does not is the user's, never overwritten, never committed as ours.
pub const FILES: [(&str, &str); 2] = [("badge.svg", SVG_HEAD), ("badge.json", JSON_HEAD)];

const SVG_HEAD: &str =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" data-written-by=\"run-benchmarks\"";
const JSON_HEAD: &str = "{\n  \"schemaVersion\": 1,\n  \"label\": \"benchmarks\",";

/// What the badge says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    /// `ok`, or `N regressions open`.
    pub message: String,
    /// A shields.io colour name.
    pub color: &'static str,
    /// Its hex value, for the SVG.
    hex: &'static str,
}

impl Badge {
    /// The badge after a run whose verdicts are `report`: every regression open after it, found
    /// now or earlier, counts.
    pub fn of(report: &CheckReport) -> Badge {
        match report.regressions() + report.open.len() {
            0 => Badge {
                message: "ok".into(),
                color: "brightgreen",
                hex: "#4c1",
            },
            n => Badge {
                message: format!("{n} regression{} open", if n == 1 { "" } else { "s" }),
                color: "red",
                hex: "#e05d44",
            },
        }
    }

    /// The shields.io endpoint JSON (<https://shields.io/badges/endpoint-badge>).
    pub fn json(&self) -> String {
        format!(
            "{JSON_HEAD}\n  \"message\": {},\n  \"color\": \"{}\"\n}}\n",
            serde_json::Value::from(self.message.as_str()),
            self.color
        )
    }

    /// A flat badge in shields.io's look: label on grey, message on the colour.
    pub fn svg(&self) -> String {
        let label = "benchmarks";
        // Verdana 11px averages about 6.5 px a character; 10 px padding on each side.
        let width = |text: &str| (text.chars().count() as f64 * 6.5).ceil() as usize + 10;
        let (left, right) = (width(label), width(&self.message));
        let total = left + right;
        let (message, hex) = (&self.message, self.hex);
        let (lx, rx) = (left * 5, left * 10 + right * 5);
        format!(
            "{SVG_HEAD} width=\"{total}\" height=\"20\" role=\"img\" aria-label=\"{label}: {message}\">\
<title>{label}: {message}</title>\
<linearGradient id=\"s\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" stop-opacity=\".1\"/><stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>\
<clipPath id=\"r\"><rect width=\"{total}\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>\
<g clip-path=\"url(#r)\"><rect width=\"{left}\" height=\"20\" fill=\"#555\"/><rect x=\"{left}\" width=\"{right}\" height=\"20\" fill=\"{hex}\"/><rect width=\"{total}\" height=\"20\" fill=\"url(#s)\"/></g>\
<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" font-size=\"110\">\
<text x=\"{lx}\" y=\"150\" fill=\"#010101\" fill-opacity=\".3\" transform=\"scale(.1)\">{label}</text><text x=\"{lx}\" y=\"140\" transform=\"scale(.1)\">{label}</text>\
<text x=\"{rx}\" y=\"150\" fill=\"#010101\" fill-opacity=\".3\" transform=\"scale(.1)\">{message}</text><text x=\"{rx}\" y=\"140\" transform=\"scale(.1)\">{message}</text>\
</g></svg>\n"
        )
    }
}

/// Whether the file at `path` may be written as ours: missing, or one we wrote (`head`).
pub fn is_ours(path: &Path, head: &str) -> bool {
    match std::fs::read(path) {
        Ok(text) => text.starts_with(head.as_bytes()),
        Err(_) => !path.exists(),
    }
}

/// Writes the badge for `report` into `root`, each file replaced whole; a file of the user's of
/// the same name is left alone and named in the returned warnings.
pub fn write(root: &Path, report: &CheckReport) -> Result<Vec<String>, bench_model::Error> {
    let badge = Badge::of(report);
    let mut warnings = Vec::new();
    for ((name, head), text) in FILES.iter().zip([badge.svg(), badge.json()]) {
        let path = root.join(name);
        if !is_ours(&path, head) {
            warnings.push(format!(
                "{} is not a badge run-benchmarks wrote: left as it is (rename it to get the status badge there)",
                bench_model::shown(&path)
            ));
            continue;
        }
        bench_model::fsio::write_atomic(&path, |w| w.write_all(text.as_bytes()))?;
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_without_regressions_is_ok() {
        let json = |report: &CheckReport| -> serde_json::Value {
            serde_json::from_str(&Badge::of(report).json()).unwrap()
        };
        let ok = json(&CheckReport::default());
        assert_eq!(ok["message"], "ok");
        assert_eq!(ok["color"], "brightgreen");
        assert_eq!(ok["schemaVersion"], 1);
        assert!(Badge::of(&CheckReport::default())
            .svg()
            .starts_with(SVG_HEAD));
    }
}
