#!/usr/bin/env python3
"""Puts the regression gate's verdicts where reviewers look, through the GitHub or GitLab REST API.

  comment  one comment per pull request (a GitLab merge request: one note), found again by a
           hidden marker on its first line and edited on every push: the gate's Markdown table
           (run-benchmarks --markdown), with the commit, the base branch, the runner and the run.
  issues   one issue per regression on the main branch, from the gate's JSON report
           (run-benchmarks --report-json): opened once, left alone while the regression stays
           open, closed with a comment naming the run that finds it recovered (or accepted).

Only the Python standard library; run by the composite action's run.sh and by the workflow that
posts for pull requests from forks (benchmarks-comment.yml). Everything read from the report, the
Markdown and the pull request is untrusted (a pull request from a fork wrote it): names are shown
in code spans with control characters made visible, @mentions are defused, sizes are capped, and
nothing of it reaches a shell or a URL unchecked.

Environment. GitHub: GITHUB_API_URL (default https://api.github.com), GITHUB_REPOSITORY
(owner/name) and a token in GITHUB_TOKEN (--token-env names another variable). GitLab (--gitlab):
CI_API_V4_URL, CI_PROJECT_ID and a project access token in BENCH_GITLAB_TOKEN.
Exit codes: 0 done (or nothing to do), 2 an error (one line on stderr).
"""

import argparse
import hashlib
import json
import math
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

# GitHub refuses comment and issue bodies over 65536 characters; the marker and footer need room.
MAX_MARKDOWN = 60000
MAX_TITLE = 256
LABEL = "performance-regression"
COMMENT_MARKER = "<!-- heat-bench:{key} -->"
ISSUE_MARKER = re.compile(r"^<!-- heat-bench-regression:([0-9a-f]{24}) series:([0-9a-f]{24}) -->")


class Failure(Exception):
    """An error worth one line: what failed and what to do."""


# --- text from untrusted sources ---------------------------------------------------------------


def visible(text):
    """`text` with every control character shown as an escape, so it stays on its line."""
    out = []
    for c in str(text):
        if c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029":
            out.append("\\u{%x}" % ord(c))
        else:
            out.append(c)
    return "".join(out)


def no_mentions(text):
    """`text` without mentions: a word joiner after `@` stops GitHub and GitLab from taking
    `@name` for a user or team to notify."""
    return re.sub(r"@(?=[A-Za-z0-9_\-])", "@\u2060", text)


def code(text, in_table=False):
    """`text` as a Markdown code span shown verbatim, whatever it holds."""
    text = no_mentions(visible(text))
    if in_table:
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plain(text, limit):
    """`text` on one line, mentions defused, within `limit` characters (titles)."""
    text = no_mentions(visible(text))
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def untrusted_markdown(text):
    """The gate's Markdown as taken from an artifact: control characters but line breaks and tabs
    dropped, mentions defused, cut at a line to MAX_MARKDOWN characters."""
    text = "".join(c for c in text if c in "\n\t" or not (ord(c) < 32 or 0x7F <= ord(c) < 0xA0))
    text = no_mentions(text)
    if len(text) > MAX_MARKDOWN:
        cut = text.rfind("\n", 0, MAX_MARKDOWN)
        cut = cut if cut > 0 else MAX_MARKDOWN
        text = text[:cut] + f"\n\n*(cut here: {len(text) - cut} more characters; the run's summary has the whole table)*\n"
    return text


def is_commit(value):
    return isinstance(value, str) and 0 < len(value) <= 64 and re.fullmatch(r"[0-9a-fA-F]+", value) is not None


def short(value):
    if is_commit(value):
        return value[:12]
    return visible(value) if isinstance(value, str) else "unknown commit"


def commit_link(value, commit_url):
    """A commit as a link when its id is hexadecimal and a --commit-url template is given."""
    if commit_url and is_commit(value):
        return f"[`{short(value)}`]({commit_url.replace('{id}', value)})"
    return code(short(value), in_table=True)


# --- the APIs ------------------------------------------------------------------------------------


