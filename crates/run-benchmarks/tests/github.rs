//! Verdicts where reviewers look, as a sequence of real runs through the composite action's step
//! (run.sh, real pytest, real git, the gate's real Markdown and JSON) posting with
//! post_verdicts.py to a stand-in of GitHub's REST API on 127.0.0.1 (and GitLab's), which
//! answers only the methods and paths those APIs document and records every request.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use common::{
    git, install_tool, path_with, pytest, remote_and_clones, require, root, stderr, write, Project,
};

const TOKEN: &str = "gh-secret-token";
const GITLAB_TOKEN: &str = "gl-secret-token";
/// The login GitHub gives the job's GITHUB_TOKEN.
const BOT: &str = "github-actions[bot]";
const GITLAB_BOT: u64 = 7;
/// The mock's page size, below any per_page: every listing spans pages.
const PAGE: usize = 2;
/// Nights on the fast library before the slow one: a history beyond --min-history, whose noise
/// the 5x step clears.
const FAST_NIGHTS: u32 = 6;

/// What the stand-in holds and saw.
#[derive(Default)]
struct Api {
    /// Every request as `METHOD /path?query`.
    log: Vec<String>,
    /// Requests the real API would not have served as meant (an undocumented route, no token,
    /// a body it refuses).
    rejected: Vec<String>,
    /// Issue comments: id, issue number, body, author.
    comments: Vec<Value>,
    /// Issues and pull requests (a pull request is an issue with `pull_request`).
    issues: Vec<Value>,
    /// GitLab merge-request notes: id, iid, body, author id.
    notes: Vec<Value>,
    next_id: u64,
}

struct Mock {
    url: String,
    api: Arc<Mutex<Api>>,
}

struct Request {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    body: Option<Value>,
}

impl Mock {
    fn start() -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let api = Arc::new(Mutex::new(Api {
            next_id: 1000,
            ..Api::default()
        }));
        let (shared, base) = (api.clone(), url.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve(stream, &shared, &base);
            }
        });
        Mock { url, api }
    }

    fn api(&self) -> std::sync::MutexGuard<'_, Api> {
        self.api.lock().unwrap()
    }

    /// The requests since `from` that change something.
    fn writes_since(&self, from: usize) -> Vec<String> {
        self.api().log[from..]
            .iter()
            .filter(|r| !r.starts_with("GET "))
            .cloned()
            .collect()
    }
}

fn serve(stream: TcpStream, api: &Mutex<Api>, base: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.is_empty() {
        return;
    }
    let mut words = line.split_whitespace();
    let (method, target) = (
        words.next().unwrap_or("").to_string(),
        words.next().unwrap_or("").to_string(),
    );
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%2C", ",").replace('+', " ")))
        .collect();
    let request = Request {
        method,
        path: path.to_string(),
        query,
        headers,
        body: (length > 0).then(|| serde_json::from_slice(&body).unwrap_or(Value::Null)),
    };
    let mut api = api.lock().unwrap();
    api.log.push(format!("{} {target}", request.method));
    let (status, reply, link) = route(&mut api, &request, base);
    if status >= 400 {
        api.rejected
            .push(format!("{} {target}: {status} {reply}", request.method));
    }
    drop(api);
    let text = reply.to_string();
    let link = link.map_or(String::new(), |l| format!("Link: <{l}>; rel=\"next\"\r\n"));
    let _ = write!(
        &stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{link}Connection: close\r\n\r\n{text}",
        text.len()
    );
}

/// Whether JSON number `value` is the number in a path's segment `segment`.
fn same(value: &Value, segment: &str) -> bool {
    segment
        .parse::<u64>()
        .ok()
        .is_some_and(|n| value.as_u64() == Some(n))
}

/// One page of `items` as `request` asks for it, and the next page's URL.
fn page(items: Vec<Value>, request: &Request, base: &str) -> (u16, Value, Option<String>) {
    let per_page: usize = request
        .query
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(30);
    let size = per_page.clamp(1, 100).min(PAGE);
    let number: usize = request
        .query
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    let shown: Vec<Value> = items
        .iter()
        .skip((number - 1) * size)
        .take(size)
        .cloned()
        .collect();
    let next = (items.len() > number * size).then(|| {
        let mut query: Vec<String> = request
            .query
            .iter()
            .filter(|(k, _)| *k != "page")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        query.push(format!("page={}", number + 1));
        format!("{base}{}?{}", request.path, query.join("&"))
    });
    (200, Value::Array(shown), next)
}

