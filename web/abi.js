// The C ABI of crates/lab (queuelab's core compiled to wasm), as JavaScript functions.
// Shared by the page, its worker and the node tests: qlBind(instance.exports).
(function (g) {
  "use strict";
  g.qlBind = function (x) {
    const enc = new TextEncoder();
    const dec = new TextDecoder();
    function call(fn, text) {
      const bytes = enc.encode(text);
      const ptr = x.ql_alloc(bytes.length);
      new Uint8Array(x.memory.buffer, ptr, bytes.length).set(bytes);
      let len;
      try {
        len = fn(ptr, bytes.length);
      } finally {
        x.ql_free(ptr, bytes.length);
      }
      const out = x.ql_out_ptr();
      return JSON.parse(dec.decode(new Uint8Array(x.memory.buffer, out, len)));
    }
    const version = dec.decode(new Uint8Array(x.memory.buffer, x.ql_version_ptr(), x.ql_version_len()));
    return {
      version,
      // {toml, seed, variant, label} -> {ok, json, base, runs} | {ok: false, errors}
      run: (req) => call(x.ql_run, JSON.stringify(req)),
      // text -> {ok, errors: [{line, column, key, message, allowed, hint, text}]}
      check: (text) => call(x.ql_check, text),
      // {name: text} -> {ok, files}: the data files every later run and check reads
      data: (files) => call(x.ql_data, JSON.stringify(files || {})),
      // text -> {ok, knobs: [{path, kind, value, span, literal, choices}]}
      knobs: (text) => call(x.ql_knobs, text),
      score: (answer, actual, slack) => x.ql_score(answer, actual, slack),
    };
  };
  // One pretty-printed JSON array of pretty-printed JSON values, as serde_json prints a
  // list (each level indents by two spaces): the CLI's output for a file with variants,
  // from the variants run one by one (on several workers).
  g.qlJoinPretty = function (texts) {
    const items = texts.map((t) => t.replace(/\n$/, "").split("\n").map((l) => "  " + l).join("\n"));
    return "[\n" + items.join(",\n") + "\n]\n";
  };
  // The summaries as `queuelab run --format json` prints them, minus wall time.
  g.qlWithoutWall = function strip(v) {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === "object") {
      const o = {};
      for (const k of Object.keys(v)) if (k !== "wall_seconds") o[k] = strip(v[k]);
      return o;
    }
    return v;
  };
})(typeof self !== "undefined" ? self : globalThis);