class Api:
    """A REST API: a base URL and the headers every request carries."""

    def __init__(self, base, headers):
        self.base = base.rstrip("/")
        self.headers = headers

    def request(self, method, path, body=None):
        """(decoded JSON, response headers) of `method path`."""
        url = path if path.startswith(self.base + "/") else self.base + path
        data = None if body is None else json.dumps(body).encode()
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                text = response.read()
                return (json.loads(text) if text.strip() else None), response.headers
        except urllib.error.HTTPError as error:
            said = error.read()[:300].decode("utf-8", "replace")
            raise Failure(f"{method} {url}: HTTP {error.code}: {visible(said)}{hint(error.code)}") from None
        except (urllib.error.URLError, OSError) as error:
            raise Failure(f"{method} {url}: {error}") from None

    def pages(self, path):
        """Every item of a listing, following its pages (GitHub's Link header, GitLab's too)."""
        url = self.base + path
        while url:
            items, headers = self.request("GET", url)
            if not isinstance(items, list):
                raise Failure(f"GET {url}: expected a list, got {type(items).__name__}")
            yield from items
            url = next_page(headers.get("Link", ""))
            # The token goes to the API and nowhere else, whatever a Link header says.
            if url and not url.startswith(self.base + "/"):
                raise Failure(f"GET {path}: the next page is outside {self.base}: {visible(url)}")


def next_page(link):
    for part in link.split(","):
        match = re.match(r'\s*<([^>]+)>\s*;\s*rel="next"', part)
        if match:
            return match.group(1)
    return None


def hint(status):
    if status in (401, 403, 404):
        return (
            " (the token may lack the permission: `pull-requests: write` to comment, `issues: write`"
            " for issues; a pull request from a fork gets a read-only token, so its comment is"
            " posted by the workflow_run workflow, benchmarks-comment.yml)"
        )
    return ""


def env(name, default=None):
    value = os.environ.get(name, default)
    if not value:
        raise Failure(f"{name} is not set")
    return value


def github(token_env):
    repository = env("GITHUB_REPOSITORY")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository):
        raise Failure(f"GITHUB_REPOSITORY {visible(repository)!r} is not owner/name")
    api = Api(
        os.environ.get("GITHUB_API_URL") or "https://api.github.com",
        {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {env(token_env)}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "heat-bench-post-verdicts",
        },
    )
    return api, f"/repos/{repository}"


def gitlab(token_env):
    project = env("CI_PROJECT_ID")
    api = Api(env("CI_API_V4_URL"), {"PRIVATE-TOKEN": env(token_env), "User-Agent": "heat-bench-post-verdicts"})
    return api, f"/projects/{urllib.parse.quote(project, safe='')}"


# --- comment ---------------------------------------------------------------------------------------


def comment_key(key):
    key = re.sub(r"[^A-Za-z0-9._/-]", "-", key)[:100]
    if not key:
        raise Failure("--key is empty")
    return key


def pull_request_number(text):
    """A pull request's number as given (an artifact's file, an argument): digits only."""
    text = text.strip()
    if not re.fullmatch(r"[1-9][0-9]{0,9}", text):
        raise Failure(f"{visible(text[:40])!r} is not a pull request number")
    return int(text)


def comment_body(args, markdown):
    marker = COMMENT_MARKER.format(key=comment_key(args.key))
    facts = []
    if args.head_sha:
        facts.append(f"Benchmarks of {commit_link(args.head_sha, args.commit_url)}")
    else:
        facts.append("Benchmarks")
    if args.base:
        facts.append(f"judged against the history of {code(args.base)}")
    if args.runner:
        facts.append(f"on runner {code(args.runner)}")
    footer = " ".join(facts) + "."
    if args.run_url:
        footer += f" [The run]({args.run_url})."
    footer += " This comment is updated on every push."
    return f"{marker}\n{untrusted_markdown(markdown)}\n\n<sub>{footer}</sub>\n"


def read_capped(path, what):
    """At most 4 * MAX_MARKDOWN characters of a regular file (never through a symbolic link)."""
    if os.path.islink(path) or (os.path.exists(path) and not os.path.isfile(path)):
        raise Failure(f"{path}: not a regular file; pass {what}")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(4 * MAX_MARKDOWN)
    except OSError as error:
        raise Failure(f"{path}: {error.strerror}; pass {what}") from None


