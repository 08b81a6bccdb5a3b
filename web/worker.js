// The run worker: instantiates the core's wasm from the module the page sends, then runs
// one request at a time. The page terminates a busy worker when a newer run supersedes it.
"use strict";
let ql = null;
self.onmessage = (e) => {
  const m = e.data;
  if (m.type === "init") {
    const inst = new WebAssembly.Instance(m.module, {});
    ql = self.qlBind(inst.exports);
    ql.data(m.data);
    self.postMessage({ type: "ready" });
  } else if (m.type === "run") {
    const t0 = performance.now();
    let result;
    try {
      result = ql.run(m.req);
    } catch (err) {
      result = { ok: false, errors: [{ message: String(err), text: String(err) }] };
    }
    // The time series travel as Float64Arrays (NaN for an empty percentile), transferred
    // rather than copied: the page's main thread does not rebuild thousands of arrays.
    const transfer = [];
    if (result.ok) {
      for (const run of result.runs) {
        for (const k of Object.keys(run.series)) {
          const a = Float64Array.from(run.series[k], (v) => (v == null ? NaN : v));
          run.series[k] = a;
          transfer.push(a.buffer);
        }
        for (const k of ["e2e_cdf", "client_cdf"]) {
          const pts = run[k];
          const x = Float64Array.from(pts, (p) => p[0]);
          const y = Float64Array.from(pts, (p) => p[1]);
          run[k] = { x, y };
          transfer.push(x.buffer, y.buffer);
        }
      }
    }
    self.postMessage({ type: "result", id: m.id, result, ms: performance.now() - t0 }, transfer);
  }
};
