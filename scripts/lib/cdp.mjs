// A headless Chromium driven over the DevTools protocol (CDP), with no library: Node 20's
// WebSocket (behind --experimental-websocket) talks to the browser, one flattened session per page.
// Used by gpe_app.mjs to click through the real GPE app, time it and take its pictures.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Starts Chromium; resolves to a browser whose `page()` opens a tab to drive. */
export async function launch(chromium, { width = 1920, height = 1080 } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "gpe-cdp-"));
  const child = spawn(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars", "--remote-debugging-port=0",
    `--user-data-dir=${profile}`, `--window-size=${width},${height}`, "about:blank"], { stdio: ["ignore", "ignore", "pipe"] });
  const url = await new Promise((ok, fail) => {
    let err = "";
    const timer = setTimeout(() => fail(new Error(`chromium did not start: ${err.slice(-500)}`)), 30000);
    child.stderr.on("data", (d) => {
      err += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    child.on("exit", (code) => { clearTimeout(timer); fail(new Error(`chromium exited (${code}): ${err.slice(-500)}`)); });
  });
  const socket = new WebSocket(url);
  await new Promise((ok, fail) => { socket.onopen = ok; socket.onerror = () => fail(new Error(`cannot connect to ${url}`)); });
  let next = 0;
  const pending = new Map();
  const listeners = [];
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.id !== undefined) {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) waiter.fail(new Error(`${waiter.method}: ${message.error.message}`));
      else waiter.ok(message.result);
    } else {
      for (const l of listeners) l(message);
    }
  };
  const send = (method, params = {}, sessionId) => new Promise((ok, fail) => {
    const id = ++next;
    pending.set(id, { ok, fail, method });
    socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
  });
  return {
    async page() {
      const { targetId } = await send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
      const call = (method, params) => send(method, params, sessionId);
      await call("Page.enable");
      await call("Runtime.enable");
      await call("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile: false });
      return {
        call,
        /** Resolves on the next event `method` of this page. */
        once: (method) => new Promise((ok) => {
          const l = (m) => { if (m.sessionId === sessionId && m.method === method) { listeners.splice(listeners.indexOf(l), 1); ok(m.params); } };
          listeners.push(l);
        }),
        /** Evaluates an expression in the page (awaiting a promise); throws what the page threw. */
        async evaluate(expression) {
          const r = await call("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true });
          if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
          return r.result.value;
        },
      };
    },
    /** CPU time (ms) the renderers' main threads used so far, from Linux's /proc: unlike wall
     *  time, it does not grow when other jobs share the machine. */
    async mainThreadCpuMs() {
      const { processInfo } = await send("SystemInfo.getProcessInfo");
      let ticks = 0;
      for (const p of processInfo.filter((p) => p.type === "renderer")) {
        try {
          // Fields after the command name: state is the 3rd, utime the 14th, stime the 15th.
          const fields = readFileSync(`/proc/${p.id}/task/${p.id}/stat`, "utf8").split(") ")[1].split(" ");
          ticks += Number(fields[11]) + Number(fields[12]);
        } catch { /* a renderer that ended */ }
      }
      return ticks * 10;
    },
    async close() {
      const exited = new Promise((ok) => (child.exitCode !== null ? ok() : child.on("exit", ok)));
      // Asked to close, Chromium ends its helper processes before it exits.
      await send("Browser.close").catch(() => child.kill());
      await exited;
      socket.close();
      // Chromium's helper processes may still be writing to the profile for a moment.
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
}