fn text_field(body: &Option<Value>, key: &str, limit: usize) -> Option<String> {
    let text = body.as_ref()?.get(key)?.as_str()?;
    (text.chars().count() <= limit).then(|| text.to_string())
}

/// Only what GitHub's and GitLab's REST API documents; anything else is 404 (as the real APIs
/// answer an unknown route) or 422 (a body they refuse), and recorded as rejected.
fn route(api: &mut Api, request: &Request, base: &str) -> (u16, Value, Option<String>) {
    let parts: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
    let bad = |status: u16, why: &str| (status, json!({ "message": why }), None);
    if parts.first() == Some(&"api") {
        if request.headers.get("private-token").map(String::as_str) != Some(GITLAB_TOKEN) {
            return bad(401, "401 Unauthorized");
        }
        return match (request.method.as_str(), &parts[1..]) {
            ("GET", ["v4", "user"]) => (
                200,
                json!({"id": GITLAB_BOT, "username": "project_42_bot"}),
                None,
            ),
            ("GET", ["v4", "projects", "42", "merge_requests", iid, "notes"]) => {
                let notes = api
                    .notes
                    .iter()
                    .filter(|n| n["iid"].as_str() == Some(iid))
                    .cloned()
                    .collect();
                page(notes, request, base)
            }
            ("POST", ["v4", "projects", "42", "merge_requests", iid, "notes"]) => {
                let Some(body) = text_field(&request.body, "body", 1_000_000) else {
                    return bad(400, "body");
                };
                api.next_id += 1;
                let note = json!({"id": api.next_id, "iid": iid, "body": body, "author": {"id": GITLAB_BOT}});
                api.notes.push(note.clone());
                (201, note, None)
            }
            ("PUT", ["v4", "projects", "42", "merge_requests", iid, "notes", id]) => {
                let Some(body) = text_field(&request.body, "body", 1_000_000) else {
                    return bad(400, "body");
                };
                match api
                    .notes
                    .iter_mut()
                    .find(|n| n["iid"].as_str() == Some(iid) && same(&n["id"], id))
                {
                    Some(note) => {
                        note["body"] = body.into();
                        (200, note.clone(), None)
                    }
                    None => bad(404, "404 Not found"),
                }
            }
            _ => bad(404, "404 Not Found"),
        };
    }
    let authorized = request.headers.get("authorization").map(String::as_str)
        == Some(&format!("Bearer {TOKEN}"))
        && request.headers.get("accept").map(String::as_str) == Some("application/vnd.github+json")
        && request.headers.contains_key("x-github-api-version");
    if !authorized {
        return bad(401, "Requires authentication");
    }
    let is_issue = |api: &Api, n: &str| api.issues.iter().any(|i| same(&i["number"], n));
    match (request.method.as_str(), parts.as_slice()) {
        ("GET", ["repos", "o", "r", "issues", n, "comments"]) if is_issue(api, n) => {
            let comments = api
                .comments
                .iter()
                .filter(|c| same(&c["issue"], n))
                .cloned()
                .collect();
            page(comments, request, base)
        }
        ("POST", ["repos", "o", "r", "issues", n, "comments"]) if is_issue(api, n) => {
            let Some(body) = text_field(&request.body, "body", 65536) else {
                return bad(422, "body");
            };
            api.next_id += 1;
            let comment = json!({"id": api.next_id, "issue": n.parse::<u64>().unwrap(), "body": body, "user": {"login": BOT}});
            api.comments.push(comment.clone());
            (201, comment, None)
        }
        ("PATCH", ["repos", "o", "r", "issues", "comments", id]) => {
            let Some(body) = text_field(&request.body, "body", 65536) else {
                return bad(422, "body");
            };
            match api.comments.iter_mut().find(|c| same(&c["id"], id)) {
                Some(comment) if comment["user"]["login"] == BOT => {
                    comment["body"] = body.into();
                    (200, comment.clone(), None)
                }
                // The job's token may edit only what it wrote (no admin rights here).
                Some(_) => bad(403, "Resource not accessible by integration"),
                None => bad(404, "Not Found"),
            }
        }
        ("GET", ["repos", "o", "r", "issues"]) => {
            let state = request
                .query
                .get("state")
                .cloned()
                .unwrap_or_else(|| "open".into());
            let labels: Vec<String> = request
                .query
                .get("labels")
                .map_or(Vec::new(), |l| l.split(',').map(String::from).collect());
            let found = api
                .issues
                .iter()
                .filter(|i| state == "all" || i["state"] == state.as_str())
                .filter(|i| {
                    labels.iter().all(|l| {
                        i["labels"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|x| x["name"] == l.as_str())
                    })
                })
                .cloned()
                .collect();
            page(found, request, base)
        }
        ("POST", ["repos", "o", "r", "issues"]) => {
            let body = request.body.clone().unwrap_or_default();
            let known = body.as_object().is_some_and(|o| {
                o.keys().all(|k| {
                    ["title", "body", "labels", "assignees", "milestone"].contains(&k.as_str())
                })
            });
            let (Some(title), Some(text)) = (
                text_field(&request.body, "title", 256),
                text_field(&request.body, "body", 65536),
            ) else {
                return bad(422, "title or body");
            };
            if !known || title.is_empty() {
                return bad(422, "Invalid request");
            }
            let number = api.issues.len() as u64 + 1;
            let labels: Vec<Value> = body["labels"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|l| json!({"name": l}))
                .collect();
            let issue = json!({"number": number, "title": title, "body": text, "labels": labels, "state": "open", "state_reason": null, "user": {"login": BOT}});
            api.issues.push(issue.clone());
            (201, issue, None)
        }
        ("PATCH", ["repos", "o", "r", "issues", n]) if is_issue(api, n) => {
            let body = request.body.clone().unwrap_or_default();
            let state_ok = ["open", "closed"].contains(&body["state"].as_str().unwrap_or(""));
            let reason_ok = body.get("state_reason").is_none_or(|r| {
                ["completed", "not_planned", "reopened"].contains(&r.as_str().unwrap_or(""))
            });
            if !state_ok || !reason_ok {
                return bad(422, "Validation Failed");
            }
            let issue = api
                .issues
                .iter_mut()
                .find(|i| same(&i["number"], n))
                .unwrap();
            issue["state"] = body["state"].clone();
            issue["state_reason"] = body.get("state_reason").cloned().unwrap_or(Value::Null);
            (200, issue.clone(), None)
        }
        ("GET", ["repos", "o", "r", "pulls", n]) => match api
            .issues
            .iter()
            .find(|i| same(&i["number"], n) && i.get("pull_request").is_some())
        {
            Some(pull) => (
                200,
                json!({"number": pull["number"], "state": "open", "head": {"sha": pull["head_sha"]}}),
                None,
            ),
            None => bad(404, "Not Found"),
        },
        _ => bad(404, "Not Found"),
    }
}