def from_event(args):
    """Fills the pull request's number, head, base and whether it comes from a fork from the
    event that started the workflow ($GITHUB_EVENT_PATH)."""
    try:
        with open(args.event, encoding="utf-8") as f:
            pull = json.load(f).get("pull_request") or {}
    except (OSError, ValueError) as error:
        raise Failure(f"{args.event}: cannot read the event ({error})") from None
    if not pull:
        raise Failure(f"{args.event}: not a pull request's event")
    args.pr = args.pr or str(pull.get("number", ""))
    args.head_sha = args.head_sha or str((pull.get("head") or {}).get("sha", ""))
    args.base = args.base or str((pull.get("base") or {}).get("ref", ""))
    head_repo = ((pull.get("head") or {}).get("repo") or {}).get("full_name")
    return head_repo != os.environ.get("GITHUB_REPOSITORY")


def post_comment(args):
    if args.artifact:
        # What a pull request's run uploaded: its number and its Markdown, both untrusted.
        args.pr = read_capped(os.path.join(args.artifact, "pr-number"), "the artifact of pull-request.yml")[:40]
        args.markdown = os.path.join(args.artifact, "verdicts.md")
    if args.event and from_event(args):
        print(
            "post_verdicts: a pull request from a fork gets a read-only token: its comment is posted by the"
            " workflow_run workflow (benchmarks-comment.yml) from this run's artifact"
        )
        return
    if not args.markdown or not args.pr:
        raise Failure("name the pull request and the Markdown: --pr and --markdown, --event, or --artifact")
    markdown = read_capped(args.markdown, "the file run-benchmarks --markdown wrote")
    number = pull_request_number(args.pr)
    marker = COMMENT_MARKER.format(key=comment_key(args.key))
    if args.gitlab:
        api, project = gitlab(args.token_env or "BENCH_GITLAB_TOKEN")
        me, _ = api.request("GET", "/user")
        thread = f"{project}/merge_requests/{number}/notes"
        ours = [
            n for n in api.pages(f"{thread}?per_page=100&sort=asc")
            if str(n.get("body", "")).startswith(marker) and (n.get("author") or {}).get("id") == me.get("id")
        ]
        edit = lambda note: ("PUT", f"{thread}/{note['id']}")  # noqa: E731
    else:
        api, repo = github(args.token_env or "GITHUB_TOKEN")
        if args.expect_head:
            # The number came from an artifact a pull request's run wrote: it must name the pull
            # request whose run this is, or a fork could comment on any other.
            pull, _ = api.request("GET", f"{repo}/pulls/{number}")
            if (pull.get("head") or {}).get("sha") != args.expect_head:
                raise Failure(
                    f"pull request #{number} is not at {short(args.expect_head)}: its artifact names another pull request; nothing posted"
                )
        thread = f"{repo}/issues/{number}/comments"
        ours = [
            c for c in api.pages(f"{thread}?per_page=100")
            if str(c.get("body", "")).startswith(marker)
            and (not args.author or (c.get("user") or {}).get("login") == args.author)
        ]
        edit = lambda c: ("PATCH", f"{repo}/issues/comments/{c['id']}")  # noqa: E731
    body = comment_body(args, markdown)
    where = "merge request !" if args.gitlab else "pull request #"
    if ours:
        method, path = edit(ours[0])
        api.request(method, path, {"body": body})
        print(f"post_verdicts: updated the comment on {where}{number}")
    else:
        api.request("POST", thread, {"body": body})
        print(f"post_verdicts: commented on {where}{number}")


# --- issues ----------------------------------------------------------------------------------------


def digest(*parts):
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]


def read_report(path):
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except OSError as error:
        raise Failure(f"{path}: {error.strerror}; pass the file run-benchmarks --report-json wrote") from None
    except ValueError as error:
        raise Failure(f"{path}: not JSON ({error}); pass the file run-benchmarks --report-json wrote") from None
    if not isinstance(report, dict) or not all(isinstance(report.get(k, []), list) for k in ("benchmarks", "open", "accepted")):
        raise Failure(f"{path}: not the gate's report (benchmarks, open, accepted); pass the file run-benchmarks --report-json wrote")
    return report


def number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


