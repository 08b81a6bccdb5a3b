// queuelab lab: the page. The core (wasm) checks, finds the knobs and runs; this file
// draws. One worker runs at a time; a newer run terminates a busy worker (supersedes it).
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v !== false && v != null) e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of kids) if (c != null) e.append(c);
    return e;
  };
  // Okabe-Ito: distinguishable with the common colour-vision deficiencies; dashes as well.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"];
  const DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3], [4, 4], [1, 2], [12, 6], [6, 2]];
  // Disturbance windows by their `kind` (the core's recovery kinds); each carries its label.
  const KIND_FILL = { spike: "rgba(230,159,0,0.16)", outage: "rgba(213,94,0,0.16)", slowdown: "rgba(240,228,66,0.22)", deploy: "rgba(204,121,167,0.18)", restart: "rgba(86,180,233,0.16)" };

  const LESSONS = JSON.parse($("ql-lessons").textContent);
  // The lessons' data files (name as the scenarios write it -> text), given to every engine
  // instance: a lesson on real data, a share link of one or an edited copy all find them.
  const DATA = Object.assign({}, ...LESSONS.map((l) => l.data || {}));
  const state = {
    ql: null, module: null, gen: 0,
    toml: "", label: "scenario.toml", lessonIndex: -1, seed: null, variant: null, variants: [],
    result: null, origin: {}, knobs: [], charts: [], cdf: null, pb: { i: 0, playing: false, raf: 0, last: 0, acc: 0 },
    embed: false, firstFigures: null,
  };
  window.queuelab = { version: "", ready: null, timings: {} };
  const t0 = performance.now();

  // ------------------------------------------------------------------ engine
  function b64bytes(text) {
    const bin = atob(text.trim());
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  async function boot() {
    state.module = await WebAssembly.compile(b64bytes($("ql-wasm").textContent));
    const inst = await WebAssembly.instantiate(state.module, {});
    state.ql = window.qlBind(inst.exports);
    state.ql.data(DATA);
    window.queuelab.version = state.ql.version;
    $("version").textContent = state.ql.version;
    window.queuelab.timings.script_start_ms = t0;
    window.queuelab.timings.engine_ready_ms = performance.now();
  }
  const workerUrl = URL.createObjectURL(new Blob([$("ql-worker").textContent], { type: "text/javascript" }));
  function newWorker() {
    const w = new Worker(workerUrl);
    w.postMessage({ type: "init", module: state.module, data: DATA });
    return w;
  }
  // A run for the page. A new scenario, seed or variant supersedes any run in progress
  // (its busy workers are terminated). A knob being dragged does not: the run in progress
  // finishes and is drawn, and only the newest of the values asked for meanwhile runs
  // next, so a drag re-runs continuously. The variants of a file run side by side on a
  // pool of workers, one variant each, and are put together as the CLI prints them.
  let pool = [];
  let inFlight = false, pending = false;
  function requestRun(coalesce) {
    if (coalesce && inFlight) { pending = true; return; }
    pending = false;
    inFlight = true;
    const gen = ++state.gen;
    for (const slot of pool) if (slot.busy) slot.w.terminate();
    pool = pool.filter((slot) => !slot.busy);
    const names = state.variant ? [state.variant] : (state.variants.length ? state.variants : [null]);
    const jobs = names.map((v) => ({ toml: state.toml, seed: state.seed, variant: v, label: state.label }));
    const size = Math.min(jobs.length, Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2)));
    while (pool.length < size) pool.push({ w: newWorker(), busy: false });
    const results = new Array(jobs.length);
    let next = 0, done = 0, failed = false;
    const began = performance.now();
    setStatus("Running…", "busy");
    const feed = (slot) => {
      if (next >= jobs.length || failed) return;
      const j = next++;
      slot.busy = true;
      slot.w.onmessage = (e) => {
        if (e.data.type !== "result") return;
        slot.busy = false;
        if (gen !== state.gen) return;
        const r = e.data.result;
        window.queuelab.timings.first_result_ms ??= performance.now();
        if (r.ok) for (const run of r.runs) for (const k of Object.keys(run.series)) {
          const a = run.series[k];
          if (a.some(Number.isNaN)) run.series[k] = Array.from(a, (v) => (Number.isNaN(v) ? null : v));
        }
        if (!r.ok) { failed = true; finished(r, 0); return; }
        results[j] = r;
        const side = !state.variant && state.variants.length > 0;
        if (++done === jobs.length) finished(assemble(results, side), performance.now() - began);
        else feed(slot);
      };
      slot.w.postMessage({ type: "run", id: gen, req: jobs[j] });
    };
    pool.slice(0, size).forEach(feed);
  }
  function finished(r, ms) {
    inFlight = false;
    onResult(r, ms);
    if (pending) requestRun(false);
  }
  function assemble(results, sideBySide) {
    if (!sideBySide) return results[0];
    return {
      ok: true,
      json: window.qlJoinPretty(results.map((r) => r.json)),
      estimated_events: results.reduce((a, r) => a + r.estimated_events, 0),
      base: { ...results[0].base, variants: state.variants.slice() },
      runs: results.flatMap((r) => r.runs),
    };
  }
  // window.queuelab.run / check: a worker of their own, one request at a time, in order.
  let apiWorker = null, apiNext = 1;
  const apiPending = new Map();
  function apiRun(req) {
    if (!apiWorker) {
      apiWorker = newWorker();
      apiWorker.onmessage = (e) => {
        if (e.data.type !== "result") return;
        const p = apiPending.get(e.data.id);
        apiPending.delete(e.data.id);
        if (p) p(e.data.result);
      };
    }
    const id = apiNext++;
    return new Promise((resolve) => {
      apiPending.set(id, resolve);
      apiWorker.postMessage({ type: "run", id, req });
    });
  }
  window.queuelab.run = async (toml, opts) => {
    await window.queuelab.ready;
    const o = opts || {};
    const r = await apiRun({ toml: String(toml), seed: o.seed ?? null, variant: o.variant ?? null, label: o.label ?? "scenario.toml" });
    if (!r.ok) {
      const err = new Error(r.errors.map((e) => e.text || e.message).join("\n"));
      err.errors = r.errors;
      throw err;
    }
    return window.qlWithoutWall(JSON.parse(r.json));
  };
  // For tests: every knob of `toml` set to both ends of its slider (or each choice),
  // written back as the page writes it: [path, literal, the file with it].
  window.queuelab.knobEnds = async (toml) => {
    await window.queuelab.ready;
    const out = [];
    for (const k of state.ql.knobs(toml).knobs) {
      const r = range(k, k.value);
      const values = k.kind === "enum" ? k.choices : k.kind === "bool" ? [true, false]
        : [fromSlider(r, r.log ? 0 : r.lo), fromSlider(r, r.log ? STEPS : r.hi)];
      for (const v of values) {
        const lit = k.kind === "enum" ? JSON.stringify(v) : literal(k, v);
        out.push([k.path, lit, toml.slice(0, k.span[0]) + lit + toml.slice(k.span[1])]);
      }
    }
    return out;
  };
  window.queuelab.check = async (toml) => {
    await window.queuelab.ready;
    return state.ql.check(String(toml)).errors;
  };

  function setStatus(text, cls) {
    const s = $("status");
    s.textContent = text;
    s.className = "status" + (cls ? " " + cls : "");
  }

  // ------------------------------------------------------------------ formatting
  function human(secs) {
    if (secs == null || !isFinite(secs)) return "–";
    const a = Math.abs(secs);
    if (a === 0) return "0s";
    if (a < 1e-3) return (secs * 1e6).toFixed(0) + "µs";
    if (a < 1) return (secs * 1e3).toFixed(0) + "ms";
    if (a < 60) return secs.toFixed(2) + "s";
    if (a < 3600) { const m = Math.floor(secs / 60); return m + "m " + String(Math.floor(secs - 60 * m)).padStart(2, "0") + "s"; }
    const h = Math.floor(secs / 3600);
    return h + "h " + String(Math.floor((secs - 3600 * h) / 60)).padStart(2, "0") + "m";
  }
  function num(x) {
    if (x == null || !isFinite(x)) return "–";
    const a = Math.abs(x);
    if (a >= 1e4) return Math.round(x).toLocaleString("en");
    if (a >= 100) return x.toFixed(0);
    if (a >= 1) return x.toFixed(2).replace(/\.?0+$/, "");
    if (a === 0) return "0";
    return x.toPrecision(3);
  }
  function axisNum(x) {
    if (x == null) return "";
    const a = Math.abs(x);
    if (a >= 1e6) return +(x / 1e6).toPrecision(3) + "M";
    if (a >= 1e4) return +(x / 1e3).toPrecision(3) + "k";
    return num(x);
  }
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

  // ------------------------------------------------------------------ lessons and editor
  function fillLessons() {
    const sel = $("lesson");
    LESSONS.forEach((l, i) => {
      const name = l.file.replace(/^scenarios\//, "");
      sel.append(el("option", { value: String(i), text: (l.lesson ? l.lesson + " — " : "") + name }));
    });
    sel.append(el("option", { value: "own", text: "Write your own (edit the TOML below)" }));
    sel.addEventListener("change", () => {
      if (sel.value === "own") { $("toml").focus(); return; }
      loadLesson(Number(sel.value));
    });
  }
  function loadLesson(i) {
    const l = LESSONS[i];
    state.lessonIndex = i;
    $("lesson").value = String(i);
    state.seed = null;
    $("seed").value = "";
    state.variant = null;
    setScenario(l.toml, l.file, true);
  }
  // A new scenario text from the lesson picker, a share link or the editor.
  function setScenario(text, label, fresh, coalesce) {
    const began = performance.now();
    try { scenarioChanged(text, label, fresh, coalesce); } finally {
      const t = window.queuelab.timings;
      t.edit_ms_max = Math.max(t.edit_ms_max || 0, performance.now() - began);
    }
  }
  function scenarioChanged(text, label, fresh, coalesce) {
    state.toml = text;
    state.label = label || "scenario.toml";
    if ($("toml").value !== text) $("toml").value = text;
    renderGutter();
    const c = state.ql.check(text);
    showErrors(c);
    if (c.ok) state.variants = c.variants;
    if (fresh) {
      state.origin = {};
      fillVariants(c.ok ? c.variants : []);
    } else if (c.ok) {
      syncVariants(c.variants);
    }
    updateCli();
    // The run starts first: the workers simulate while this thread finds the knobs.
    if (c.ok) requestRun(!!coalesce);
    else setStatus("The scenario has an error: see the editor.", "bad");
    refreshKnobs(fresh);
  }
  function fillVariants(names) {
    const sel = $("variant");
    sel.replaceChildren(el("option", { value: "", text: names.length ? "all, side by side" : "(no variants)" }));
    for (const n of names) sel.append(el("option", { value: n, text: n }));
    if (state.variant && names.includes(state.variant)) sel.value = state.variant;
    else { state.variant = null; sel.value = ""; }
  }
  function syncVariants(names) {
    const have = [...$("variant").options].slice(1).map((o) => o.value);
    if (have.join("\n") !== names.join("\n")) fillVariants(names);
  }
  let gutterSig = "";
  function renderGutter(errLine) {
    const n = state.toml.split("\n").length;
    const g = $("gutter");
    const sig = n + ":" + (errLine || 0);
    if (sig === gutterSig) { g.scrollTop = $("toml").scrollTop; return; }
    gutterSig = sig;
    g.replaceChildren();
    for (let i = 1; i <= n; i++) {
      const s = el("span", { class: i === errLine ? "err" : null, text: String(i) });
      g.append(s, "\n");
    }
    g.scrollTop = $("toml").scrollTop;
  }
  function showErrors(c) {
    const box = $("errors");
    box.replaceChildren();
    if (c.ok) { renderGutter(); return; }
    for (const e of c.errors) {
      const where = e.line ? `line ${e.line}, column ${e.column}` : (e.file || "");
      const head = el("p", {}, el("strong", { text: `Error at ${where}` }), e.key ? ` (key ${e.key})` : "", ": ", e.message);
      box.append(head);
      if (e.allowed) box.append(el("p", {}, el("strong", { text: "Allowed: " }), e.allowed));
      if (e.hint) box.append(el("p", {}, el("strong", { text: "Hint: " }), e.hint));
      box.append(el("pre", { text: e.text }));
      if (e.line) {
        box.append(el("button", { type: "button", text: `Go to line ${e.line}`, onclick: () => goTo(e.line, e.column) }));
        renderGutter(e.line);
      }
    }
  }
  function goTo(line, col) {
    const ta = $("toml");
    const lines = ta.value.split("\n");
    let pos = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i].length + 1;
    ta.focus();
    ta.setSelectionRange(pos + Math.max(0, (col || 1) - 1), pos + (lines[line - 1] || "").length);
    ta.scrollTop = Math.max(0, (line - 5) * 1.35 * 12.8);
  }
  let editTimer = 0;
  function onEdit() {
    clearTimeout(editTimer);
    editTimer = setTimeout(() => {
      setScenario($("toml").value, state.label, false);
    }, 200);
  }

  // ------------------------------------------------------------------ knobs
  const INT_MIN1 = /(count|partitions|max_attempts|attempts|min|max|prefetch|batch|groups)$/;
  function range(k, origin) {
    const v = origin;
    const key = k.path.split(".").pop();
    if (k.kind === "int") {
      const lo = INT_MIN1.test(key) ? 1 : 0;
      if (v >= 50) return { log: true, lo: Math.max(lo, 1, Math.round(v / 10)), hi: Math.round(v * 10) };
      return { log: false, lo, hi: Math.max(2 * v, v + 10), step: 1 };
    }
    if (k.kind === "float") {
      const isRate = key === "rate" && k.path.startsWith("producers");
      if (!isRate && v >= 0 && v <= 1) return { log: false, lo: 0, hi: 1, step: 0.001 };
      if (v > 0) return { log: true, lo: v / 10, hi: v * 10 };
      return { log: false, lo: 0, hi: 10, step: 0.01 };
    }
    if (k.kind === "duration") {
      if (v > 0) return { log: true, lo: v / 10, hi: v * 10 };
      return { log: false, lo: 0, hi: 60, step: 0.1 };
    }
    return null;
  }
  const STEPS = 1000;
  const toSlider = (r, x) => r.log ? Math.round(STEPS * Math.log(x / r.lo) / Math.log(r.hi / r.lo)) : x;
  const fromSlider = (r, p) => r.log ? r.lo * Math.pow(r.hi / r.lo, p / STEPS) : p;
  function durationLiteral(s) {
    if (s === 0) return '"0s"';
    if (s < 1e-3) return `"${+(s * 1e6).toPrecision(3)}us"`;
    if (s < 1) return `"${+(s * 1e3).toPrecision(3)}ms"`;
    if (s < 600) return `"${+s.toPrecision(3)}s"`;
    return `"${Math.round(s)}s"`;
  }
  function floatLiteral(x) {
    const t = String(+x.toPrecision(4));
    return /[.eE]/.test(t) ? t : t + ".0";
  }
  function literal(k, x) {
    if (k.kind === "int") return String(Math.round(x));
    if (k.kind === "float") return floatLiteral(x);
    if (k.kind === "duration") return durationLiteral(x);
    if (k.kind === "bool") return x ? "true" : "false";
    return JSON.stringify(String(x));
  }
  function shown(k, x) {
    if (k.kind === "duration") return human(x);
    if (k.kind === "int") return Math.round(x).toLocaleString("en");
    if (k.kind === "float") return String(+x.toPrecision(4));
    return String(x);
  }
  // Writes a knob's value into the TOML at its span and re-runs. The text is not parsed
  // again on the main thread: the spans after the knob move by the change in length, and
  // the worker's run checks the file (its errors come back like the editor's). Input
  // events are applied once per animation frame, the newest winning.
  let knobFrame = 0;
  const knobQueue = new Map();
  function writeKnob(path, text) {
    knobQueue.set(path, text);
    if (!knobFrame) knobFrame = requestAnimationFrame(applyKnobs);
  }
  function applyKnobs() {
    knobFrame = 0;
    const began = performance.now();
    let t = state.toml;
    for (const [path, text] of knobQueue) {
      const k = state.knobs.find((q) => q.path === path);
      if (!k) continue;
      const [a, b] = k.span;
      t = t.slice(0, a) + text + t.slice(b);
      const delta = text.length - (b - a);
      for (const q of state.knobs) if (q.span[0] >= b) { q.span[0] += delta; q.span[1] += delta; }
      k.span[1] = a + text.length;
      k.literal = text;
    }
    knobQueue.clear();
    state.toml = t;
    $("toml").value = t;
    $("errors").replaceChildren();
    updateCli();
    requestRun(true);
    const tm = window.queuelab.timings;
    tm.knob_ms_max = Math.max(tm.knob_ms_max || 0, performance.now() - began);
  }
  function refreshKnobs(rebuild) {
    const k = state.ql.knobs(state.toml);
    if (!k.ok) return;
    const paths = k.knobs.map((q) => q.path).join("\n");
    const same = paths === state.knobs.map((q) => q.path).join("\n");
    state.knobs = k.knobs;
    for (const q of k.knobs) if (!(q.path in state.origin)) state.origin[q.path] = q.value;
    if (rebuild || !same) buildKnobs();
    else for (const q of k.knobs) {
      const out = document.querySelector(`output[data-knob="${CSS.escape(q.path)}"]`);
      if (out) out.textContent = shown(q, q.value);
    }
  }
  function buildKnobs() {
    const list = $("knob-list");
    list.replaceChildren();
    let group = "";
    state.knobs.forEach((k, idx) => {
      const g = k.path.split(".")[0];
      if (g !== group) { group = g; list.append(el("div", { class: "knob-group", text: g })); }
      const id = "knob-" + idx;
      const box = el("div", { class: "knob" });
      box.append(el("label", { for: id, text: k.path }));
      if (k.kind === "bool") {
        const c = el("input", { id, type: "checkbox", "data-path": k.path });
        c.checked = !!k.value;
        c.addEventListener("change", () => writeKnob(k.path, c.checked ? "true" : "false"));
        box.append(c, el("output", { "data-knob": k.path, text: String(k.value) }));
      } else if (k.kind === "enum") {
        const s = el("select", { id, "data-path": k.path });
        for (const ch of k.choices) s.append(el("option", { value: ch, text: ch }));
        s.value = k.value;
        s.addEventListener("change", () => writeKnob(k.path, JSON.stringify(s.value)));
        box.append(s, el("span"));
      } else {
        const r = range(k, state.origin[k.path]);
        const s = el("input", { id, type: "range", "data-path": k.path,
          min: r.log ? 0 : r.lo, max: r.log ? STEPS : r.hi, step: r.log ? 1 : r.step });
        s.value = String(toSlider(r, k.value));
        const out = el("output", { "data-knob": k.path, for: id, text: shown(k, k.value) });
        s.addEventListener("input", () => {
          const x = fromSlider(r, Number(s.value));
          out.textContent = shown(k, k.kind === "int" ? Math.round(x) : x);
          writeKnob(k.path, literal(k, x));
        });
        box.append(s, out);
      }
      list.append(box);
    });
    if (!state.knobs.length) list.append(el("p", { class: "muted", text: "No numbers in this scenario to turn." }));
  }

  // ------------------------------------------------------------------ results
  // Drawing a result is cut into steps, one task each, so that no frame waits for all of
  // it; a newer result abandons the steps of an older one.
  let renderSeq = 0;
  const nextTask = () => new Promise((res) => setTimeout(res, 0));
  async function onResult(r, ms) {
    const seq = ++renderSeq;
    const tm = window.queuelab.timings;
    if (!r.ok) {
      showErrors(r);
      setStatus("The run was refused: see the editor.", "bad");
      return;
    }
    state.result = r;
    setStatus(`Ran ${r.runs.length} run${r.runs.length > 1 ? "s" : ""} of ${human(r.base.duration)} simulated in ${(ms / 1000).toFixed(2)} s.`);
    tm.last_run_ms = ms;
    const steps = [...chartSteps(r), () => {
      if (state.firstFigures == null) {
        // From the start of navigation (opening the file) to the charts drawn.
        state.firstFigures = performance.now();
        tm.first_figures_ms = state.firstFigures;
      }
    }, () => renderLesson(r), () => renderFigures(r), () => setupPlayback(r), () => renderTheory(r), () => renderFindings(r), () => renderCdf(r), () => renderQuiz(r)];
    for (const step of steps) {
      if (seq !== renderSeq) return;
      const began = performance.now();
      step();
      tm.render_step_ms_max = Math.max(tm.render_step_ms_max || 0, performance.now() - began);
      await nextTask();
    }
    window.queuelab.lastRun = { gen: state.gen, at: performance.now() };
    document.body.dataset.runs = String(state.gen);
  }
  function renderLesson(r) {
    $("lesson-title").textContent = r.base.name;
    $("lesson-description").textContent = r.base.description;
    const t = r.base.teaching;
    const box = $("teaching");
    box.replaceChildren();
    if (t) {
      const q = el("div", { class: "q" });
      if (t.question) q.append(el("p", {}, el("strong", { text: "Question: " }), t.question));
      if (t.look_for) q.append(el("p", {}, el("strong", { text: "Look for: " }), t.look_for));
      box.append(q);
    }
    const l = LESSONS[state.lessonIndex];
    if (l && l.lesson && $("lesson").value !== "own") box.append(el("p", { class: "muted", text: "From the lessons: " + l.lesson }));
  }
  const runName = (run) => run.variant ?? run.name;
  function renderFigures(r) {
    const tbl = el("table");
    const head = el("tr", {}, el("th", { text: "figure" }));
    for (const run of r.runs) head.append(el("th", { text: runName(run) }));
    tbl.append(el("thead", {}, head));
    const body = el("tbody");
    const names = r.runs[0].key_figures.map((p) => p[0]).slice(1);
    names.forEach((name, i) => {
      const tr = el("tr", {}, el("td", { text: name.replace(/_/g, " ") }));
      for (const run of r.runs) tr.append(el("td", { text: pretty(name, run.key_figures[i + 1][1]) }));
      body.append(tr);
    });
    tbl.append(body);
    $("figure-table").replaceChildren(tbl);
  }
  function pretty(name, v) {
    if (v === "") return "–";
    const x = Number(v);
    if (!isFinite(x)) return v;
    if (/p50|p99|max$|age/.test(name) && !/depth|consumers/.test(name)) return human(x);
    if (name === "utilization") return (100 * x).toFixed(1) + "%";
    if (Number.isInteger(x)) return x.toLocaleString("en");
    return num(x);
  }
  function renderTheory(r) {
    const box = $("theory-body");
    box.replaceChildren();
    const withTheory = r.runs.filter((run) => run.theory);
    if (!withTheory.length) {
      box.append(el("p", { class: "muted", text: "No closed form to compare: this scenario is not a textbook queue (it has failures, retries, a schedule, several producers, sync callers, an enqueue latency, a broker kind or fan-out)." }));
      return;
    }
    for (const run of withTheory) {
      const t = run.theory;
      const p = t.prediction;
      const badge = t.agreement === "agrees"
        ? el("span", { class: "badge ok", text: "✓ agrees with theory (within 10%)" })
        : t.agreement === "differs"
          ? el("span", { class: "badge differs", text: `✗ differs from theory: ${t.worst.figure} off by ${(100 * t.worst.relative_difference).toFixed(0)}%` })
          : el("span", { class: "badge differs", text: "no steady state to compare" });
      box.append(el("h3", { text: `${runName(run)}: ${p.model} at ρ = ${p.rho.toFixed(3)} ` }, badge));
      const tbl = el("table", {}, el("thead", {}, el("tr", {}, el("th", { text: "figure" }), el("th", { text: "theory" }), el("th", { text: "simulated" }))));
      const tb = el("tbody");
      for (const row of t.rows) {
        tb.append(el("tr", {}, el("td", { text: row.figure }), el("td", { text: num(row.theory) }),
          el("td", { class: row.agrees === false ? "warn" : null, text: num(row.simulated) })));
      }
      tbl.append(tb);
      box.append(tbl);
      for (const w of t.warnings) box.append(el("p", { class: "warn", text: "Warning: " + w }));
    }
  }
  function renderFindings(r) {
    const box = $("findings-body");
    box.replaceChildren();
    for (const run of r.runs) {
      if (r.runs.length > 1) box.append(el("h3", { text: runName(run) }));
      const ul = el("ul", { class: "findings" });
      for (const f of run.findings) ul.append(el("li", { text: f }));
      if (!run.conservation_holds) ul.append(el("li", { class: "warn", text: "The conservation check failed: some messages are unaccounted for. Please report this as a bug." }));
      if (run.stopped) ul.append(el("li", { class: "warn", text: "Stopped early: " + run.stopped }));
      box.append(ul);
    }
    const t = r.base.teaching;
    $("takeaway").replaceChildren(t && t.takeaway ? el("p", { class: "q" }, el("strong", { text: "Takeaway: " }), t.takeaway) : "");
  }

  // ------------------------------------------------------------------ charts
  const rate = (col) => (s) => {
    const t = s.time, v = s[col];
    return v.map((x, i) => x / Math.max(1e-9, t[i] - (i ? t[i - 1] : 0)));
  };
  const sumRate = (cols) => (s) => {
    const t = s.time;
    return t.map((_, i) => cols.reduce((a, c) => a + (s[c][i] || 0), 0) / Math.max(1e-9, t[i] - (i ? t[i - 1] : 0)));
  };
  const PANELS = [
    { id: "backlog", title: "Queue depth (messages waiting)", get: (s) => s.queue_depth, bound: true },
    { id: "p99", title: "End-to-end latency p99 (s)", get: (s) => s.e2e_p99 },
    { id: "throughput", title: "Completed per second (grey: offered)", get: rate("completed"), offered: true },
    { id: "age", title: "Oldest waiting message (s)", get: (s) => s.oldest_age },
    { id: "util", title: "Consumer utilization", get: (s) => s.utilization },
    { id: "trouble", title: "Refused, dropped, failed, timed out per second", get: sumRate(["rejected", "dropped", "failed", "dead_lettered", "client_errors", "client_timeouts"]) },
    { id: "retries", title: "Waiting out a retry backoff", get: (s) => s.retry_waiting },
    { id: "client", title: "What callers waited, p99 (s)", get: (s) => s.client_p99 },
  ];
  function windowsOf(r) {
    const seen = new Map();
    for (const run of r.runs) for (const w of run.windows) {
      const key = `${w.kind}:${w.start}:${w.end}`;
      if (!seen.has(key)) seen.set(key, w);
    }
    return [...seen.values()];
  }
  function shadePlugin(getWindows) {
    return {
      hooks: {
        drawClear: [(u) => {
          const ctx = u.ctx;
          const { top, height } = u.bbox;
          ctx.save();
          for (const w of getWindows()) {
            const a = u.valToPos(w.start, "x", true);
            const b = u.valToPos(Math.max(w.end, w.start + 1e-9), "x", true);
            const x0 = Math.max(a, u.bbox.left), x1 = Math.min(b === a ? a + 3 : b, u.bbox.left + u.bbox.width);
            if (x1 <= x0) continue;
            ctx.fillStyle = KIND_FILL[w.kind] || "rgba(0,0,0,0.08)";
            ctx.fillRect(x0, top, x1 - x0, height);
            ctx.fillStyle = "#444";
            ctx.font = `${Math.round(11 * devicePixelRatio)}px sans-serif`;
            ctx.fillText(w.label || w.kind, x0 + 3 * devicePixelRatio, top + 12 * devicePixelRatio);
          }
          ctx.restore();
        }],
      },
    };
  }
  function chartWidth(host) {
    return Math.max(260, Math.floor(host.getBoundingClientRect().width) - 8);
  }
  function seriesStyle(i, label) {
    return { label, stroke: PALETTE[i % PALETTE.length], dash: DASHES[i % DASHES.length], width: 2, spanGaps: false,
      value: (u, v) => (v == null ? "–" : num(v)) };
  }
  function panelData(p, r) {
    const x = r.runs[0].series.time;
    const ys = r.runs.map((run) => {
      const v = p.get(run.series);
      return v.length === x.length ? v : x.map((_, i) => v[i] ?? null);
    });
    const series = r.runs.map((run, i) => seriesStyle(i, runName(run)));
    if (p.offered) {
      ys.push(r.runs[0].series.offered_rate);
      series.push({ label: "offered", stroke: "#888", width: 1.5, dash: [3, 3], value: (u, v) => (v == null ? "–" : num(v)) });
    }
    if (p.bound) {
      const caps = r.runs.map((run) => run.capacity).filter((c) => c != null);
      let peak = 1;
      for (const y of ys) for (const v of y) if (v != null && v > peak) peak = v;
      const cap = caps.length ? Math.min(...caps) : null;
      if (cap != null && cap > 0 && cap <= 4 * peak) {
        ys.push(x.map(() => cap));
        series.push({ label: "bound", stroke: "#a4461c", width: 1.5, dash: [6, 3], value: () => num(cap) });
      }
    }
    return { data: [x, ...ys], series };
  }
  const anyNonZero = (arrs) => arrs.some((a) => a.some((v) => v != null && v !== 0));
  // The steps that draw the dashboard: new data into the charts that are there, or new
  // charts when the panels or series changed.
  function chartSteps(r) {
    const grid = $("chart-grid");
    const wins = windowsOf(r);
    const keep = [];
    const hidden = [];
    for (const p of PANELS) {
      const d = panelData(p, r);
      if (!anyNonZero(d.data.slice(1, 1 + r.runs.length))) { hidden.push(p.title.replace(/ \(.*/, "")); continue; }
      keep.push([p, d]);
    }
    const steps = [() => {
      $("chart-hidden").textContent = hidden.length ? "Not drawn (zero throughout this run): " + hidden.join("; ") + "." : "";
      state.windows = wins;
    }];
    const sig = keep.map(([p, d]) => p.id + ":" + d.series.map((s) => s.label).join(",")).join("|");
    if (sig === state.chartSig && state.charts.length === keep.length) {
      keep.forEach(([, d], i) => steps.push(() => state.charts[i].u.setData(d.data)));
      return steps;
    }
    steps.push(() => {
      for (const c of state.charts) c.u.destroy();
      state.charts = [];
      state.chartSig = sig;
      grid.replaceChildren();
    });
    for (const [p, d] of keep) steps.push(() => {
      const panel = el("div", { class: "panel", tabindex: "0", role: "figure", "aria-label": p.title, "data-panel": p.id });
      const h = el("h3", {}, p.title, el("span", {},
        el("button", { type: "button", text: "PNG", "aria-label": `Download ${p.title} as PNG`, onclick: () => downloadPng(p.id) }),
        el("button", { type: "button", text: "SVG", "aria-label": `Download ${p.title} as SVG`, onclick: () => downloadSvg(p.id) })));
      panel.append(h);
      grid.append(panel);
      const u = new uPlot({
        width: chartWidth(panel), height: 190,
        cursor: { sync: { key: "ql" }, drag: { x: true, y: false } },
        scales: { x: { time: false } },
        axes: [{ label: "time", size: 36, space: 70, values: (u, vals) => vals.map((v) => (v == null ? "" : human(v))) }, { size: 52, values: (u, vals) => vals.map(axisNum) }],
        series: [{ label: "time", value: (u, v) => (v == null ? "–" : human(v)) }, ...d.series],
        plugins: [shadePlugin(() => state.windows)],
      }, d.data, panel);
      panel.addEventListener("keydown", (e) => chartKey(e, u));
      state.charts.push({ id: p.id, title: p.title, u, panel });
    });
    return steps;
  }
  function chartKey(e, u) {
    const x = u.data[0];
    if (!x.length) return;
    const min = u.scales.x.min, max = u.scales.x.max;
    let idx = u.cursor.idx ?? 0;
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      idx = Math.max(0, Math.min(x.length - 1, idx + (e.key === "ArrowRight" ? 1 : -1) * Math.max(1, Math.round(x.length / 100))));
      u.setCursor({ left: u.valToPos(x[idx], "x"), top: 10 });
    } else if (e.key === "+" || e.key === "=" || e.key === "-") {
      const c = x[idx] ?? (min + max) / 2;
      const f = e.key === "-" ? 2 : 0.5;
      u.setScale("x", { min: Math.max(x[0], c - (c - min) * f), max: Math.min(x[x.length - 1], c + (max - c) * f) });
    } else if (e.key === "0") {
      u.setScale("x", { min: x[0], max: x[x.length - 1] });
    } else return;
    e.preventDefault();
  }
  // End-to-end (thick) and what callers waited (thin, same colour) per run, log time.
  function renderCdf(r) {
    const host = $("cdf");
    const curves = [];
    r.runs.forEach((run, i) => {
      for (const [key, label, width] of [["e2e_cdf", "end-to-end", 2.2], ["client_cdf", "caller", 1.2]]) {
        const { x, y } = run[key];
        const keep = [];
        for (let j = 0; j < x.length; j++) if (x[j] > 0) keep.push(j);
        if (!keep.length) continue;
        curves.push({ table: [keep.map((j) => x[j]), keep.map((j) => y[j])],
          style: { ...seriesStyle(i, `${runName(run)} ${label}`), width, spanGaps: true, value: (u, v) => (v == null ? "–" : (100 * v).toFixed(1) + "%") } });
      }
    });
    const sig = curves.map((c) => c.style.label).join("|");
    if (state.cdf && sig === state.cdfSig && curves.length) { state.cdf.setData(uPlot.join(curves.map((c) => c.table))); return; }
    if (state.cdf) { state.cdf.destroy(); state.cdf = null; }
    state.cdfSig = sig;
    host.replaceChildren();
    if (!curves.length) { host.append(el("p", { class: "muted", text: "No message completed." })); return; }
    state.cdf = new uPlot({
      width: chartWidth(host), height: 240,
      scales: { x: { time: false, distr: 3 }, y: { range: [0, 1] } },
      axes: [{ label: "latency", space: 60, values: (u, vals) => vals.map((v) => (v == null ? "" : human(v))) }, { values: (u, vals) => vals.map((v) => (100 * v).toFixed(0) + "%") }],
      series: [{ label: "latency", value: (u, v) => (v == null ? "–" : human(v)) }, ...curves.map((c) => c.style)],
    }, uPlot.join(curves.map((c) => c.table)), host);
  }

  // ------------------------------------------------------------------ quiz
  function renderQuiz(r) {
    const box = $("quiz-body");
    const guesses = {};
    for (const inp of box.querySelectorAll("input[data-key]")) guesses[inp.dataset.key] = inp.value;
    box.replaceChildren();
    const run = r.runs[0];
    if (r.runs.length > 1) box.append(el("p", { class: "muted", text: `Questions about ${runName(run)} (pick a variant above for its own).` }));
    if (!run.quiz.length) { box.append(el("p", { class: "muted", text: "No questions for this scenario." })); return; }
    $("quiz").querySelector("summary").firstChild.textContent = `Predict first (${run.quiz.length} questions)`;
    run.quiz.forEach((q, i) => {
      const id = "quiz-" + i;
      const input = el("input", { id, type: "number", step: "any", inputmode: "decimal", "data-key": q.key });
      if (guesses[q.key]) input.value = guesses[q.key];
      const ans = el("div", { class: "quiz-a", hidden: true });
      const btn = el("button", { type: "button", text: "Reveal", onclick: () => {
        const guess = input.value === "" ? null : Number(input.value);
        ans.replaceChildren(
          el("p", {}, el("strong", { text: "The run: " }), `${num(q.actual)} ${q.unit}`,
            guess == null ? " (no guess)" : `; your guess ${num(guess)}: score ${state.ql.score(guess, q.actual, q.slack).toFixed(0)} / 100`),
          el("p", {}, el("strong", { text: "Back of the envelope: " }), `${num(q.estimate)} ${q.unit}. ${q.reasoning}`));
        ans.hidden = false;
      } });
      box.append(el("div", { class: "quiz-q" }, el("label", { for: id, text: `${i + 1}. ${q.prompt} (${q.unit}) ` }), input, " ", btn, ans));
    });
  }

  // ------------------------------------------------------------------ playback
  function pbRun() {
    const r = state.result;
    if (!r) return null;
    const i = Number($("pb-run").value || 0);
    return r.runs[Math.min(i, r.runs.length - 1)];
  }
  function setupPlayback(r) {
    const sel = $("pb-run");
    const prev = sel.value;
    sel.replaceChildren();
    r.runs.forEach((run, i) => sel.append(el("option", { value: String(i), text: runName(run) })));
    if (prev && Number(prev) < r.runs.length) sel.value = prev;
    const n = r.runs[0].series.time.length;
    const s = $("pb-scrub");
    s.max = String(Math.max(0, n - 1));
    state.pb.i = Math.min(state.pb.i, n - 1);
    s.value = String(state.pb.i);
    drawStage();
  }
  function drawStage() {
    const run = pbRun();
    if (!run) return;
    const s = run.series;
    const i = Math.max(0, Math.min(state.pb.i, s.time.length - 1));
    const t = s.time[i];
    const dt = t - (i ? s.time[i - 1] : 0);
    const depth = s.queue_depth[i];
    const cap = run.capacity;
    const maxDepth = Math.max(1, ...s.queue_depth);
    const scale = cap != null && cap > 0 && cap <= 4 * maxDepth ? cap : maxDepth;
    const fill = Math.min(1, depth / scale);
    const nCons = s.consumers[i] || run.consumers;
    const busy = Math.round(s.utilization[i] * nCons);
    const inWin = run.windows.filter((w) => t >= w.start && t <= Math.max(w.end, w.start));
    const rejected = (s.rejected[i] + s.dropped[i]) / dt;
    $("pb-time").textContent = `${human(t)} of ${human(s.time[s.time.length - 1])}`;
    $("pb-scrub").setAttribute("aria-valuetext", `${human(t)}: ${depth} waiting, ${busy} of ${nCons} consumers busy`);
    const W = 900, H = 260;
    const qx = 250, qw = 280, qy = 95, qh = 60;
    const cols = Math.min(nCons, 16), rows = Math.ceil(Math.min(nCons, 64) / cols);
    const cell = Math.min(22, 150 / Math.max(1, rows));
    let cons = "";
    for (let k = 0; k < Math.min(nCons, 64); k++) {
      const cx = 600 + (k % cols) * (cell + 3), cy = 60 + Math.floor(k / cols) * (cell + 3);
      cons += `<rect x="${cx}" y="${cy}" width="${cell}" height="${cell}" rx="3" fill="${k < busy ? "#0072B2" : "#fff"}" stroke="#0072B2" stroke-width="1.5"/>`;
    }
    const more = nCons > 64 ? `<text x="600" y="${60 + rows * (cell + 3) + 14}" font-size="13">+${nCons - 64} more</text>` : "";
    const banner = inWin.length ? `<rect x="0" y="0" width="${W}" height="26" fill="${KIND_FILL[inWin[0].kind] || "#eee"}"/><text x="10" y="18" font-size="14" font-weight="bold">${esc(inWin.map((w) => w.label || w.kind).join(", "))} (${human(inWin[0].start)}–${human(inWin[0].end)})</text>` : "";
    const boundLabel = scale === cap ? `bound ${cap.toLocaleString("en")}` : (cap == null ? "unbounded (scaled to this run's peak)" : `bound ${cap.toLocaleString("en")} (scaled to the peak)`);
    $("pb-stage").innerHTML = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="The system at ${esc(human(t))}">
      ${banner}
      <rect x="20" y="95" width="150" height="60" rx="8" fill="#f0f3f7" stroke="#586174"/>
      <text x="95" y="120" text-anchor="middle" font-size="14">producers</text>
      <text x="95" y="142" text-anchor="middle" font-size="14" font-weight="bold">${num(s.offered_rate[i])}/s</text>
      <line x1="170" y1="125" x2="${qx - 6}" y2="125" stroke="#586174" stroke-width="2" marker-end="url(#ar)"/>
      <defs><marker id="ar" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#586174"/></marker></defs>
      <rect x="${qx}" y="${qy}" width="${qw}" height="${qh}" fill="#fff" stroke="#1d2433" stroke-width="2"/>
      <rect x="${qx + qw - qw * fill}" y="${qy}" width="${qw * fill}" height="${qh}" fill="${fill > 0.9 && scale === cap ? "#D55E00" : "#E69F00"}" opacity="0.85"/>
      <text x="${qx + qw / 2}" y="${qy - 8}" text-anchor="middle" font-size="14">queue: <tspan font-weight="bold">${depth.toLocaleString("en")}</tspan> waiting</text>
      <text x="${qx + qw / 2}" y="${qy + qh + 18}" text-anchor="middle" font-size="12" fill="#586174">${esc(boundLabel)}</text>
      <line x1="${qx + qw}" y1="125" x2="594" y2="125" stroke="#586174" stroke-width="2" marker-end="url(#ar)"/>
      <text x="600" y="48" font-size="14">consumers: <tspan font-weight="bold">${busy}</tspan> of ${nCons} busy</text>
      ${cons}${more}
      <text x="${qx}" y="${qy + qh + 48}" font-size="14">retries waiting: <tspan font-weight="bold">${s.retry_waiting[i].toLocaleString("en")}</tspan></text>
      <text x="${qx}" y="${qy + qh + 70}" font-size="14">refused or dropped: <tspan font-weight="bold">${num(rejected)}/s</tspan></text>
      <text x="600" y="${H - 22}" font-size="14">DLQ: <tspan font-weight="bold">${s.dead_lettered_total[i].toLocaleString("en")}</tspan> dead-lettered</text>
      <text x="20" y="${H - 22}" font-size="14">oldest waiting: <tspan font-weight="bold">${human(s.oldest_age[i])}</tspan>; p99 ${human(s.e2e_p99[i])}</text>
    </svg>`;
    for (const c of state.charts) c.u.setCursor({ left: c.u.valToPos(t, "x"), top: 5 });
  }
  function pbSet(i) {
    const run = pbRun();
    if (!run) return;
    state.pb.i = Math.max(0, Math.min(run.series.time.length - 1, i));
    $("pb-scrub").value = String(state.pb.i);
    drawStage();
  }
  function pbPlay(on) {
    state.pb.playing = on;
    $("pb-play").textContent = on ? "Pause" : "Play";
    $("pb-play").setAttribute("aria-pressed", String(on));
    cancelAnimationFrame(state.pb.raf);
    if (!on) return;
    state.pb.last = performance.now();
    state.pb.acc = 0;
    const tick = (now) => {
      const run = pbRun();
      if (!run || !state.pb.playing) return;
      const s = run.series.time;
      const step = s.length > 1 ? s[1] - s[0] : 1;
      state.pb.acc += ((now - state.pb.last) / 1000) * Number($("pb-speed").value);
      state.pb.last = now;
      const adv = Math.floor(state.pb.acc / step);
      if (adv > 0) {
        state.pb.acc -= adv * step;
        if (state.pb.i + adv >= s.length) { pbSet(s.length - 1); pbPlay(false); return; }
        pbSet(state.pb.i + adv);
      }
      state.pb.raf = requestAnimationFrame(tick);
    };
    state.pb.raf = requestAnimationFrame(tick);
  }
  function pbNextDisturbance() {
    const run = pbRun();
    if (!run) return;
    const t = run.series.time[state.pb.i];
    const starts = run.windows.map((w) => w.start).filter((a) => a > t + 1e-9).sort((a, b) => a - b);
    if (!starts.length) { setStatus("No disturbance after this instant."); return; }
    const idx = run.series.time.findIndex((x) => x >= starts[0]);
    pbSet(idx < 0 ? run.series.time.length - 1 : idx);
  }

  // ------------------------------------------------------------------ share, embed, downloads
  function b64url(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64url(text) {
    const s = text.replace(/-/g, "+").replace(/_/g, "/");
    return b64bytes(s + "===".slice((s.length + 3) % 4));
  }
  async function pipe(bytes, stream) {
    const out = new Response(new Blob([bytes]).stream().pipeThrough(stream));
    return new Uint8Array(await out.arrayBuffer());
  }
  async function shareLink(embed) {
    const payload = JSON.stringify({ v: 1, toml: state.toml, seed: state.seed, variant: state.variant, label: state.label });
    const z = await pipe(new TextEncoder().encode(payload), new CompressionStream("deflate-raw"));
    const base = location.href.split("#")[0];
    return `${base}#${embed ? "embed&" : ""}lab=${b64url(z)}`;
  }
  async function readLink() {
    const h = location.hash.slice(1);
    if (!h) return null;
    const params = new URLSearchParams(h);
    const z = params.get("lab");
    if (!z) return null;
    const bytes = await pipe(unb64url(z), new DecompressionStream("deflate-raw"));
    const p = JSON.parse(new TextDecoder().decode(bytes));
    return { ...p, embed: params.has("embed") };
  }
  async function onShare(embed) {
    const url = await shareLink(embed);
    $("share-box").hidden = false;
    const input = $("share-url");
    input.value = url;
    input.focus();
    input.select();
    let copied = false;
    try { await navigator.clipboard.writeText(url); copied = true; } catch (e) { copied = false; }
    $("share-note").textContent = (copied ? "Copied. " : "Select and copy it. ") +
      (embed ? "Embed: read-only and compact, for slides and posts (put it in an iframe)." : "It carries the whole scenario, its seed and variant: the same run on any machine.") +
      ` ${url.length.toLocaleString("en")} characters.`;
  }
  function download(name, text, type) {
    const a = el("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  const baseName = () => (state.result ? state.result.base.name : "scenario") + (state.variant ? "-" + state.variant : "");
  function focusedRun() { return pbRun(); }
  function downloadPng(id) {
    const c = state.charts.find((q) => q.id === id);
    if (!c) return;
    c.u.ctx.canvas.toBlob((b) => {
      const a = el("a", { href: URL.createObjectURL(b), download: `${baseName()}-${id}.png` });
      document.body.append(a); a.click(); setTimeout(() => a.remove(), 1000);
    });
  }
  function downloadSvg(id) {
    const c = state.charts.find((q) => q.id === id);
    if (!c) return;
    const u = c.u, W = 800, H = 300, L = 70, R = 20, T = 30, B = 40;
    const x = u.data[0];
    const xmin = u.scales.x.min, xmax = u.scales.x.max;
    let ymin = Infinity, ymax = -Infinity;
    for (let k = 1; k < u.data.length; k++) for (let i = 0; i < x.length; i++) {
      const v = u.data[k][i];
      if (v != null && x[i] >= xmin && x[i] <= xmax) { ymin = Math.min(ymin, v); ymax = Math.max(ymax, v); }
    }
    if (!isFinite(ymin)) { ymin = 0; ymax = 1; }
    ymin = Math.min(0, ymin); if (ymax === ymin) ymax = ymin + 1;
    const px = (v) => L + ((v - xmin) / (xmax - xmin || 1)) * (W - L - R);
    const py = (v) => H - B - ((v - ymin) / (ymax - ymin)) * (H - T - B);
    let body = "";
    for (const w of state.windows || []) {
      const a = Math.max(L, px(w.start)), b = Math.min(W - R, px(Math.max(w.end, w.start)) + (w.end === w.start ? 3 : 0));
      if (b > a) body += `<rect x="${a.toFixed(1)}" y="${T}" width="${(b - a).toFixed(1)}" height="${H - T - B}" fill="${KIND_FILL[w.kind] || "#eee"}"/><text x="${(a + 3).toFixed(1)}" y="${T + 12}" font-size="11">${esc(w.label || w.kind)}</text>`;
    }
    const legend = [];
    for (let k = 1; k < u.series.length; k++) {
      const s = u.series[k];
      let d = "", pen = false;
      for (let i = 0; i < x.length; i++) {
        const v = u.data[k][i];
        if (v == null || x[i] < xmin || x[i] > xmax) { pen = false; continue; }
        d += `${pen ? "L" : "M"}${px(x[i]).toFixed(1)},${py(v).toFixed(1)}`;
        pen = true;
      }
      const stroke = typeof s.stroke === "function" ? s.stroke(u, k) : s.stroke;
      const dash = (s.dash || []).join(" ");
      body += `<path d="${d}" fill="none" stroke="${stroke}" stroke-width="1.8"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`;
      legend.push(`<text x="${L + 140 * (k - 1)}" y="${H - 8}" font-size="12" fill="${stroke}">${esc(s.label)}</text>`);
    }
    const axes = `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>` +
      `<text x="${L}" y="${H - B + 14}" font-size="11">${esc(human(xmin))}</text><text x="${W - R}" y="${H - B + 14}" font-size="11" text-anchor="end">${esc(human(xmax))}</text>` +
      `<text x="${L - 4}" y="${H - B}" font-size="11" text-anchor="end">${esc(num(ymin))}</text><text x="${L - 4}" y="${T + 8}" font-size="11" text-anchor="end">${esc(num(ymax))}</text>`;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif"><rect width="${W}" height="${H}" fill="#fff"/><text x="${L}" y="18" font-size="14" font-weight="bold">${esc(c.title)}</text>${body}${axes}${legend.join("")}</svg>\n`;
    download(`${baseName()}-${id}.svg`, svg, "image/svg+xml");
  }
  function updateCli() {
    const parts = ["queuelab run", state.label];
    if (state.seed != null) parts.push("--seed", state.seed);
    if (state.variant) parts.push("--variant", state.variant);
    $("cli-cmd").textContent = parts.join(" ");
  }

  // ------------------------------------------------------------------ wiring
  function wire() {
    fillLessons();
    $("toml").addEventListener("input", onEdit);
    $("toml").addEventListener("scroll", () => { $("gutter").scrollTop = $("toml").scrollTop; });
    $("variant").addEventListener("change", () => { state.variant = $("variant").value || null; updateCli(); requestRun(); });
    $("seed").addEventListener("change", () => {
      const v = $("seed").value.trim();
      state.seed = v === "" ? null : v;
      updateCli();
      requestRun();
    });
    $("share").addEventListener("click", () => onShare(false));
    $("embed-link").addEventListener("click", () => onShare(true));
    $("dl-toml").addEventListener("click", () => download(state.label.split("/").pop(), state.toml, "application/toml"));
    $("dl-summary").addEventListener("click", () => { const r = focusedRun(); if (r) download("summary.json", r.summary_json, "application/json"); });
    $("dl-csv").addEventListener("click", () => { const r = focusedRun(); if (r) download("timeseries.csv", r.timeseries_csv, "text/csv"); });
    $("dl-comparison").addEventListener("click", () => { if (state.result) download("comparison.json", state.result.json, "application/json"); });
    $("pb-play").addEventListener("click", () => pbPlay(!state.pb.playing));
    $("pb-step").addEventListener("click", () => { pbPlay(false); pbSet(state.pb.i + 1); });
    $("pb-back").addEventListener("click", () => { pbPlay(false); pbSet(state.pb.i - 1); });
    $("pb-next").addEventListener("click", pbNextDisturbance);
    $("pb-scrub").addEventListener("input", () => { pbSet(Number($("pb-scrub").value)); });
    $("pb-run").addEventListener("change", () => { drawStage(); });
    $("playback").addEventListener("keydown", (e) => {
      if (e.key === " " && e.target.tagName !== "BUTTON" && e.target.tagName !== "SELECT") { e.preventDefault(); pbPlay(!state.pb.playing); }
    });
    let resizeTimer = 0;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        for (const c of state.charts) c.u.setSize({ width: chartWidth(c.panel), height: 190 });
        if (state.cdf) state.cdf.setSize({ width: chartWidth($("cdf")), height: 240 });
      }, 100);
    });
    // A share link pasted into this tab's address bar loads; in-page anchors do not reset.
    window.addEventListener("hashchange", () => { if (/(^#|&)lab=/.test(location.hash)) start().catch(fatal); });
  }
  function fatal(e) {
    setStatus("The lab could not start: " + e, "bad");
    console.error(e);
  }
  async function start() {
    const link = await readLink().catch((e) => { setStatus("This link could not be read: " + e.message, "bad"); return null; });
    if (link) {
      state.embed = !!link.embed;
      document.body.classList.toggle("embed", state.embed);
      $("full-lab").hidden = !state.embed;
      $("full-lab").href = location.href.replace("#embed&", "#");
      $("full-lab").target = "_blank";
      state.seed = link.seed ?? null;
      $("seed").value = state.seed ?? "";
      state.variant = link.variant ?? null;
      const idx = LESSONS.findIndex((l) => l.toml === link.toml);
      state.lessonIndex = idx;
      $("lesson").value = idx >= 0 ? String(idx) : "own";
      setScenario(link.toml, link.label || "scenario.toml", true);
      if (state.variant) $("variant").value = state.variant;
      updateCli();
    } else {
      loadLesson(0);
    }
  }
  window.queuelab.ready = boot();
  window.queuelab.ready.then(() => { wire(); return start(); }).catch(fatal);
})();