/// The hostile benchmark: a line break into a workflow command, a code span's end, a table's
/// cell border, a mention, a comment marker of ours.
const HOSTILE: &str =
    "h\\n::error::pwned `x` | @octocat ##[add-mask]m <!-- heat-bench:benchmarks -->";

/// Whether posted `text` is inert: no workflow command, no mention, our marker on the first line
/// only.
fn assert_inert(text: &str) {
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "a workflow command: {line:?}\n{text}"
        );
    }
    assert!(!text.contains("@octocat"), "a live mention:\n{text}");
    assert!(
        text.contains("@\u{2060}octocat"),
        "the name is gone:\n{text}"
    );
    let markers = text
        .lines()
        .filter(|l| l.starts_with("<!-- heat-bench"))
        .count();
    assert_eq!(markers, 1, "{text}");
}

/// The unescaped `|` of a Markdown line: its cell borders.
fn borders(line: &str) -> usize {
    line.matches('|').count() - line.matches("\\|").count()
}

/// A python3 for the posting script: required under CI.
fn python() -> Option<()> {
    let found = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    require(
        found.then_some(()),
        "python3 (the posting script's interpreter)",
    )
}

struct Job<'a> {
    dir: &'a Path,
    mock: &'a Mock,
    pytest: &'a str,
}

