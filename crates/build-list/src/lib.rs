//! Building the `list.json` index GPE reads: which files of a folder match, and under what name.

pub mod cli;

use std::path::{Path, PathBuf};

use bench_model::ListEntry;

/// Why no list could be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// ROOT does not exist.
    #[error("{}: no such folder; pass the folder that holds the suites' data (e.g. results/data)", .0.display())]
    MissingRoot(PathBuf),
    /// ROOT is a file (or something else that is not a folder).
    #[error("{}: not a folder; pass the folder that holds the suites' data (e.g. results/data), not a file in it", .0.display())]
    RootNotFolder(PathBuf),
    /// `--pattern` is not a glob.
    #[error("--pattern {pattern:?}: {message}; write a glob relative to ROOT, such as '*/*.json'")]
    Pattern {
        /// The pattern given.
        pattern: String,
        /// What glob said.
        message: String,
    },
    /// `--name` is not a template we understand.
    #[error("--name {template:?}: {message}; use {{0}}, {{1}}, ... for path components, {{-1}} for the last, {{stem}}, {{file}} or {{path}}")]
    Template {
        /// The template given.
        template: String,
        /// What is wrong with it.
        message: String,
    },
    /// The template names a path component a matched file does not have.
    #[error("--name {template:?}: {file} has no path component {index}; use a pattern whose files all have it")]
    MissingComponent {
        /// The template given.
        template: String,
        /// The file, relative to ROOT.
        file: String,
        /// The component asked for.
        index: isize,
    },
    /// A folder could not be read while matching.
    #[error("cannot read {}: {message}", .path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// What the system said.
        message: String,
    },
    /// The list could not be written.
    #[error(transparent)]
    Write(#[from] bench_model::Error),
}

/// One piece of a name template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    /// A path component by index; negative counts from the end.
    Component(isize),
    /// `{}`: the next path component, as in Ginkgo's own build-list format strings.
    NextComponent,
    Stem,
    FileName,
    Path,
}

/// How a file's path becomes its name in the list, e.g. `{0}` or `{0} ({stem})`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameTemplate {
    source: String,
    pieces: Vec<Piece>,
}

impl NameTemplate {
    /// Parses a template: `{N}` path component N (from 0; negative from the end), `{}` the next
    /// component, `{stem}` the file name without extension, `{file}` the file name, `{path}` the
    /// whole relative path; `{{` and `}}` are literal braces.
    pub fn parse(source: &str) -> Result<Self, Error> {
        let error = |message: &str| Error::Template {
            template: source.to_string(),
            message: message.to_string(),
        };
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(error("unmatched '}'")),
                '{' => {
                    let mut field = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => field.push(c),
                            None => return Err(error("unclosed '{'")),
                        }
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(match field.as_str() {
                        "" => Piece::NextComponent,
                        "stem" => Piece::Stem,
                        "file" => Piece::FileName,
                        "path" => Piece::Path,
                        other => Piece::Component(
                            other
                                .parse()
                                .map_err(|_| error(&format!("unknown field {{{other}}}")))?,
                        ),
                    });
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(NameTemplate {
            source: source.to_string(),
            pieces,
        })
    }

    /// The name of `file`, a forward-slash path relative to ROOT.
    pub fn render(&self, file: &str) -> Result<String, Error> {
        let components: Vec<&str> = file.split('/').collect();
        let file_name = components.last().copied().unwrap_or_default();
        let stem = match file_name.rfind('.') {
            Some(dot) if dot > 0 => &file_name[..dot],
            _ => file_name,
        };
        let mut next = 0;
        let mut name = String::new();
        for piece in &self.pieces {
            let component = |index: isize| {
                let resolved = if index < 0 {
                    components.len() as isize + index
                } else {
                    index
                };
                usize::try_from(resolved)
                    .ok()
                    .and_then(|i| components.get(i).copied())
                    .ok_or_else(|| Error::MissingComponent {
                        template: self.source.clone(),
                        file: file.to_string(),
                        index,
                    })
            };
            match piece {
                Piece::Literal(text) => name.push_str(text),
                Piece::Component(index) => name.push_str(component(*index)?),
                Piece::NextComponent => {
                    name.push_str(component(next)?);
                    next += 1;
                }
                Piece::Stem => name.push_str(stem),
                Piece::FileName => name.push_str(file_name),
                Piece::Path => name.push_str(file),
            }
        }
        Ok(name)
    }
}

