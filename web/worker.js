// The run worker: instantiates the core's wasm from the module the page sends, then runs
// one request at a time. The page terminates a busy worker when a newer run supersedes it.
"use strict";
let ql = null;
self.onmessage = (e) => {
  const m = e.data;
  if (m.type === "init") {
    const inst = new WebAssembly.Instance(m.module, {});
    ql = self.qlBind(inst.exports);
    self.postMessage({ type: "ready" });
  } else if (m.type === "run") {
    const t0 = performance.now();
    let result;
    try {
      result = ql.run(m.req);
    } catch (err) {
      result = { ok: false, errors: [{ message: String(err), text: String(err) }] };
    }
    self.postMessage({ type: "result", id: m.id, result, ms: performance.now() - t0 });
  }
};
