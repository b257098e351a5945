//! JSON text as pytest-benchmark and Python write it: non-finite tokens, JSON paths of positions, strict output.
//!
//! Python's `json` module writes bare `NaN`, `Infinity` and `-Infinity`, which neither serde_json
//! nor a browser's `JSON.parse` accept. Rather than a second parser, a small lenient scanner walks
//! the text once, keeping the JSON path of every value: it rewrites non-finite tokens to `null`
//! (reporting where), and turns an error offset into a path such as `benchmarks[3].stats.mean`.

use std::fmt::Write as _;

use serde::Serialize;

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A container the scanner is inside, and how far it has got there.
#[derive(Debug)]
struct Frame {
    /// The key or index of the member being read, once its value has started.
    current: Option<Step>,
    is_object: bool,
    /// Index of the next array element.
    next_index: usize,
    /// In an object: a key has been read and its value not yet finished.
    have_key: bool,
}

/// Formats a path the way users write it: `benchmarks[3].stats.mean`, `[12].fullname`, `(root)`.
fn format_path(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Step::Key(k) => {
                let plain = !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || c == '_');
                match (plain, out.is_empty()) {
                    (true, true) => out.push_str(k),
                    (true, false) => {
                        out.push('.');
                        out.push_str(k);
                    }
                    (false, _) => {
                        let _ = write!(out, "[{}]", serde_json::Value::String(k.clone()));
                    }
                }
            }
        }
    }
    if out.is_empty() {
        out.push_str("(root)");
    }
    out
}

/// What the scanner reports at the start of every value and at the end of every container.
struct Event<'a> {
    frames: &'a [Frame],
    offset: usize,
    /// The token, for scalars other than strings; empty for containers and strings.
    token: &'a [u8],
    /// A value starts here (rather than a container ending).
    is_start: bool,
}

impl Event<'_> {
    /// The path of the value starting (or the container ending) here.
    fn path(&self) -> Vec<Step> {
        self.frames
            .iter()
            .filter_map(|f| f.current.clone())
            .collect()
    }
}

/// Walks `text` and calls `visit` at the start of every value and the end of every container,
/// until `visit` returns false or the text ends. Lenient: it never fails, so it can describe
/// text that serde rejected.
fn walk(text: &[u8], mut visit: impl FnMut(Event<'_>) -> bool) {
    // Only the innermost frame can lack a current step, so the path is every frame's step.
    let mut frames: Vec<Frame> = Vec::new();
    let mut i = 0;

    // A value starts in the innermost container: an array moves on to its next index.
    fn begin(frames: &mut [Frame]) {
        if let Some(frame) = frames.last_mut() {
            if !frame.is_object {
                frame.current = Some(Step::Index(frame.next_index));
                frame.next_index += 1;
            }
        }
    }

    while i < text.len() {
        let byte = text[i];
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' | b':' => i += 1,
            b',' => {
                if let Some(frame) = frames.last_mut() {
                    frame.have_key = false;
                }
                i += 1;
            }
            b'{' | b'[' => {
                begin(&mut frames);
                if !visit(Event {
                    frames: &frames,
                    offset: i,
                    token: &[],
                    is_start: true,
                }) {
                    return;
                }
                frames.push(Frame {
                    current: None,
                    is_object: byte == b'{',
                    next_index: 0,
                    have_key: false,
                });
                i += 1;
            }
            b'}' | b']' => {
                // The closed container stays the current value of its parent.
                frames.pop();
                if !visit(Event {
                    frames: &frames,
                    offset: i,
                    token: &[],
                    is_start: false,
                }) {
                    return;
                }
                i += 1;
            }
            b'"' => {
                let start = i;
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(text.len());
                match frames.last_mut() {
                    Some(frame) if frame.is_object && !frame.have_key => {
                        let raw = &text[start..i];
                        let key = serde_json::from_slice::<String>(raw).unwrap_or_else(|_| {
                            String::from_utf8_lossy(raw).trim_matches('"').to_owned()
                        });
                        frame.current = Some(Step::Key(key));
                        frame.have_key = true;
                    }
                    _ => {
                        begin(&mut frames);
                        if !visit(Event {
                            frames: &frames,
                            offset: start,
                            token: &[],
                            is_start: true,
                        }) {
                            return;
                        }
                    }
                }
            }
            _ => {
                let start = i;
                while i < text.len()
                    && !matches!(
                        text[i],
                        b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r' | b':'
                    )
                {
                    i += 1;
                }
                begin(&mut frames);
                if !visit(Event {
                    frames: &frames,
                    offset: start,
                    token: &text[start..i],
                    is_start: true,
                }) {
                    return;
                }
            }
        }
    }
}

