// Evaluates GPE plots the way GPE does and renders them with its own stack: jsonata 1.8 on
// [{"name", "file", "content"}], the result JSON-copied and handed to Chart.js 2.9's
// `new Chart(canvas, ...)` in headless Chromium, served from a loopback HTTP server started here.
// GPE's defaults as its source has them (src/app/plot-view): the canvas sits in a 760 px wide
// panel, Chart.js stays responsive, and GPE's `Chart.defaults.maintainAspectRatio = false` lands
// on the wrong object, so the canvas keeps the 2:1 aspect ratio (760x380) unless the config itself
// says `options.maintainAspectRatio: false`; then it takes the panel's height.
//
// Usage: node scripts/lib/gpe.mjs --data DIR --plots DIR [--history NAME=FILE]...
//                                  [--pick NAME=SUITE,SUITE...]... [--png OUTDIR]
//   Evaluates every plot of DIR/list.json on each data file alone, on all of them together, on
//   each --pick (the files of those suites, archive chunks included) and on each --history file
//   (and on all of them together when there are several), renders each result and prints one JSON
//   object per line: {"plot", "selection", "ok", "error", "problems", "type", "datasets", "labels",
//   "points", "entries", "painted", "canvas", "area", "png"}.
//   Besides JSONata and Chart.js errors it checks what a reader relies on (see `problemsOf`);
//   any problem fails the case. Exits 1 when any case failed.
// Needs GPE_MODULES (folder holding node_modules with jsonata and chart.js) and CHROMIUM.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const modules = resolve(process.env.GPE_MODULES ?? resolve(import.meta.dirname, "../../.tools/node_modules"));
const require = createRequire(join(modules, "noop.js"));
const jsonata = require("jsonata");
const chartJs = readFileSync(join(modules, "chart.js/dist/Chart.min.js"));
const chromium = process.env.CHROMIUM ?? "chromium";

const args = process.argv.slice(2);
const option = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const options = (name) => args.flatMap((a, i) => (a === name ? [args[i + 1]] : []));
const dataDir = option("--data");
const plotsDir = option("--plots");
const pngDir = option("--png");
if (!dataDir || !plotsDir) {
  console.error("usage: gpe.mjs --data DIR --plots DIR [--history NAME=FILE]... [--pick NAME=SUITE,SUITE...]... [--png OUTDIR]");
  process.exit(2);
}

const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));
const dataList = readJson(join(dataDir, "list.json"));
const files = dataList.map((e) => ({ name: e.name, file: e.file, content: readJson(join(dataDir, e.file)) }));
const suiteOf = (f) => (f.file.includes("/") ? f.file.split("/")[0] : f.name);
// GPE fetches the picked files at once and keeps them in the order they arrive: a plot must not
// depend on it, so several files are handed over in reverse list order.
const picked = (list) => (list.length > 1 ? [...list].reverse() : list);
const histories = options("--history").map((spec) => {
  const [name, path] = spec.split("=");
  // As GPE would see it in a data folder: SUITE/aggregate.json.
  return { name, file: `${name}/aggregate.json`, content: readJson(path) };
});
const selections = [
  ...files.map((f) => ({ name: f.name, files: [f] })),
  ...(files.length > 1 ? [{ name: "all suites", files: picked(files) }] : []),
  ...options("--pick").map((spec) => {
    const [name, suites] = spec.split("=");
    const chosen = files.filter((f) => suites.split(",").includes(suiteOf(f)));
    if (chosen.length === 0) throw new Error(`--pick ${spec}: no file of these suites in ${dataDir}/list.json`);
    return { name, files: picked(chosen) };
  }),
  ...histories.map((h) => ({ name: h.name, files: [h] })),
  ...(histories.length > 1 ? [{ name: "histories together", files: picked(histories) }] : []),
];
const plots = readJson(join(plotsDir, "list.json")).map((p) => ({ ...p, code: p.code ?? readFileSync(join(plotsDir, p.file), "utf8") }));

