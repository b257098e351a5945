// Drives the real Ginkgo Performance Explorer, as deployed (its gh-pages branch: the Angular bundle
// with the jsonata, Chart.js and moment it ships), in headless Chromium: serves the app and a results
// folder from a loopback HTTP server, types the data and plot URLs into GPE's own fields, picks the
// files and then each plot from GPE's own menus, and for each plot measures the main thread's work
// from the pick until the page is quiet and optionally saves a picture of the app.
//
// Usage: node --experimental-websocket scripts/lib/gpe_app.mjs --app GPE_DIR --results DIR
//            --files NAME,NAME... [--plot NAME]... [--png OUTDIR] [--crop plot|app]
//            [--hover X,Y]
//   GPE_DIR holds GPE's gh-pages tree; DIR holds data/ (list.json and histories) and plots/.
//   Prints one JSON object per plot: {"plot", "files", "cpu_ms", "task_ms", "longest_ms",
//   "long_tasks", "error", "png"}, from the pick until the page is quiet: cpu_ms is the CPU time of
//   the page's main thread (Linux /proc; other jobs on the machine do not inflate it), task_ms
//   Chromium's main-thread task time (wall clock), longest_ms its longest task; error is what GPE
//   showed under the plot ("Error generating plot: ..."). --hover moves the mouse to X,Y (pixels of
//   the picture) before each picture, so that it shows a tooltip.
// Needs CHROMIUM (default chromium).
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, resolve } from "node:path";
import { launch } from "./cdp.mjs";

const args = process.argv.slice(2);
const option = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const options = (name) => args.flatMap((a, i) => (a === name ? [args[i + 1]] : []));
const app = option("--app") && resolve(option("--app"));
const results = option("--results") && resolve(option("--results"));
const files = option("--files")?.split(",");
const pngDir = option("--png");
const crop = option("--crop") ?? "plot";
const hover = option("--hover")?.split(",").map(Number);
if (!app || !results || !files) {
  console.error("usage: gpe_app.mjs --app GPE_DIR --results DIR --files NAME,NAME... [--plot NAME]... [--png OUTDIR] [--crop plot|app]");
  process.exit(2);
}
const plots = options("--plot").length > 0
  ? options("--plot")
  : JSON.parse(readFileSync(join(results, "plots/list.json"), "utf8")).map((p) => p.name);

const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json",
  ".png": "image/png", ".svg": "image/svg+xml", ".ico": "image/x-icon", ".ttf": "font/ttf" };
// GPE is built for /gpe/ (its base href); the results are served beside it, as from one host.
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
  const [root, rest] = path.startsWith("/gpe/") ? [app, path.slice(5)] : [results, path.slice(1)];
  let file = normalize(join(root, rest));
  if (!file.startsWith(resolve(root))) { res.statusCode = 403; res.end(); return; }
  if (root === app && (!existsSync(file) || statSync(file).isDirectory())) file = join(app, "index.html");
  if (!existsSync(file) || statSync(file).isDirectory()) { res.statusCode = 404; res.end(); return; }
  res.setHeader("content-type", types[extname(file)] ?? "text/plain");
  res.end(readFileSync(file));
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const base = `http://127.0.0.1:${server.address().port}`;

// Runs in the page: waits, fills and clicks as a user does, through GPE's own DOM.
const helpers = `
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
const until = async (test, what, ms = 60000) => {
  const start = Date.now();
  for (;;) {
    const value = test();
    if (value) return value;
    if (Date.now() - start > ms) throw new Error("GPE: timed out waiting for " + what);
    await sleep(50);
  }
};
const type = (input, value) => {
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true }));
};
const options = () => [...document.querySelectorAll(".cdk-overlay-container mat-option")];
// A mat-select opens only once it has options: click its trigger until the wanted ones show.
const pick = async (select, wanted, what) => {
  const shown = await until(() => {
    const o = options();
    if (o.length === 0) document.querySelector(select).click();
    return wanted.every((w) => o.some((x) => x.textContent.trim() === w)) && o;
  }, what);
  for (const o of shown) if (wanted.includes(o.textContent.trim())) o.click();
  await closeMenu();
};
const closeMenu = async () => {
  document.querySelector(".cdk-overlay-backdrop")?.click();
  await until(() => options().length === 0, "the menu to close");
};
`;

