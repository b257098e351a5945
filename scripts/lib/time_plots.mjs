// Times jsonata 1.8's evaluation of every plot of a plots folder on one history, as GPE evaluates
// it: jsonata(code).evaluate([{"name", "file", "content"}]) followed by GPE's JSON copy.
// Usage: node scripts/lib/time_plots.mjs PLOTS_DIR HISTORY [REPEAT]
//   Prints one JSON object per plot: {"plot", "wall_ms", "cpu_ms"}, medians of REPEAT (default 3)
//   evaluations; cpu_ms is the process' user+system time, which other jobs on the machine inflate less.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const modules = resolve(process.env.GPE_MODULES ?? resolve(import.meta.dirname, "../../.tools/node_modules"));
const jsonata = createRequire(join(modules, "noop.js"))("jsonata");
const [plotsDir, history, repeat = "3"] = process.argv.slice(2);
const files = [{ name: "suite", file: "suite/aggregate.json", content: JSON.parse(readFileSync(history, "utf8")) }];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const plot of JSON.parse(readFileSync(join(plotsDir, "list.json"), "utf8"))) {
  const code = readFileSync(join(plotsDir, plot.file), "utf8");
  const wall = [], cpu = [];
  for (let i = 0; i < Number(repeat); i++) {
    const started = performance.now(), cpu0 = process.cpuUsage();
    JSON.parse(JSON.stringify(jsonata(code).evaluate(files)));
    const used = process.cpuUsage(cpu0);
    wall.push(performance.now() - started);
    cpu.push((used.user + used.system) / 1000);
  }
  console.log(JSON.stringify({ plot: plot.name, wall_ms: Math.round(median(wall)), cpu_ms: Math.round(median(cpu)) }));
}