// The axis a dataset is drawn against on the value side, and its type.
const valueAxis = (config, dataset) => {
  const horizontal = config.type === "horizontalBar";
  const axes = config.options?.scales?.[horizontal ? "xAxes" : "yAxes"] ?? [{}];
  const id = horizontal ? dataset.xAxisID : dataset.yAxisID;
  return (id === undefined ? axes[0] : axes.find((a) => a.id === id)) ?? {};
};
const isPoint = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

// What a reader relies on, checked on the config as GPE hands it to Chart.js.
function problemsOf(config) {
  const problems = [];
  const labels = config.data?.labels ?? [];
  const datasets = config.data?.datasets ?? [];
  if (new Set(labels).size !== labels.length) {
    const seen = new Set();
    problems.push(`labels repeat: ${labels.filter((l) => seen.has(l) || !seen.add(l)).slice(0, 3).join(", ")}`);
  }
  for (const d of datasets) {
    const data = d.data ?? [];
    if (data.some(isPoint)) {
      // Points placed by their label, {x, y}: each on a label of the axis; a line goes left to
      // right, once per label (marks without a line may share a label).
      const at = data.map((p) => labels.indexOf(p.x));
      if (at.some((i) => i < 0)) problems.push(`dataset "${d.label}" has a point off the labels: ${data[at.indexOf(-1)].x}`);
      else if (d.showLine !== false && at.some((i, k) => k > 0 && i <= at[k - 1])) problems.push(`dataset "${d.label}" goes back or repeats a label`);
    } else if (labels.length > 0 && data.length !== labels.length) {
      problems.push(`dataset "${d.label}" has ${data.length} values for ${labels.length} labels`);
    }
    // Chart.js 2.9 draws a missing value on a log axis at the axis' floor, as if it were measured.
    if (valueAxis(config, d).type === "logarithmic") {
      const values = data.flatMap((v) => (isPoint(v) ? [v.y] : Array.isArray(v) ? v : [v]));
      if (values.some((v) => v === null || v === undefined || !(v > 0))) problems.push(`dataset "${d.label}" has a missing or non-positive value on a log axis`);
    }
  }
  return problems;
}

// Every entry of the picked files drawn once, at its own run, runs in time order: checked for the
// plots that draw a line per benchmark across runs. A series is a benchmark of a suite on a machine
// at a process count; an entry's run is named by its short commit and its day (an entry of the
// original script has no datetime: its commit's time stands in, its place in the file orders it).
const perRun = new Set(["trend", "change"]);
function runProblems(plotName, config, selectionFiles) {
  const series = new Map();
  for (const f of selectionFiles) {
    f.content.forEach((e, i) => {
      const key = [suiteOf(f), e.fullname, e.machine?.node ?? "", e.procs ?? ""].join("|");
      const time = e.datetime ?? e.commit_info?.time ?? "";
      if (!series.has(key)) series.set(key, []);
      series.get(key).push({ time, order: i, id: (e.commit_info?.id ?? "?").slice(0, 7), day: time.slice(0, 10), median: e.stats.median });
    });
  }
  const expected = [...series.values()].map((s) => s.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.order - b.order)));
  const lines = (config.data?.datasets ?? []).filter((d) => (d.type ?? config.type) === "line");
  const problems = [];
  if (lines.length !== expected.length) problems.push(`${lines.length} lines for ${expected.length} benchmarks`);
  const labels = config.data.labels;
  const unit = { s: 1, ms: 1e3, us: 1e6, ns: 1e9 }[/\((s|ms|us|ns)\b/.exec(JSON.stringify(config.options?.scales?.yAxes ?? []))?.[1]] ?? 1;
  // The value each entry should have: its median in the plot's unit (trend), or its change in
  // percent against the median of its benchmark's medians (change).
  const wanted = (entries) => {
    if (plotName === "trend") return entries.map((e) => e.median * unit);
    const sorted = entries.map((e) => e.median).sort((a, b) => a - b);
    const n = sorted.length;
    const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    return entries.map((e) => (e.median / median - 1) * 100);
  };
  const fits = (line, entries) => {
    const values = wanted(entries);
    return line.data.length === entries.length && line.data.every((p, k) =>
      isPoint(p) && p.x.includes(entries[k].id) && p.x.includes(entries[k].day) &&
      Math.abs(p.y - values[k]) <= 1e-6 * Math.abs(values[k]) + 1e-9);
  };
  const unmatched = [...expected];
  const drawn = [];
  for (const line of lines) {
    const k = unmatched.findIndex((entries) => fits(line, entries));
    if (k < 0) { problems.push(`line "${line.label}" does not draw one benchmark's entries, each at its run`); continue; }
    drawn.push([line, unmatched.splice(k, 1)[0]]);
  }
  // Runs in time order: each label's first entry was measured no earlier than the first entry of
  // the label before it (suites of one pipeline run share a label, pipelines may overlap).
  const first = labels.map(() => "\uffff");
  for (const [line, entries] of drawn) {
    line.data.forEach((p, j) => {
      const i = labels.indexOf(p.x);
      if (entries[j].time < first[i]) first[i] = entries[j].time;
    });
  }
  const empty = first.filter((t) => t === "\uffff").length;
  if (empty > 0) problems.push(`${empty} labels with nothing drawn`);
  const back = first.findIndex((t, i) => i > 0 && t < first[i - 1]);
  if (back > 0) problems.push(`runs are not in time order: "${labels[back]}" starts at ${first[back]}, before "${labels[back - 1]}" at ${first[back - 1]}`);
  return problems;
}