/// What to list.
#[derive(Debug, Clone)]
pub struct ListOptions {
    /// Glob relative to ROOT; `*` does not match a leading dot, so hidden files are never listed.
    pub pattern: String,
    /// How paths become names.
    pub name: NameTemplate,
    /// Also list bounded histories' archive chunks (`SUITE/archive/*.json`) as `SUITE (YEARS)`.
    pub archives: bool,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions {
            pattern: "*/*.json".into(),
            name: NameTemplate::parse("{0}").expect("valid template"),
            archives: true,
        }
    }
}

/// A built list and what the user should know about it.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Entries sorted by file.
    pub entries: Vec<ListEntry>,
    /// Duplicate names, skipped paths.
    pub warnings: Vec<String>,
}

/// The file GPE reads the list from, never listed itself.
const LIST_FILE: &str = "list.json";

/// Lists the files below `root` that match the pattern, sorted by path.
pub fn build(root: &Path, options: &ListOptions) -> Result<Listing, Error> {
    if !root.is_dir() {
        return Err(match root.exists() {
            true => Error::RootNotFolder(root.to_path_buf()),
            false => Error::MissingRoot(root.to_path_buf()),
        });
    }
    let pattern_error = |message: String| Error::Pattern {
        pattern: options.pattern.clone(),
        message,
    };
    if Path::new(&options.pattern).is_absolute() || options.pattern.split('/').any(|c| c == "..") {
        return Err(pattern_error("the pattern must stay inside ROOT".into()));
    }
    let given = root;
    // glob drops a leading "./" from what it yields: match below an absolute root and strip that.
    let root = &std::path::absolute(root).map_err(|e| Error::Read {
        path: root.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut listing = Listing::default();
    let files = matching(root, &options.pattern, &mut listing.warnings).map_err(|e| match e {
        Error::Pattern { message, .. } => pattern_error(message),
        other => other,
    })?;
    for file in &files {
        let name = options.name.render(file)?;
        listing.entries.push(ListEntry {
            name,
            file: file.clone(),
        });
    }
    if options.archives {
        let archived = matching(root, ARCHIVES, &mut listing.warnings)?;
        listing.entries.extend(archive_entries(
            archived
                .into_iter()
                .filter(|f| !files.contains(f))
                .collect(),
        ));
    }
    listing.warnings.extend(duplicate_names(&listing.entries));
    listing
        .warnings
        .extend(non_strict_files(given, &listing.entries));
    Ok(listing)
}

/// GPE reads every file with the browser's `JSON.parse`, which rejects Python's bare `NaN` and
/// `Infinity` (the original aggregate.py wrote them) and any file cut short: the plot then stays
/// blank without a message. A history GPE reads may still be one `aggregate` refuses to append
/// to (bytes that are not UTF-8 inside a string, nesting too deep): the next run would fail on
/// it, so it is named too, in aggregate's own words.
fn non_strict_files(root: &Path, entries: &[ListEntry]) -> Vec<String> {
    entries
        .iter()
        .filter(|entry| entry.file.ends_with(".json"))
        .filter_map(|entry| {
            let path = root.join(&entry.file);
            // As aggregate reads it: a regular file, a leading BOM dropped.
            let text = bench_model::fsio::read_regular(&path).ok()?;
            if let Some((line, found)) = bench_model::json::first_non_finite(&text) {
                return Some(format!(
                    "{}:{line}: {}: {} is not JSON: GPE cannot read this file and draws nothing; \
                     `aggregate REPORT --history {}` rewrites it as strict JSON (non-finite numbers \
                     become null), with any report, even one already recorded",
                    path.display(),
                    found.json_path,
                    found.token,
                    path.display()
                ));
            }
            // Not even Python's JSON: truncated by a crash, or never JSON. The browser decodes
            // bytes that are not UTF-8 as U+FFFD, which breaks JSON only outside strings.
            let decoded = String::from_utf8_lossy(&text);
            if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(&decoded) {
                return Some(format!(
                    "{}:{}:{}: not valid JSON ({}): GPE cannot read this file and draws nothing; \
                     restore it from version control, or move it out of the data folder",
                    path.display(),
                    error.line(),
                    error.column(),
                    error
                ));
            }
            if !is_history(&entry.file) {
                return None;
            }
            let error = bench_model::history::read_stored(&path).err()?;
            Some(format!(
                "{error} (aggregate refuses to append to it, so the next run fails on it)"
            ))
        })
        .collect()
}

/// A suite's history or one of its archive chunks: what `aggregate` appends to.
fn is_history(file: &str) -> bool {
    let parts: Vec<&str> = file.split('/').collect();
    match parts.as_slice() {
        [.., "aggregate.json"] => true,
        [.., "archive", chunk] => !chunk.starts_with('.'),
        _ => false,
    }
}

/// Where bounded histories keep their older runs: `SUITE/archive/NNNN_YEARS.json`.
const ARCHIVES: &str = "*/archive/*.json";

/// Names archive chunks for a GPE user: `kmeans (2025)`, or `kmeans (2025, part 2)` when several
/// chunks of a suite cover the same years.
fn archive_entries(files: Vec<String>) -> Vec<ListEntry> {
    let label = |file: &str| -> (String, String) {
        let suite = file.split('/').next().unwrap_or_default().to_string();
        let stem = file
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(".json");
        let years = stem
            .split_once('_')
            .map_or(stem, |(_, years)| years)
            .to_string();
        (suite, years)
    };
    let labels: Vec<(String, String)> = files.iter().map(|f| label(f)).collect();
    let mut entries = Vec::new();
    for (index, (file, (suite, years))) in files.iter().zip(&labels).enumerate() {
        let same: Vec<usize> = (0..labels.len())
            .filter(|&i| labels[i] == (suite.clone(), years.clone()))
            .collect();
        let name = if same.len() > 1 {
            let part = same.iter().position(|&i| i == index).unwrap_or(0) + 1;
            format!("{suite} ({years}, part {part})")
        } else {
            format!("{suite} ({years})")
        };
        entries.push(ListEntry {
            name,
            file: file.clone(),
        });
    }
    entries
}

/// The files below `root` matching `pattern`, as sorted forward-slash paths relative to `root`;
/// hidden files and folders and `list.json` left out.
fn matching(root: &Path, pattern: &str, warnings: &mut Vec<String>) -> Result<Vec<String>, Error> {
    let escaped_root = glob::Pattern::escape(&root.to_string_lossy());
    let full_pattern = format!("{}/{}", escaped_root.trim_end_matches('/'), pattern);
    let match_options = glob::MatchOptions {
        require_literal_leading_dot: true,
        ..Default::default()
    };
    let paths = glob::glob_with(&full_pattern, match_options).map_err(|e| Error::Pattern {
        pattern: pattern.to_string(),
        message: e.msg.to_string(),
    })?;
    let mut files = Vec::new();
    for path in paths {
        let path = path.map_err(|e| Error::Read {
            path: e.path().to_path_buf(),
            message: e.error().to_string(),
        })?;
        if !path.is_file() {
            continue;
        }
        let Ok(relative) = path.strip_prefix(root) else {
            continue;
        };
        let components: Option<Vec<&str>> = relative
            .components()
            .map(|c| c.as_os_str().to_str())
            .collect();
        let Some(components) = components else {
            warnings.push(format!(
                "{}: skipped: the path is not UTF-8, so it cannot be a URL",
                path.display()
            ));
            continue;
        };
        if components.last() == Some(&LIST_FILE) || components.iter().any(|c| c.starts_with('.')) {
            continue;
        }
        files.push(components.join("/"));
    }
    files.sort();
    Ok(files)
}

/// GPE selects by name: two files with one name cannot both be picked.
fn duplicate_names(entries: &[ListEntry]) -> Vec<String> {
    let mut by_name: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for entry in entries {
        by_name.entry(&entry.name).or_default().push(&entry.file);
    }
    by_name
        .into_iter()
        .filter(|(_, files)| files.len() > 1)
        .map(|(name, files)| {
            format!(
                "the name {name:?} is given to {} files ({}); GPE selects by name, so only one of them \
                 can be picked: tell them apart with --name, e.g. --name '{{0}} ({{stem}})'",
                files.len(),
                files.join(", ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_address_components_stem_and_ginkgo_style_fields() {
        let file = "omp/csr/gko-7/apply.json";
        let render = |t: &str| NameTemplate::parse(t).unwrap().render(file).unwrap();
        assert_eq!(render("{0}"), "omp");
        assert_eq!(render("{-1}"), "apply.json");
        assert_eq!(render("{stem}"), "apply");
        assert_eq!(render("{}({}) {} {{x}}"), "omp(csr) gko-7 {x}");
        assert_eq!(render("{path}"), file);
    }

    #[test]
    fn bad_templates_and_missing_components_are_errors() {
        assert!(NameTemplate::parse("{0").is_err());
        assert!(NameTemplate::parse("{name}").is_err());
        assert!(NameTemplate::parse("a}").is_err());
        let error = NameTemplate::parse("{3}")
            .unwrap()
            .render("a/b.json")
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("a/b.json has no path component 3"),
            "{error}"
        );
    }
}