class Regression:
    """A regression as an issue names it, from a new one (`benchmarks`) or an open one (`open`)."""

    def __init__(self, item):
        self.suite = item.get("suite") if isinstance(item.get("suite"), str) else None
        self.fullname = str(item.get("fullname", ""))
        procs = item.get("procs")
        self.procs = procs if isinstance(procs, int) and not isinstance(procs, bool) else None
        self.machine = str(item.get("machine", ""))
        self.change = number((item.get("step") or {}).get("change")) if item.get("step") else None
        if self.change is None:
            self.change = number(item.get("change"))
        self.value, self.baseline = number(item.get("value")), number(item.get("baseline"))
        rng = item.get("range") if isinstance(item.get("range"), dict) else {}
        self.start = rng.get("from") if isinstance(rng.get("from"), dict) else {}
        self.end = rng.get("to") if isinstance(rng.get("to"), dict) else {}
        self.series = digest(self.suite, self.fullname, self.procs)
        self.key = digest(self.suite, self.fullname, self.procs, self.start.get("id"), self.end.get("id"))

    def name(self):
        return self.fullname + (f" x{self.procs}" if self.procs is not None else "")

    def percent(self):
        return "+?%" if self.change is None else f"{self.change * 100:+.1f}%"

    def title(self):
        span = f"{short(self.start.get('id'))}..{short(self.end.get('id'))}"
        tail = f" {self.percent()} ({span})"
        return "Regression: " + plain(self.name(), MAX_TITLE - len("Regression: ") - len(tail)) + tail

    def bisect(self):
        start, end = self.start.get("id"), self.end.get("id")
        if not (is_commit(start) and is_commit(end)) or start == end:
            return None
        command = f"run-benchmarks --bisect {start[:12]}..{end[:12]}"
        if self.suite is not None:
            command += " --suite '" + visible(self.suite).replace("'", "'\\''") + "'"
        if self.procs is not None:
            command += f" --launcher 'mpirun -n {{procs}}' --procs {self.procs}"
        return command

    def body(self, args, statistic):
        def end(run):
            when = run.get("datetime")
            day = f" ({visible(when[:10])})" if isinstance(when, str) else ""
            return commit_link(run.get("id"), args.commit_url) + day

        span = f"{end(self.start)} .. {end(self.end)}"
        if args.commit_url and "/commit/{id}" in args.commit_url:
            a, b = self.start.get("id"), self.end.get("id")
            if is_commit(a) and is_commit(b) and a != b:
                span += f" ([compare]({args.commit_url.replace('/commit/{id}', f'/compare/{a}...{b}')}))"
        measured = ""
        if self.value is not None and self.baseline is not None:
            measured = f" ({statistic} {self.value * 1e3:.3f} ms against {self.baseline * 1e3:.3f} ms)"
        rows = [
            ("benchmark", code(self.fullname, in_table=True)),
            ("suite", code(self.suite, in_table=True) if self.suite is not None else "-"),
            ("processes", str(self.procs) if self.procs is not None else "-"),
            ("machine", code(self.machine, in_table=True)),
            ("change", self.percent() + measured),
            ("between", span),
            ("found by", f"[this run]({args.run_url})" if args.run_url else "-"),
        ]
        lines = [
            f"<!-- heat-bench-regression:{self.key} series:{self.series} -->",
            "The regression gate found a step to a slower level, confirmed on two measurements or more.",
            "",
            "| | |",
            "|---|---|",
            *(f"| {k} | {v} |" for k, v in rows),
            "",
        ]
        command = self.bisect()
        if command:
            fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", command)), default=0))
            lines += ["Find the commit (in the project's checkout):", "", fence + "sh", no_mentions(command), fence, ""]
        lines.append(
            "A later run that still finds it adds nothing here; the first run that finds the benchmark back at its old level closes this issue."
        )
        return "\n".join(lines) + "\n"


def existing_issues(api, repo, label):
    """Our regression issues, open and closed: key -> (number, state, series)."""
    found = {}
    query = urllib.parse.urlencode({"labels": label, "state": "all", "per_page": 100})
    for issue in api.pages(f"{repo}/issues?{query}"):
        if "pull_request" in issue:
            continue
        match = ISSUE_MARKER.match(str(issue.get("body") or ""))
        if match:
            found.setdefault(match.group(1), (issue["number"], issue.get("state"), match.group(2)))
    return found