// Evaluate, as GPE's plot view does: jsonata(code).evaluate(data), then a JSON copy.
const cases = [];
for (const plot of plots) {
  for (const selection of selections) {
    const c = { plot: plot.name, selection: selection.name, ok: false, entries: selection.files.reduce((n, f) => n + f.content.length, 0) };
    try {
      const config = JSON.parse(JSON.stringify(jsonata(plot.code).evaluate(selection.files)));
      c.config = config;
      c.type = config.type;
      c.datasets = config.data?.datasets?.length ?? 0;
      c.labels = config.data?.labels?.length ?? 0;
      c.problems = problemsOf(config);
      if (perRun.has(plot.name) && c.problems.length === 0) c.problems.push(...runProblems(plot.name, config, selection.files));
      // Points drawn as single values (lines), not counting gaps.
      c.points = (config.data?.datasets ?? []).filter((d) => (d.type ?? config.type) === "line")
        .reduce((n, d) => n + d.data.filter((v) => typeof v === "number" || (isPoint(v) && typeof v.y === "number")).length, 0);
      // Points drawn as marks beside the lines (the gate's verdicts on the change plot).
      c.marked = (config.data?.datasets ?? []).filter((d) => d.type === "scatter").reduce((n, d) => n + d.data.length, 0);
    } catch (e) {
      c.error = `jsonata: ${e.message}`;
    }
    cases.push(c);
  }
}

// Render every evaluated config in Chromium, one canvas each, and read back what happened.
const page = `<!doctype html><html><head><meta charset="utf-8"><script src="/chart.js"></script></head>
<body style="margin:0;background:#fff"><pre id="result"></pre><script>
const results = [];
window.addEventListener("error", (e) => results.push({ index: -1, error: String(e.message) }));
// GPE's own lines (src/app/plot-view/plot-view.component.ts), on the object they really reach.
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
// Not GPE's: without animation the first frame is the last, so the pixels can be read at once.
Chart.defaults.global.animation = false;
fetch("/configs.json").then((r) => r.json()).then((configs) => {
  const only = new URLSearchParams(location.search).get("only");
  configs.forEach((config, index) => {
    if (only !== null && String(index) !== only) return;
    // GPE's plot panel on a 1080p screen: 760 px wide, 700 px left below its header.
    const box = document.createElement("div");
    box.style.cssText = "position:relative;width:760px;height:700px";
    const canvas = document.createElement("canvas");
    box.appendChild(canvas);
    document.body.appendChild(box);
    try {
      const chart = new Chart(canvas, config);
      const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
      results.push({ index, painted, canvas: [chart.width, chart.height], area: Math.round(chart.chartArea.bottom - chart.chartArea.top) });
    } catch (e) {
      results.push({ index, error: String(e && e.message || e) });
    }
  });
  if (only === null) document.getElementById("result").textContent = JSON.stringify(results);
  else document.getElementById("result").remove();
});
</script></body></html>`;

