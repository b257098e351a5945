// Lints GitLab CI files as far as can be done offline: the YAML parses; every top-level key is a
// global keyword or a job; every job keyword is one GitLab documents; `extends` names a job or
// template of the file; `rules` are lists of known rule clauses; scripts are strings, and each
// job's before_script + script passes `bash -n`; `$NAME` variables used are GitLab's predefined
// ones, the job's own, or declared in the header comment of the file. Exits 1 on findings.
// With `--shown-in DOC`, each file must also appear in DOC verbatim (the README shows it).
// Usage: node scripts/lib/gitlab-lint.mjs [--shown-in DOC] FILE...   (ACTIONLINT_MODULE: the
// node_modules holding js-yaml)
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(process.env.ACTIONLINT_MODULE ?? import.meta.url);
const yaml = require("js-yaml");

// https://docs.gitlab.com/ci/yaml/ (global keywords and job keywords).
const GLOBAL = new Set(["default", "include", "stages", "variables", "workflow", "spec"]);
const JOB = new Set([
  "after_script", "allow_failure", "artifacts", "before_script", "cache", "coverage", "dast_configuration",
  "dependencies", "environment", "extends", "hooks", "identity", "id_tokens", "image", "inherit",
  "interruptible", "manual_confirmation", "needs", "pages", "parallel", "release", "resource_group", "retry", "rules",
  "run", "script", "secrets", "services", "stage", "tags", "timeout", "trigger", "variables", "when",
]);
const RULE = new Set(["if", "changes", "exists", "when", "allow_failure", "needs", "variables", "interruptible"]);
const ARTIFACTS = new Set(["paths", "exclude", "expire_in", "expose_as", "name", "public", "access", "reports", "untracked", "when"]);
// The predefined variables the examples use (https://docs.gitlab.com/ci/variables/predefined_variables/).
const PREDEFINED = new Set([
  "CI_COMMIT_BRANCH", "CI_COMMIT_REF_NAME", "CI_COMMIT_SHA", "CI_DEFAULT_BRANCH", "CI_JOB_URL",
  "CI_MERGE_REQUEST_IID", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "CI_PIPELINE_SOURCE", "CI_PROJECT_URL",
  "CI_RUNNER_DESCRIPTION", "CI_API_V4_URL", "CI_PROJECT_ID", "PWD",
]);

let findings = 0;
const report = (file, where, message) => {
  console.error(`${file}: ${where}: ${message}`);
  findings += 1;
};
const lines = (value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

const args = process.argv.slice(2);
const doc = args[0] === "--shown-in" ? args.splice(0, 2)[1] : null;
for (const file of args) {
  const text = readFileSync(file, "utf8");
  if (doc && !readFileSync(doc, "utf8").includes(text)) report(file, doc, "not shown there verbatim; copy the file into it");
  let config;
  try {
    config = yaml.load(text);
  } catch (e) {
    report(file, `line ${(e.mark?.line ?? 0) + 1}`, e.reason ?? e.message);
    continue;
  }
  // Variables the file's header asks the user to define.
  const declared = new Set([...text.matchAll(/^#.*?\b([A-Z][A-Z0-9_]{3,})\b/gm)].map((m) => m[1]));
  for (const [name, job] of Object.entries(config ?? {})) {
    if (GLOBAL.has(name)) continue;
    if (typeof job !== "object" || job === null || Array.isArray(job)) {
      report(file, name, "a job must be a mapping");
      continue;
    }
    for (const key of Object.keys(job)) {
      if (!JOB.has(key)) report(file, name, `unknown job keyword "${key}"`);
    }
    for (const parent of lines(job.extends)) {
      if (!(parent in config)) report(file, name, `extends "${parent}", which the file does not define`);
    }
    for (const [i, rule] of lines(job.rules).entries()) {
      for (const key of Object.keys(rule ?? {})) {
        if (!RULE.has(key)) report(file, `${name}.rules[${i}]`, `unknown rule clause "${key}"`);
      }
    }
    for (const key of Object.keys(job.artifacts ?? {})) {
      if (!ARTIFACTS.has(key)) report(file, `${name}.artifacts`, `unknown keyword "${key}"`);
    }
    const chain = [job];
    for (let p = job.extends; p && config[p]; p = config[p].extends) chain.push(config[p]);
    const variables = new Set(chain.flatMap((j) => Object.keys(j.variables ?? {})));
    const scripts = ["before_script", "script", "after_script"].flatMap((k) =>
      lines(chain.find((j) => j[k] !== undefined)?.[k]));
    for (const line of scripts) {
      if (typeof line !== "string") report(file, name, `a script line is not a string: ${JSON.stringify(line)}`);
    }
    if (!name.startsWith(".") && scripts.length > 0) {
      const shell = spawnSync("bash", ["-n"], { input: scripts.join("\n") + "\n", encoding: "utf8" });
      if (shell.status !== 0) report(file, name, `bash -n: ${shell.stderr.trim()}`);
    }
    const used = [...JSON.stringify([job.rules ?? [], scripts]).matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
    for (const variable of used) {
      const known = PREDEFINED.has(variable) || variables.has(variable) || declared.has(variable) || /^[a-z_]+$/.test(variable);
      if (!known) report(file, name, `$${variable} is neither predefined by GitLab nor defined here`);
    }
  }
}
console.error(`gitlab-lint: ${args.length} files, ${findings} findings`);
process.exit(findings === 0 ? 0 : 1);