def sync_issues(args):
    report = read_report(args.report_json)
    api, repo = github(args.token_env or "GITHUB_TOKEN")
    statistic = visible(str(report.get("statistic", "median")))[:10]
    known = existing_issues(api, repo, args.label)
    opened = closed = 0
    judged = [j for j in report.get("benchmarks", []) if isinstance(j, dict)]
    # A regression found now, or open from earlier runs without an issue yet (issues turned on
    # later, or the run that found it could not post): one issue each. A closed one is not opened
    # again, whoever closed it.
    regressions = [Regression(j) for j in judged if j.get("verdict") == "regression"]
    regressions += [Regression(o) for o in report.get("open", []) if isinstance(o, dict)]
    for regression in regressions:
        if regression.key in known:
            continue
        made, _ = api.request(
            "POST",
            f"{repo}/issues",
            {"title": regression.title(), "body": regression.body(args, statistic), "labels": [args.label]},
        )
        known[regression.key] = (made["number"], "open", regression.series)
        opened += 1
        print(f"post_verdicts: opened issue #{made['number']}")
    run = f"[this run]({args.run_url})" if args.run_url else "this run"

    def close(number, text, reason):
        api.request("POST", f"{repo}/issues/{number}/comments", {"body": text})
        api.request("PATCH", f"{repo}/issues/{number}", {"state": "closed", "state_reason": reason})
        print(f"post_verdicts: closed issue #{number}")

    recovered = {Regression(j).series: Regression(j) for j in judged if j.get("verdict") == "recovered"}
    accepted = {Regression(o).key: Regression(o) for o in report.get("accepted", []) if isinstance(o, dict)}
    for key, (issue, state, series) in sorted(known.items(), key=lambda kv: kv[1][0]):
        if state != "open":
            continue
        if series in recovered:
            back = recovered[series]
            close(issue, f"Recovered: {run} finds {code(back.name())} back at its level from before ({back.percent()} since the slow level).", "completed")
            closed += 1
        elif key in accepted:
            close(issue, f"Accepted in {run} (`--accept`): later runs judge against the slow level.", "not_planned")
            closed += 1
    print(f"post_verdicts: {opened} issue(s) opened, {closed} closed")


# --- command line --------------------------------------------------------------------------------


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("comment", help="create or update the pull request's comment")
    c.add_argument("--markdown", default="", help="the file run-benchmarks --markdown wrote")
    c.add_argument("--pr", default="", help="the pull request's number (GitLab: the merge request's iid)")
    c.add_argument("--event", default="", help="take the pull request from this event file ($GITHUB_EVENT_PATH); a fork's is left to the workflow_run workflow")
    c.add_argument("--artifact", default="", help="a folder holding pr-number and verdicts.md, as pull-request.yml uploads them")
    c.add_argument("--key", default="benchmarks", help="tells this job's comment from other jobs' (a matrix)")
    c.add_argument("--head-sha", default="", help="the commit measured, linked in the comment")
    c.add_argument("--expect-head", default="", help="refuse unless the pull request's head is this commit (for a number from an artifact)")
    c.add_argument("--base", default="", help="the branch whose history is the baseline")
    c.add_argument("--runner", default="", help="the runner or machine the numbers came from")
    c.add_argument("--run-url", default="", help="the run, linked in the comment")
    c.add_argument("--commit-url", default="", help="a commit's URL with {id}")
    c.add_argument("--author", default="github-actions[bot]", help="only a comment of this login is edited; empty: any")
    c.add_argument("--gitlab", action="store_true", help="a merge-request note through GitLab's API")
    c.add_argument("--token-env", default="", help="the variable holding the token")
    i = sub.add_parser("issues", help="open and close an issue per regression")
    i.add_argument("--report-json", required=True, help="the file run-benchmarks --report-json wrote")
    i.add_argument("--run-url", default="", help="the run, linked in each issue")
    i.add_argument("--commit-url", default="", help="a commit's URL with {id}")
    i.add_argument("--label", default=LABEL, help="the label of the regression issues")
    i.add_argument("--token-env", default="", help="the variable holding the token")
    args = parser.parse_args(argv)
    for url in (getattr(args, "run_url", ""), getattr(args, "commit_url", "")):
        if url and not re.fullmatch(r"https?://[^\s()<>]+", url):
            parser.error(f"{visible(url)!r} is not an http(s) URL")
    try:
        post_comment(args) if args.command == "comment" else sync_issues(args)
    except Failure as failure:
        print(f"post_verdicts: error: {failure}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