const browser = await launch(process.env.CHROMIUM ?? "chromium");
const page = await browser.page();
await page.call("Performance.enable");
// Long tasks are recorded from the start; the driver reads them after each pick.
await page.call("Page.addScriptToEvaluateOnNewDocument", { source: `
  window.__longTasks = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration]); })
    .observe({ entryTypes: ["longtask"] });` });
const loaded = page.once("Page.loadEventFired");
await page.call("Page.navigate", { url: `${base}/gpe/` });
await loaded;

const taskTime = async () => (await page.call("Performance.getMetrics")).metrics.find((m) => m.name === "TaskDuration").value * 1000;

// The Plot tab, then the data: GPE's data URL field, its fetch button, the files from its menu.
await page.evaluate(`(async () => {${helpers}
  const tab = await until(() => [...document.querySelectorAll(".mat-tab-label")].find((t) => t.textContent.trim() === "Plot"), "the Plot tab");
  tab.click();
  const field = await until(() => document.querySelector("app-data-selector input[name=root_url]"), "the data URL field");
  type(field, ${JSON.stringify(`${base}/data`)});
  field.closest("mat-form-field").querySelector("button").click();
  const wanted = ${JSON.stringify(files)};
  await pick("app-data-selector .mat-select-trigger", wanted, "the data files " + wanted.join(", "));
  const header = document.querySelector("app-plot-selector mat-expansion-panel-header");
  header.click();
  const plots = await until(() => document.querySelector("app-plot-selector input[name=root_url]"), "the plot URL field");
  type(plots, ${JSON.stringify(`${base}/plots`)});
  plots.closest("mat-form-field").querySelector("button").click();
})()`);
// Settled: the main thread did less than 20 ms of work in the last 1.5 s (GPE fetches, evaluates,
// draws, and its editors tokenize in the background).
const quiet = async () => {
  const samples = [];
  for (;;) {
    samples.push([Date.now(), await taskTime()]);
    const past = samples.find(([t]) => t >= samples.at(-1)[0] - 1500);
    if (samples.at(-1)[0] - samples[0][0] >= 1500 && samples.at(-1)[1] - past[1] < 20) return;
    await new Promise((ok) => setTimeout(ok, 250));
  }
};
await quiet();

for (const plot of plots) {
  const before = await taskTime();
  const cpuBefore = await browser.mainThreadCpuMs();
  const firstTask = await page.evaluate("window.__longTasks.length");
  const started = await page.evaluate("performance.now()");
  const result = { plot, files: files.join(",") };
  try {
    await page.evaluate(`(async () => {${helpers}
      await pick("app-plot-selector .mat-select-trigger", [${JSON.stringify(plot)}], "the plot ${plot} in GPE's menu");
    })()`);
    await quiet();
    const longTasks = (await page.evaluate("window.__longTasks")).slice(firstTask).filter(([t]) => t >= started - 1);
    result.task_ms = Math.round((await taskTime()) - before);
    result.cpu_ms = (await browser.mainThreadCpuMs()) - cpuBefore;
    result.long_tasks = longTasks.length;
    result.longest_ms = Math.round(Math.max(0, ...longTasks.map(([, d]) => d)));
    result.error = await page.evaluate(`(() => {
      const card = document.querySelector("app-plot-view mat-card");
      return card ? card.textContent.trim() : null;
    })()`);
    const clip = async () => page.evaluate(`(() => {
      const el = ${crop === "app" ? "document.body" : "document.querySelector('app-plot-view')"};
      const r = el.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    })()`);
    if (pngDir && hover) {
      const box = await clip();
      await page.call("Input.dispatchMouseEvent", { type: "mouseMoved", x: box.x + hover[0], y: box.y + hover[1] });
      await new Promise((ok) => setTimeout(ok, 500));
    }
    if (pngDir) {
      const box = await clip();
      const shot = await page.call("Page.captureScreenshot", { format: "png", clip: { ...box, scale: 1 } });
      mkdirSync(pngDir, { recursive: true });
      result.png = join(pngDir, `${plot}.png`);
      writeFileSync(result.png, Buffer.from(shot.data, "base64"));
    }
  } catch (e) {
    result.error = String(e.message ?? e);
  }
  console.log(JSON.stringify(result));
}
await browser.close();
server.close();
