// Evaluates GPE plots the way GPE does and renders them with its own stack: jsonata on
// [{"name", "file", "content"}], the result JSON-copied and handed to Chart.js's
// `new Chart(canvas, ...)` in headless Chromium (with moment, which GPE's bundle carries, so a time
// axis works), served from a loopback HTTP server started here. The versions are GPE's own, from
// its package-lock.json: jsonata 1.8.4, Chart.js 2.9.4, moment 2.29.1 (GPE_JSONATA picks another
// installed jsonata, e.g. "jsonata-1x", the newest 1.x). GPE's defaults as its source has them
// (src/app/plot-view): the canvas sits in a 760 px wide panel, Chart.js stays responsive, and GPE's
// `Chart.defaults.maintainAspectRatio = false` lands on the wrong object, so the canvas keeps the 2:1
// aspect ratio (760x380) unless the config itself says `options.maintainAspectRatio: false`.
//
// Usage: node scripts/lib/gpe.mjs --data DIR --plots DIR [--history NAME=FILE]...
//                                  [--pick NAME=SUITE,SUITE...]... [--png OUTDIR]
//   Evaluates every plot of DIR/list.json on each data file alone, on all of them together, on
//   each --pick (the files of those suites, archive chunks included) and on each --history file
//   (and on all of them together when there are several), renders each result and prints one JSON
//   object per line: {"plot", "selection", "ok", "error", "problems", "type", "datasets", "labels",
//   "points", "entries", "marked", "title", "legend", "painted", "canvas", "area", "png", "versions"}.
//   Besides JSONata and Chart.js errors it checks what a reader relies on (see `problemsOf` and
//   `runProblems`); any problem fails the case. Exits 1 when any case failed.
// Needs GPE_MODULES (folder holding node_modules with jsonata, chart.js and moment) and CHROMIUM.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const modules = resolve(process.env.GPE_MODULES ?? resolve(import.meta.dirname, "../../.tools/node_modules"));
const require = createRequire(join(modules, "noop.js"));
const jsonataName = process.env.GPE_JSONATA ?? "jsonata";
const jsonata = require(jsonataName);
const chartJs = readFileSync(join(modules, "chart.js/dist/Chart.min.js"));
const momentJs = readFileSync(join(modules, "moment/min/moment.min.js"));
const versionOf = (name) => JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")).version;
const versions = { jsonata: versionOf(jsonataName), "chart.js": versionOf("chart.js"), moment: versionOf("moment") };
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

const isPoint = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
// The axis a dataset is drawn against on one side ("x" or "y"): by its id, else the first.
const axisFor = (config, dataset, side) => {
  const axes = config.options?.scales?.[`${side}Axes`] ?? [];
  const id = dataset[`${side}AxisID`];
  return (id === undefined ? axes[0] : axes.find((a) => a.id === id)) ?? {};
};
const labelsFor = (config, axis) => axis.labels ?? config.data?.labels ?? [];
const typeOf = (config, d) => d.type ?? config.type;

// What a reader relies on, checked on the config as GPE hands it to Chart.js.
function problemsOf(config) {
  const problems = [];
  const datasets = config.data?.datasets ?? [];
  const o = config.options ?? {};
  if (o.maintainAspectRatio !== false) problems.push("maintainAspectRatio is not false: GPE leaves the canvas at 760x380");
  if (datasets.length > 0) {
    if (o.legend?.display !== false && o.legend?.position === "bottom") problems.push("the legend is at the bottom, under GPE's HTML, PNG and SVG buttons");
    if (!((o.layout?.padding?.bottom ?? 0) >= 36)) problems.push("the bottom of the plot is not kept clear of GPE's buttons");
    if (o.animation?.duration !== 0) problems.push("animated: GPE would redraw every frame for a second");
  }
  const horizontal = config.type === "horizontalBar";
  for (const d of datasets) {
    const data = d.data ?? [];
    const x = axisFor(config, d, horizontal ? "y" : "x");
    const y = axisFor(config, d, horizontal ? "x" : "y");
    const labels = labelsFor(config, x);
    if ((x.type ?? "category") === "category") {
      if (new Set(labels).size !== labels.length) problems.push(`labels repeat on axis ${x.id ?? "x"}`);
      // Chart.js 2.9 titles a tooltip with the label at the point's index, not at its x.
      if (data.some(isPoint)) problems.push(`dataset "${d.label}" has {x, y} points on a category axis: their tooltips would name the wrong label`);
      if (data.length > labels.length) problems.push(`dataset "${d.label}" has ${data.length} values for ${labels.length} labels`);
    } else if (x.type === "time" && !data.some(isPoint) && data.length > labels.length) {
      problems.push(`dataset "${d.label}" has ${data.length} values for ${labels.length} labels of its time axis`);
    }
    // Chart.js 2.9 draws a missing value on a log axis at the axis' floor, as if it were measured,
    // unless its x cannot be read (a blank label on a time axis).
    if (y.type === "logarithmic") {
      data.forEach((v, i) => {
        const values = isPoint(v) ? [v.y] : Array.isArray(v) ? v : [v];
        // A point whose x is blank cannot be placed on a time axis: Chart.js skips it too.
        const skipped = x.type === "time" && (isPoint(v) ? v.x === "" || v.x === null : labels[i] === "");
        const bar = typeOf(config, d) === "bar" || typeOf(config, d) === "horizontalBar";
        if (bar && v === null) return;
        if (!skipped && values.some((n) => n === null || n === undefined || !(Number(n) > 0))) {
          problems.push(`dataset "${d.label}" has a missing or non-positive value (at ${i}) on a log axis`);
        }
      });
    }
  }
  return [...new Set(problems)].slice(0, 10);
}