impl Job<'_> {
    /// The action's step as GitHub runs it for `event`, with `inputs`; run `run`.
    fn step(&self, event: &str, run: u32, inputs: &[(&str, &str)]) -> Output {
        let mut command = Command::new("bash");
        command
            .arg(root().join(".github/actions/run-benchmarks/run.sh"))
            .current_dir(self.dir)
            .env("PATH", path_with(&[&self.dir.join("bin")]))
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", self.dir.join("summary.md"))
            .env("GITHUB_OUTPUT", self.dir.join("output"))
            .env("RUNNER_TEMP", self.dir.join("temp"))
            .env("RUNNER_NAME", "bench-runner-1")
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_REPOSITORY", "o/r")
            .env("GITHUB_API_URL", &self.mock.url)
            .env("GITHUB_RUN_ID", run.to_string())
            .env("GITHUB_JOB", "benchmarks")
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_EVENT_PATH", self.dir.join("event.json"))
            .env("GITHUB_BASE_REF", if event == "push" { "" } else { "main" })
            .env("INPUT_GITHUB_TOKEN", TOKEN)
            .env_remove("GITHUB_TOKEN");
        let common = [
            ("suites", "project/bench"),
            ("pytest", self.pytest),
            ("install", "none"),
            ("data-repository", "data"),
            ("threshold", "50"),
            ("confirm", "2"),
            ("args", "--quiet"),
        ];
        for (name, value) in common.iter().chain(inputs) {
            command.env(
                format!("INPUT_{}", name.replace('-', "_").to_uppercase()),
                value,
            );
        }
        let output = command.output().unwrap();
        let said = String::from_utf8_lossy(&output.stdout).into_owned() + &stderr(&output);
        assert!(!said.contains("could not post"), "{said}");
        for line in said.lines() {
            let ours = line.starts_with("::error title=Performance regression::")
                || line.starts_with("::error title=Open performance regression::")
                || line.starts_with("::warning title=Open performance regression::")
                || line.starts_with("::notice title=Possible regression::");
            assert!(
                ours || (!line.trim_start().starts_with("::") && !line.contains("##[")),
                "a workflow command: {line:?}\n{said}"
            );
        }
        output
    }

    /// A night on main: judge, record, publish, open and close issues.
    fn night(&self, run: u32) -> Output {
        self.step("push", run, &[("publish", "true"), ("open-issues", "true")])
    }

    /// A push to pull request #7 (from `repo`) at `head`: judged against main, never recorded.
    fn pull_request(&self, run: u32, head: &str, repo: &str) -> Output {
        let event = json!({"pull_request": {"number": 7, "head": {"sha": head, "repo": {"full_name": repo}}, "base": {"ref": "main"}}});
        fs::write(self.dir.join("event.json"), event.to_string()).unwrap();
        self.step("pull_request", run, &[("no-append", "true")])
    }

    /// The badge the remote's main holds.
    fn badge(&self) -> Value {
        let text = git(&self.dir.join("remote.git"), &["show", "main:badge.json"]);
        serde_json::from_str(&text).unwrap()
    }
}