const rendered = cases.filter((c) => c.config);
const server = createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (url.pathname === "/chart.js") { res.setHeader("content-type", "text/javascript"); res.end(chartJs); }
  else if (url.pathname === "/configs.json") { res.setHeader("content-type", "application/json"); res.end(JSON.stringify(rendered.map((c) => c.config))); }
  else if (url.pathname === "/") { res.setHeader("content-type", "text/html"); res.end(page); }
  else { res.statusCode = 404; res.end(); }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const base = `http://127.0.0.1:${server.address().port}/`;
const profile = mkdtempSync(join(tmpdir(), "gpe-chromium-"));
const chromiumArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--no-first-run", "--disable-sync", `--user-data-dir=${profile}`, "--virtual-time-budget=20000"];
// Chromium runs asynchronously: this process must keep serving while it loads.
const run = (extra, url) => new Promise((ok) => {
  const child = spawn(chromium, [...chromiumArgs, ...extra, url], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  child.on("close", (code) => ok({ code, out, err }));
  child.on("error", (e) => ok({ code: -1, out, err: String(e) }));
});

if (rendered.length > 0) {
  const dom = await run(["--dump-dom", "--window-size=800,800"], base);
  const match = dom.out.match(/<pre id="result">([\s\S]*?)<\/pre>/);
  if (!match) {
    for (const c of rendered) c.error = `chromium gave no result (exit ${dom.code}): ${dom.err.trim().split("\n").slice(-3).join(" / ")}`;
  } else {
    const results = JSON.parse(match[1].replaceAll("&quot;", '"').replaceAll("&amp;", "&").replaceAll("&lt;", "<").replaceAll("&gt;", ">"));
    for (const r of results) {
      if (r.index < 0) { for (const c of rendered) c.error ??= `page error: ${r.error}`; continue; }
      const c = rendered[r.index];
      if (r.error) c.error = `Chart.js: ${r.error}`;
      c.painted = r.painted ?? 0;
      c.canvas = r.canvas;
      c.area = r.area;
      // A legend or labels that take more than half the canvas leave no plot to read.
      if (c.datasets > 0 && r.area < r.canvas?.[1] / 2) c.problems.push(`the plot area is ${r.area} px of a ${r.canvas[1]} px canvas`);
    }
  }
  if (pngDir) {
    mkdirSync(pngDir, { recursive: true });
    for (const [index, c] of rendered.entries()) {
      const png = join(pngDir, `${c.plot} - ${c.selection}.png`.replace(/[/\\]/g, "_"));
      await run([`--screenshot=${png}`, `--window-size=760,${c.canvas?.[1] ?? 700}`, "--hide-scrollbars"], `${base}?only=${index}`);
      c.png = png;
    }
  }
}
server.close();
rmSync(profile, { recursive: true, force: true });

let failed = 0;
for (const c of cases) {
  if (!c.error && c.problems?.length) c.error = c.problems.join("; ");
  // A plot with nothing to show says so in its title (scaling without MPI runs); otherwise it
  // must draw something.
  const message = c.datasets === 0 && c.config?.options?.title?.text;
  c.ok = !c.error && (c.datasets > 0 || Boolean(message)) && (c.painted ?? 0) > 1000;
  if (!c.ok) { failed++; c.error ??= c.datasets > 0 ? "the canvas stayed empty" : "no dataset"; }
  delete c.config;
  console.log(JSON.stringify(c));
}
process.exit(failed ? 1 : 0);