// Every entry of the picked files drawn once, at its own run, with its own value, runs in time
// order: checked for the plots that draw a line per benchmark across runs. A series is a benchmark
// of a suite on a machine, at a process count, on a branch; an entry of the original script (no
// machine) belongs to its suite's machine. A run is named by its time (UTC, to the minute; an entry
// of the original script has only its commit's time) and its short commit; runs of one commit on
// one day (a pipeline run's suites, machines and process counts) share a place.
const perRun = /^(trend|change)(-runs)?$/;
const utcMinute = (iso) => new Date(/[zZ]$|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`).toISOString().slice(0, 16).replace("T", " ");
function expectedSeries(files) {
  const hosts = new Map();
  for (const f of files) for (const e of f.content) if (e.machine?.node && !hosts.has(suiteOf(f))) hosts.set(suiteOf(f), e.machine.node);
  const series = new Map();
  for (const f of files) {
    f.content.forEach((e, order) => {
      const key = [suiteOf(f), e.fullname, e.machine?.node ?? hosts.get(suiteOf(f)) ?? "", e.procs ?? "", e.commit_info?.branch ?? ""].join("|");
      const at = e.datetime ?? e.commit_info?.time;
      if (!series.has(key)) series.set(key, []);
      const exact = at ? new Date(/[zZ]$|[+-]\d\d:?\d\d$/.test(at) ? at : `${at}Z`).toISOString() : "";
      series.get(key).push({ time: at ? utcMinute(at) : "", exact, order, id: (e.commit_info?.id ?? "?").slice(0, 7), median: e.stats.median ?? e.stats.mean });
    });
  }
  return [...series.entries()].map(([key, s]) => ({ key, points: s.sort((a, b) => (a.exact < b.exact ? -1 : a.exact > b.exact ? 1 : a.order - b.order)) }));
}
const unitFactor = (label) => ({ s: 1, ms: 1e3, "µs": 1e6, ns: 1e9 })[/\((s|ms|µs|ns)\b/.exec(label ?? "")?.[1]];
function runProblems(config, selectionFiles) {
  const expected = expectedSeries(selectionFiles);
  const lines = (config.data?.datasets ?? []).filter((d) => typeOf(config, d) === "line" && d.showLine !== false);
  const problems = [];
  // Past 40 benchmarks, the 20 that moved most.
  const shown = expected.length > 40 ? 20 : expected.length;
  if (lines.length !== shown) problems.push(`${lines.length} lines for ${expected.length} benchmarks`);
  const unmatched = [...expected];
  for (const line of lines) {
    const x = axisFor(config, line, "x");
    const labels = labelsFor(config, x);
    const timed = x.type === "time";
    const factor = unitFactor(line.label);
    if (factor === undefined) { problems.push(`line "${line.label}" does not name its unit`); continue; }
    const drawn = (line.data ?? []).flatMap((v, i) => {
      if (v === null || (isPoint(v) && v.y === null)) return [];
      // A point placed by its own label ({x, y}: a line of another branch) or by its index.
      const label = String(isPoint(v) ? v.x : labels[i] ?? "");
      if (isPoint(v)) v = v.y;
      // A time axis' label: "YYYY-MM-DD HH:mm UTC\ncommit subject\n..."; a category's:
      // "[YYYY-]MM-DD HH:mm commit" (the year when the runs span more than one).
      return [timed
        ? { time: label.slice(0, 16), id: (label.split("\n")[1] ?? "").slice(0, 7), value: Number(v) }
        : (([, year, day, time, id]) => ({ year, day, time, id, value: Number(v) }))(/^(\d{4}-)?(\d\d-\d\d)(?: (\d\d:\d\d))? (\w{7})/.exec(label) ?? [])];
    });
    // An entry is at its run's place: one commit measured one day, labelled with the time of the
    // place's first run (suites, machines and process counts of one pipeline run share a place).
    // A category's label gives the day (and the year, and the time where needed).
    const at = (p, d) => (timed ? p.time.slice(0, 10) === d.time.slice(0, 10) && d.time <= p.time
      : p.time.slice(5, 10) === d.day && (!d.year || p.time.startsWith(d.year)) && (!d.time || p.time.slice(11) >= d.time));
    const fits = (s) => s.points.length === drawn.length && s.points.every((p, k) => at(p, drawn[k]) && p.id === drawn[k].id &&
      Math.abs(drawn[k].value - p.median * factor) <= 1e-3 * p.median * factor);
    const k = unmatched.findIndex(fits);
    if (k < 0) { problems.push(`line "${line.label}" does not draw one benchmark's entries, each at its run with its value`); continue; }
    unmatched.splice(k, 1);
    // (A category axis' labels are in time order by construction: "runs" sorts them.)
    const times = drawn.map((p) => p.time);
    if (timed && times.some((t, i) => i > 0 && t < times[i - 1])) problems.push(`line "${line.label}" goes back in time`);
  }
  return problems.slice(0, 10);
}