/// The JSON path of the value at or just before byte `offset`: where serde reported an error
/// (after the scalar it rejected, or before the container it rejected).
pub(crate) fn path_at(text: &[u8], offset: usize) -> String {
    let mut found = Vec::new();
    walk(text, |event| {
        if event.offset > offset || (event.offset == offset && !event.is_start) {
            return false;
        }
        found = event.path();
        true
    });
    format_path(&found)
}

/// The byte offset of a line and column as serde_json reports them: its column counts the bytes
/// before the next unread one, which is just after a scalar it rejected, or the first byte of a
/// container it rejected without reading.
pub(crate) fn offset_of(text: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].iter().position(|&b| b == b'\n') {
            Some(p) => start += p + 1,
            None => return text.len(),
        }
    }
    (start + column).min(text.len())
}

/// The number token around `offset` (where serde_json stopped reading it), for messages.
pub(crate) fn number_at(text: &[u8], offset: usize) -> String {
    let is_number = |b: &u8| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E');
    let offset = offset.min(text.len());
    let start = text[..offset]
        .iter()
        .rposition(|b| !is_number(b))
        .map_or(0, |p| p + 1);
    let end = offset + text[offset..].iter().take_while(|b| is_number(b)).count();
    String::from_utf8_lossy(&text[start..end]).into_owned()
}

/// A number Python wrote that JSON readers cannot keep, and what it became: a non-finite number
/// (`NaN`, `Infinity`, `-Infinity`) becomes `null`; an integer beyond 64 bits (Python's ints have
/// no limit, e.g. `2**70 + 1` in `params`) becomes a string of its exact digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonFinite {
    /// Where it was, e.g. `benchmarks[2].extra_info.ratio`.
    pub json_path: String,
    /// The token as written, e.g. `NaN` or `1180591620717411303425`.
    pub token: String,
    /// An integer beyond 64 bits, kept as a string (otherwise: non-finite, written as `null`).
    pub big_integer: bool,
}

/// The first of Python's bare `NaN`, `Infinity` and `-Infinity` in `text`, with its line (from 1):
/// what makes a browser's `JSON.parse` reject the whole file.
pub fn first_non_finite(text: &[u8]) -> Option<(usize, NonFinite)> {
    // Most files have none: a byte search spares them the walk.
    if !may_hold_non_finite(text) {
        return None;
    }
    let mut first = None;
    walk(text, |event| {
        if matches!(event.token, b"NaN" | b"Infinity" | b"-Infinity") {
            let line = 1 + text[..event.offset].iter().filter(|&&b| b == b'\n').count();
            first = Some((
                line,
                NonFinite {
                    json_path: format_path(&event.path()),
                    token: String::from_utf8_lossy(event.token).into_owned(),
                    big_integer: false,
                },
            ));
            return false;
        }
        true
    });
    first
}

/// An integer token that fits neither `i64` nor `u64`: serde_json would round it to a float, or
/// refuse it beyond `f64`'s range (`10**400`).
fn is_big_integer(token: &[u8]) -> bool {
    let digits = token.strip_prefix(b"-").unwrap_or(token);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let text = std::str::from_utf8(token).unwrap_or_default();
    text.parse::<i64>().is_err() && text.parse::<u64>().is_err()
}

