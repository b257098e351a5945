// Times every plot of a plots folder on one history in headless Chromium with GPE's own versions:
// jsonata's ES5 build (GPE's bundle carries jsonata transpiled to ES5, generators and all), moment
// and Chart.js, each phase as GPE's plot view runs it on the main thread: evaluate, JSON copy,
// `new Chart` on a 760 px panel with GPE's defaults (no animation when the plot says so).
// Usage: node --experimental-websocket scripts/lib/time_plots.mjs PLOTS_DIR HISTORY [REPEAT]
//   Prints one JSON object per plot: {"plot", "evaluate_ms", "copy_ms", "chart_ms", "total_ms",
//   "error"}, medians of REPEAT (default 3) runs.
// Needs GPE_MODULES (node_modules with jsonata, chart.js and moment) and CHROMIUM.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join, resolve } from "node:path";
import { launch } from "./cdp.mjs";

const modules = resolve(process.env.GPE_MODULES ?? resolve(import.meta.dirname, "../../.tools/node_modules"));
const [plotsDir, history, repeat = "3"] = process.argv.slice(2);
const plots = JSON.parse(readFileSync(join(plotsDir, "list.json"), "utf8"))
  .map((p) => ({ name: p.name, code: p.code ?? readFileSync(join(plotsDir, p.file), "utf8") }));
const scripts = {
  "/jsonata.js": join(modules, process.env.GPE_JSONATA ?? "jsonata", "jsonata-es5.min.js"),
  "/moment.js": join(modules, "moment/min/moment.min.js"),
  "/chart.js": join(modules, "chart.js/dist/Chart.min.js"),
  "/history.json": history,
};
const page = `<!doctype html><html><head><meta charset="utf-8">
<script src="/jsonata.js"></script><script src="/moment.js"></script><script src="/chart.js"></script></head>
<body style="margin:0"><div style="position:relative;width:760px;height:700px"><canvas id="c"></canvas></div><script>
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
window.timePlot = async (code, repeat) => {
  const content = await (await fetch("/history.json")).json();
  const files = [{ name: "suite", file: "suite/aggregate.json", content }];
  const runs = [];
  let chart;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    const result = jsonata(code).evaluate(files);
    const t1 = performance.now();
    const config = JSON.parse(JSON.stringify(result));
    const t2 = performance.now();
    if (chart) chart.destroy();
    chart = new Chart(document.getElementById("c"), config);
    const t3 = performance.now();
    runs.push([t1 - t0, t2 - t1, t3 - t2, t3 - t0]);
  }
  const median = (k) => Math.round(runs.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(runs.length / 2)]);
  return { evaluate_ms: median(0), copy_ms: median(1), chart_ms: median(2), total_ms: median(3) };
};
</script></body></html>`;
const server = createServer((req, res) => {
  const path = new URL(req.url, "http://localhost").pathname;
  if (scripts[path]) res.end(readFileSync(scripts[path]));
  else if (path === "/") { res.setHeader("content-type", "text/html"); res.end(page); }
  else { res.statusCode = 404; res.end(); }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const browser = await launch(process.env.CHROMIUM ?? "chromium", { width: 800, height: 800 });
const tab = await browser.page();
const loaded = tab.once("Page.loadEventFired");
await tab.call("Page.navigate", { url: `http://127.0.0.1:${server.address().port}/` });
await loaded;
for (const plot of plots) {
  try {
    const cpu = await browser.mainThreadCpuMs();
    const times = await tab.evaluate(`timePlot(${JSON.stringify(plot.code)}, ${Number(repeat)})`);
    const cpu_ms = Math.round(((await browser.mainThreadCpuMs()) - cpu) / Number(repeat));
    console.log(JSON.stringify({ plot: plot.name, cpu_ms, ...times }));
  } catch (e) {
    console.log(JSON.stringify({ plot: plot.name, error: String(e.message ?? e).split("\n")[0] }));
  }
}
await browser.close();
server.close();