/// post_verdicts.py run directly, as benchmarks-comment.yml runs it.
fn script(mock: &Mock, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new("python3")
        .arg(root().join(".github/actions/run-benchmarks/post_verdicts.py"))
        .args(args)
        .env("GITHUB_API_URL", &mock.url)
        .env("GITHUB_REPOSITORY", "o/r")
        .env("GITHUB_TOKEN", TOKEN)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn a_pull_requests_comment_is_edited_and_a_regression_gets_one_issue_closed_on_recovery() {
    let Some(pytest) = pytest() else { return };
    let Some(()) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let mock = Mock::start();
    let job = Job {
        dir,
        mock: &mock,
        pytest: &pytest,
    };
    install_tool(&dir.join("bin"));
    fs::create_dir(dir.join("temp")).unwrap();
    let mut project = Project::new(dir);
    // The slowed benchmark has the hostile name; a steady one stays unchanged.
    write(
        &project.root.join("bench/speed/pytest.ini"),
        "[pytest]\ndisable_test_id_escaping_and_forfeit_all_rights_to_community_support = true\n",
    );
    write(
        &project.root.join("bench/speed/test_speed.py"),
        &format!(
            "import time\nimport pytest\nimport speedlib\n\n\
             @pytest.mark.parametrize('n', [1], ids=['{HOSTILE}'])\n\
             def test_work(benchmark, n):\n    benchmark.pedantic(speedlib.work, rounds=5, iterations=1)\n\n\
             def test_steady(benchmark):\n    benchmark.pedantic(time.sleep, args=(0.01,), rounds=3, iterations=1)\n"
        ),
    );
    project.commit("hostile names");
    remote_and_clones(dir, &["data"]);
    {
        // Pull request #7, with others' comments before ours: one by someone else that starts
        // with our marker, which must never be taken for ours.
        let mut api = mock.api();
        api.issues.push(json!({"number": 1, "title": "an issue", "body": "", "labels": [{"name": "performance-regression"}], "state": "open", "user": {"login": "alice"}}));
        api.issues.push(json!({"number": 7, "pull_request": {}, "title": "pr", "body": "", "labels": [], "state": "open", "head_sha": ""}));
        for (id, login, body) in [
            (1, "alice", "looks good"),
            (
                2,
                "mallory",
                "<!-- heat-bench:benchmarks -->\nall fast, merge it",
            ),
            (3, "bob", "@alice see the numbers"),
        ] {
            api.comments
                .push(json!({"id": id, "issue": 7, "body": body, "user": {"login": login}}));
        }
    }

    for run in 1..=FAST_NIGHTS {
        project.touch();
        let night = job.night(run);
        assert_eq!(night.status.code(), Some(0), "{}", stderr(&night));
    }
    assert_eq!(job.badge()["message"], "ok");
    assert!(mock.writes_since(0).is_empty(), "{:?}", mock.api().log);

    // A pull request makes work() 5x slower: its comment is made, then edited by the next push.
    project.library(0.25);
    let head = project.touch();
    mock.api().issues[1]["head_sha"] = head.clone().into();
    let before = mock.api().log.len();
    let judged = job.pull_request(11, &head, "o/r");
    assert_eq!(
        judged.status.code(),
        Some(1),
        "a confirmed regression fails the job: {}",
        stderr(&judged)
    );
    assert_eq!(
        mock.writes_since(before),
        ["POST /repos/o/r/issues/7/comments"]
    );
    let first = mock.api().comments.last().unwrap()["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        first.starts_with(
            "<!-- heat-bench:benchmarks -->\n### Benchmark gate: 1 new regression, 0 open"
        ),
        "{first}"
    );
    assert!(first.contains("| **regression**"), "{first}");
    assert!(
        first.contains("<details><summary>1 unchanged benchmark(s)</summary>"),
        "{first}"
    );
    assert!(first.contains("test_steady"), "{first}");
    assert!(
        first.contains(&format!(
            "Benchmarks of [`{}`](https://github.com/o/r/commit/{head})",
            &head[..12]
        )),
        "{first}"
    );
    assert!(
        first.contains("judged against the history of `main` on runner `bench-runner-1`"),
        "{first}"
    );
    assert!(
        first.contains("[The run](https://github.com/o/r/actions/runs/11)"),
        "{first}"
    );
    assert!(first.contains("run-benchmarks --bisect"), "{first}");
    assert_inert(&first);
    let header = first
        .lines()
        .find(|l| l.starts_with("| benchmark |"))
        .unwrap();
    let row = first.lines().find(|l| l.contains("pwned")).unwrap();
    assert_eq!(
        borders(row),
        borders(header),
        "the name split the row: {row}"
    );

    let before = mock.api().log.len();
    let judged = job.pull_request(12, &head, "o/r");
    assert_eq!(judged.status.code(), Some(1), "{}", stderr(&judged));
    let ours = mock.api().comments.last().unwrap()["id"].clone();
    assert_eq!(
        mock.writes_since(before),
        [format!("PATCH /repos/o/r/issues/comments/{ours}")]
    );
    let comments = mock.api().comments.clone();
    assert_eq!(
        comments
            .iter()
            .filter(|c| c["user"]["login"] == BOT)
            .count(),
        1,
        "{comments:#?}"
    );
    assert!(comments[3]["body"]
        .as_str()
        .unwrap()
        .contains("actions/runs/12"));
    assert_eq!(
        comments[1]["body"],
        "<!-- heat-bench:benchmarks -->\nall fast, merge it"
    );

    // The same from a fork: the pull_request run posts nothing (its token is read-only) ...
    let before = mock.api().log.len();
    let judged = job.pull_request(13, &head, "fork/r");
    assert_eq!(judged.status.code(), Some(1), "{}", stderr(&judged));
    assert!(String::from_utf8_lossy(&judged.stdout).contains("posted by the workflow_run workflow"));
    assert_eq!(mock.api().log.len(), before, "a fork's run called the API");
    // ... and benchmarks-comment.yml posts from its artifact, only for the pull request at the
    // run's head commit, with a number that is a number.
    let artifact = dir.join("artifact");
    fs::create_dir(&artifact).unwrap();
    fs::copy(
        dir.join("temp/run-benchmarks-action/verdicts.md"),
        artifact.join("verdicts.md"),
    )
    .unwrap();
    let post = |number: &str, expect: &str| {
        fs::write(artifact.join("pr-number"), number).unwrap();
        let a = artifact.to_str().unwrap();
        script(
            &mock,
            &[
                "comment",
                "--artifact",
                a,
                "--expect-head",
                expect,
                "--head-sha",
                expect,
                "--run-url",
                "https://github.com/o/r/actions/runs/13",
            ],
            &[],
        )
    };
    for (number, expect, said) in [
        (
            "7",
            "0123456789abcdef0123456789abcdef01234567",
            "is not at 0123456789ab",
        ),
        (
            "7 && curl evil",
            head.as_str(),
            "is not a pull request number",
        ),
        ("1", head.as_str(), "HTTP 404"),
    ] {
        let before = mock.api().log.len();
        let refused = post(number, expect);
        assert_eq!(refused.status.code(), Some(2), "{number}");
        assert!(stderr(&refused).contains(said), "{}", stderr(&refused));
        assert!(mock.writes_since(before).is_empty());
    }
    let before = mock.api().log.len();
    let posted = post("7\n", &head);
    assert_eq!(posted.status.code(), Some(0), "{}", stderr(&posted));
    assert_eq!(
        mock.writes_since(before),
        [format!("PATCH /repos/o/r/issues/comments/{ours}")]
    );
    assert_inert(mock.api().comments[3]["body"].as_str().unwrap());

    // Main: the slow library lands; the night finds the regression and opens its issue.
    let before = mock.api().log.len();
    let night = job.night(FAST_NIGHTS + 1);
    assert_eq!(night.status.code(), Some(1), "{}", stderr(&night));
    assert_eq!(mock.writes_since(before), ["POST /repos/o/r/issues"]);
    let issue = mock.api().issues.last().unwrap().clone();
    let title = issue["title"].as_str().unwrap();
    assert!(
        title.starts_with(
            "Regression: test_speed.py::test_work[h\\n::error::pwned `x` | @\u{2060}octocat"
        ),
        "{title}"
    );
    assert!(
        title.ends_with(')')
            && title.contains(" +")
            && title.contains("% (")
            && title.contains(".."),
        "{title}"
    );
    let body = issue["body"].as_str().unwrap();
    assert!(body.contains("run-benchmarks --bisect"), "{body}");
    assert!(
        body.contains(&format!(
            "[this run](https://github.com/o/r/actions/runs/{})",
            FAST_NIGHTS + 1
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!("https://github.com/o/r/commit/{head}")),
        "{body}"
    );
    assert_eq!(issue["labels"], json!([{"name": "performance-regression"}]));
    assert_inert(body);
    assert_eq!(job.badge()["message"], "1 regression open");
    assert_eq!(job.badge()["color"], "red");

    // Still slow: the regression is open, the issue says so already; nothing is posted.
    project.touch();
    let before = mock.api().log.len();
    let night = job.night(FAST_NIGHTS + 2);
    assert_eq!(night.status.code(), Some(0), "{}", stderr(&night));
    assert!(
        mock.writes_since(before).is_empty(),
        "{:?}",
        &mock.api().log[before..]
    );
    assert_eq!(job.badge()["message"], "1 regression open");

    // The fix: the night finds it recovered and closes the issue, naming the run.
    project.library(0.05);
    let before = mock.api().log.len();
    let night = job.night(FAST_NIGHTS + 3);
    assert_eq!(night.status.code(), Some(0), "{}", stderr(&night));
    let number = issue["number"].clone();
    assert_eq!(
        mock.writes_since(before),
        [
            format!("POST /repos/o/r/issues/{number}/comments"),
            format!("PATCH /repos/o/r/issues/{number}")
        ]
    );
    let api = mock.api();
    let closing = api.comments.last().unwrap()["body"].as_str().unwrap();
    assert!(
        closing.starts_with(&format!(
            "Recovered: [this run](https://github.com/o/r/actions/runs/{})",
            FAST_NIGHTS + 3
        )),
        "{closing}"
    );
    assert!(!closing.contains("@octocat"), "{closing}");
    let closed = api.issues.iter().find(|i| i["number"] == number).unwrap();
    assert_eq!(
        (closed["state"].as_str(), closed["state_reason"].as_str()),
        (Some("closed"), Some("completed"))
    );
    // Issue #1 (someone else's, no marker) was never touched; nothing was refused.
    assert_eq!(api.issues[0]["state"], "open");
    assert!(
        api.rejected
            .iter()
            .all(|r| r.starts_with("GET /repos/o/r/pulls/1:")),
        "{:#?}",
        api.rejected
    );
    drop(api);
    assert_eq!(job.badge()["message"], "ok");
    assert_eq!(job.badge()["color"], "brightgreen");
}

#[test]
fn a_merge_requests_note_is_made_once_and_edited_after() {
    let Some(()) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mock = Mock::start();
    let markdown = dir.path().join("gate.md");
    fs::write(
        &markdown,
        format!(
            "### Benchmark gate: 0 new regressions, 0 open\n\n| `{}` |\n",
            "a@b @team"
        ),
    )
    .unwrap();
    mock.api().notes.push(json!({"id": 5, "iid": "3", "body": "<!-- heat-bench:benchmarks -->\nnot ours", "author": {"id": 99}}));
    let env = [
        ("CI_API_V4_URL", format!("{}/api/v4", mock.url)),
        ("CI_PROJECT_ID", "42".to_string()),
        ("BENCH_GITLAB_TOKEN", GITLAB_TOKEN.to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args = [
        "comment",
        "--gitlab",
        "--pr",
        "3",
        "--markdown",
        markdown.to_str().unwrap(),
        "--base",
        "main",
    ];
    for expected in [
        "POST /api/v4/projects/42/merge_requests/3/notes",
        "PUT /api/v4/projects/42/merge_requests/3/notes/1001",
    ] {
        let before = mock.api().log.len();
        let posted = script(&mock, &args, &env);
        assert_eq!(posted.status.code(), Some(0), "{}", stderr(&posted));
        assert_eq!(mock.writes_since(before), [expected]);
    }
    let api = mock.api();
    assert_eq!(api.notes.len(), 2, "{:#?}", api.notes);
    assert_eq!(
        api.notes[0]["body"],
        "<!-- heat-bench:benchmarks -->\nnot ours"
    );
    let ours = api.notes[1]["body"].as_str().unwrap();
    assert!(
        ours.starts_with("<!-- heat-bench:benchmarks -->\n### Benchmark gate"),
        "{ours}"
    );
    assert!(
        ours.contains("@\u{2060}team") && !ours.contains("@team"),
        "{ours}"
    );
    assert!(api.rejected.is_empty(), "{:#?}", api.rejected);
}