/// Replaces Python's bare `NaN`, `Infinity` and `-Infinity` by `null`, and integers beyond 64
/// bits by strings of their digits.
///
/// Returns `None` when the text has none, so the common case costs one scan and no copy.
pub(crate) fn replace_non_finite(text: &[u8]) -> Option<(Vec<u8>, Vec<NonFinite>)> {
    let mut found: Vec<(usize, usize, NonFinite)> = Vec::new();
    walk(text, |event| {
        let non_finite = matches!(event.token, b"NaN" | b"Infinity" | b"-Infinity");
        let big_integer = !non_finite && is_big_integer(event.token);
        if non_finite || big_integer {
            found.push((
                event.offset,
                event.token.len(),
                NonFinite {
                    json_path: format_path(&event.path()),
                    token: String::from_utf8_lossy(event.token).into_owned(),
                    big_integer,
                },
            ));
        }
        true
    });
    if found.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() + 2 * found.len());
    let mut copied = 0;
    for (offset, len, finding) in &found {
        out.extend_from_slice(&text[copied..*offset]);
        if finding.big_integer {
            out.push(b'"');
            out.extend_from_slice(finding.token.as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(b"null");
        }
        copied = offset + len;
    }
    out.extend_from_slice(&text[copied..]);
    Some((out, found.into_iter().map(|(_, _, f)| f).collect()))
}

/// Cheap test for an integer too long for 64 bits: 20 digits or more in a row.
pub(crate) fn may_hold_big_integer(text: &[u8]) -> bool {
    let mut run = 0;
    text.iter().any(|b| {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        run >= 20
    })
}

/// Cheap test that serde's syntax error could be one of Python's non-finite tokens.
pub(crate) fn may_hold_non_finite(text: &[u8]) -> bool {
    text.windows(3).any(|w| w == b"NaN" || w == b"Inf")
}

/// Serializes `value` as strict JSON indented by four spaces, as Python's `json.dump(indent=4)`.
pub fn to_pretty_vec<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &[u8] = br#"{
  "benchmarks": [
    {"name": "a", "stats": {"mean": 1.5}},
    {"name": "b", "extra_info": {"ratio": NaN, "odd key": -Infinity}, "stats": {"mean": "x"}}
  ],
  "version": "5.3.1"
}"#;

    #[test]
    fn path_at_names_the_offending_value() {
        let offset = REPORT.windows(3).position(|w| w == b"\"x\"").unwrap();
        assert_eq!(path_at(REPORT, offset + 3), "benchmarks[1].stats.mean");
        let offset = REPORT.windows(7).position(|w| w == b"version").unwrap();
        // Just after the closing bracket of `benchmarks`: that array is the current value.
        assert_eq!(path_at(REPORT, offset - 2), "benchmarks");
        assert_eq!(path_at(REPORT, 1), "(root)");
    }

    #[test]
    fn non_finite_tokens_become_null_with_their_paths() {
        let (text, found) = replace_non_finite(REPORT).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&text).unwrap();
        assert!(value["benchmarks"][1]["extra_info"]["ratio"].is_null());
        let paths: Vec<_> = found
            .iter()
            .map(|f| (f.json_path.as_str(), f.token.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("benchmarks[1].extra_info.ratio", "NaN"),
                ("benchmarks[1].extra_info[\"odd key\"]", "-Infinity")
            ]
        );
    }

    #[test]
    fn strings_that_spell_nan_are_left_alone() {
        let text = br#"{"a": "NaN", "b\"NaN": ["Infinity", 1e5]}"#;
        assert_eq!(replace_non_finite(text), None);
    }

    #[test]
    fn offsets_follow_serde_positions() {
        let text = b"{\"a\": {\"b\": 1}}";
        let error = serde_json::from_slice::<std::collections::BTreeMap<String, Vec<u8>>>(text)
            .unwrap_err();
        assert_eq!(
            path_at(text, offset_of(text, error.line(), error.column())),
            "a"
        );
        let text = b"{\"a\": [1, \"b\"]}";
        let error = serde_json::from_slice::<std::collections::BTreeMap<String, Vec<u8>>>(text)
            .unwrap_err();
        assert_eq!(
            path_at(text, offset_of(text, error.line(), error.column())),
            "a[1]"
        );
    }
}
