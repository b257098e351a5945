// Evaluates GPE plots the way GPE does and renders them with its own stack: jsonata 1.8 on
// [{"name", "file", "content"}], the result handed as-is to Chart.js 2.9's `new Chart(canvas, ...)`
// in headless Chromium, served from a loopback HTTP server started here.
//
// Usage: node scripts/lib/gpe.mjs --data DIR --plots DIR [--history NAME=FILE]... [--png OUTDIR]
//   Evaluates every plot of DIR/list.json on each data file alone, on all of them together and on
//   each --history file, renders each result and prints one JSON object per line:
//   {"plot", "selection", "ok", "error", "type", "datasets", "labels", "points", "entries", "painted", "png"}.
//   Exits 1 when any plot fails to evaluate, to render, or draws nothing.
// Needs GPE_MODULES (folder holding node_modules with jsonata and chart.js) and CHROMIUM.
import { spawnSync } from "node:child_process";
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
  console.error("usage: gpe.mjs --data DIR --plots DIR [--history NAME=FILE]... [--png OUTDIR]");
  process.exit(2);
}

const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));
const dataList = readJson(join(dataDir, "list.json"));
const files = dataList.map((e) => ({ name: e.name, file: e.file, content: readJson(join(dataDir, e.file)) }));
const selections = [
  ...files.map((f) => ({ name: f.name, files: [f] })),
  ...(files.length > 1 ? [{ name: "all suites", files }] : []),
  ...options("--history").map((spec) => {
    const [name, path] = spec.split("=");
    // As GPE would see it in a data folder: SUITE/aggregate.json.
    return { name, files: [{ name, file: `${name}/aggregate.json`, content: readJson(path) }] };
  }),
];
const plots = readJson(join(plotsDir, "list.json")).map((p) => ({ ...p, code: p.code ?? readFileSync(join(plotsDir, p.file), "utf8") }));

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
      // Every dataset has one value (or [low, high] pair, or null) per label.
      const misfit = (config.data?.datasets ?? []).find((d) => c.labels > 0 && (d.data?.length ?? 0) !== c.labels);
      if (misfit) throw new Error(`dataset "${misfit.label}" has ${misfit.data?.length} values for ${c.labels} labels`);
      // Points drawn as single values (lines, plain bars), not counting null gaps or ranges.
      c.points = (config.data?.datasets ?? []).filter((d) => (d.type ?? config.type) === "line")
        .reduce((n, d) => n + d.data.filter((v) => v !== null && typeof v === "number").length, 0);
    } catch (e) {
      c.error = c.config ? `config: ${e.message}` : `jsonata: ${e.message}`;
    }
    cases.push(c);
  }
}

// Render every evaluated config in Chromium, one canvas each, and read back what happened.
const page = `<!doctype html><html><head><meta charset="utf-8"><script src="/chart.js"></script></head>
<body style="margin:0;background:#fff"><pre id="result"></pre><script>
const results = [];
window.addEventListener("error", (e) => results.push({ index: -1, error: String(e.message) }));
fetch("/configs.json").then((r) => r.json()).then((configs) => {
  const only = new URLSearchParams(location.search).get("only");
  configs.forEach((config, index) => {
    if (only !== null && String(index) !== only) return;
    const canvas = document.createElement("canvas");
    canvas.width = 1000; canvas.height = 560;
    const box = document.createElement("div");
    box.style.cssText = "width:1000px;height:560px";
    box.appendChild(canvas);
    document.body.appendChild(box);
    try {
      Chart.defaults.global.animation = false;
      Chart.defaults.global.responsive = false;
      new Chart(canvas.getContext("2d"), config);
      const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
      results.push({ index, painted });
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
const run = (extra, url) => new Promise((ok) => {
  // Chromium is spawned asynchronously: this process must keep serving while it loads.
  import("node:child_process").then(({ spawn }) => {
    const child = spawn(chromium, [...chromiumArgs, ...extra, url], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => ok({ code, out, err }));
    child.on("error", (e) => ok({ code: -1, out, err: String(e) }));
  });
});

if (rendered.length > 0) {
  const dom = await run(["--dump-dom"], base);
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
    }
  }
  if (pngDir) {
    mkdirSync(pngDir, { recursive: true });
    for (const [index, c] of rendered.entries()) {
      const png = join(pngDir, `${c.plot} - ${c.selection}.png`.replace(/[/\\]/g, "_"));
      await run([`--screenshot=${png}`, "--window-size=1000,560", "--hide-scrollbars"], `${base}?only=${index}`);
      c.png = png;
    }
  }
}
server.close();
rmSync(profile, { recursive: true, force: true });

let failed = 0;
for (const c of cases) {
  c.ok = !c.error && c.datasets > 0 && (c.painted ?? 0) > 1000;
  if (!c.ok) { failed++; c.error ??= c.datasets > 0 ? "the canvas stayed empty" : "no dataset"; }
  delete c.config;
  console.log(JSON.stringify(c));
}
process.exit(failed ? 1 : 0);