// The change plot draws each line on its own hidden axis, scaled so that a value lands at its
// percentage of the line's median on the shown axis: the line's axis must span the shown range
// times one baseline, which lies within the line's values.
function changeProblems(config) {
  const problems = [];
  const percent = (config.options?.scales?.yAxes ?? []).find((a) => a.id === "value");
  for (const line of (config.data?.datasets ?? []).filter((d) => typeOf(config, d) === "line" && d.showLine !== false)) {
    const axis = axisFor(config, line, "y");
    const base = axis.ticks?.min / (percent.ticks.min / 100);
    const values = line.data.map((v) => (isPoint(v) ? v.y : v)).filter((v) => v !== null).map(Number);
    if (!(Math.abs(axis.ticks?.max / (percent.ticks.max / 100) - base) <= 1e-9 * base)) problems.push(`line "${line.label}" is not scaled to the % axis`);
    else if (!(base >= Math.min(...values) * 0.999 && base <= Math.max(...values) * 1.001)) problems.push(`line "${line.label}" has a baseline (${base}) outside its values`);
    if (values.some((v) => v < axis.ticks.min || v > axis.ticks.max)) problems.push(`line "${line.label}" has values outside the shown range`);
  }
  return problems.slice(0, 10);
}

// Evaluate, as GPE's plot view does: jsonata(code).evaluate(data), then a JSON copy.
const cases = [];
for (const plot of plots) {
  for (const selection of selections) {
    const c = { plot: plot.name, selection: selection.name, ok: false, versions, entries: selection.files.reduce((n, f) => n + f.content.length, 0) };
    try {
      const config = JSON.parse(JSON.stringify(jsonata(plot.code).evaluate(selection.files)));
      c.config = config;
      c.type = config.type;
      c.datasets = config.data?.datasets?.length ?? 0;
      c.labels = config.data?.labels?.length ?? 0;
      c.problems = problemsOf(config);
      if (perRun.test(plot.name) && c.problems.length === 0) c.problems.push(...runProblems(config, selection.files));
      if (plot.name.startsWith("change") && c.problems.length === 0) c.problems.push(...changeProblems(config));
      c.title = [config.options?.title?.text ?? []].flat().join("\n");
      c.legend = (config.data?.datasets ?? []).map((d) => d.label);
      // Points drawn as single values (lines), not counting gaps.
      c.points = (config.data?.datasets ?? []).filter((d) => typeOf(config, d) === "line" && d.showLine !== false)
        .reduce((n, d) => n + d.data.filter((v) => v !== null && (!isPoint(v) || v.y !== null)).length, 0);
      // Points drawn as marks beside the lines (the gate's verdicts on the change plot).
      c.marked = (config.data?.datasets ?? []).filter((d) => d.type === "scatter").reduce((n, d) => n + d.data.length, 0);
    } catch (e) {
      c.error = `jsonata: ${e.message}`;
    }
    cases.push(c);
  }
}

// Render every evaluated config in Chromium, one canvas each, and read back what happened.
const page = `<!doctype html><html><head><meta charset="utf-8"></head>
<body style="margin:0;background:#fff"><pre id="result"></pre><script src="/moment.js"></script><script src="/chart.js"></script><script>
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
  else if (url.pathname === "/moment.js") { res.setHeader("content-type", "text/javascript"); res.end(momentJs); }
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
// (Not process.exit: it would cut short what is still being written to a pipe.)
process.exitCode = failed ? 1 : 0;
