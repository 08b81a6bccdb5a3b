// Paths and loaders shared by the lab's node tests.
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const target = process.env.CARGO_TARGET_DIR || path.join(root, "target");
export const labHtml = process.env.QL_LAB || path.join(root, "output/lab.html");
export const nativeBin = process.env.QL_BIN || path.join(target, "release/queuelab");

vm.runInThisContext(fs.readFileSync(path.join(root, "web/abi.js"), "utf8"));

// The wasm inlined in lab.html (so the page's own bytes are what is tested).
export async function loadLab() {
  const page = fs.readFileSync(labHtml, "utf8");
  const m = page.match(/<script type="application\/wasm-base64" id="ql-wasm">([^<]*)<\/script>/);
  if (!m) throw new Error(`${labHtml} has no inlined wasm`);
  const bytes = Buffer.from(m[1].trim(), "base64");
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const ql = globalThis.qlBind(instance.exports);
  // As the page does: the lessons' data files for every run and check.
  ql.data(Object.assign({}, ...lessons().map((l) => l.data || {})));
  return ql;
}

export const withoutWall = globalThis.qlWithoutWall;

// What only the command line writes: `wall_seconds` (measured there, 0 in the core) and
// `invocation` (the command and the scenario as run from it). Everything else must be the
// same bytes.
export function noCliText(text) {
  return text
    .replace(/^\s*"wall_seconds": [^\n]*\n/gm, "")
    .replace(/,\n(\s*)"invocation": \{[\s\S]*?\n\1\}/g, "");
}
export function withoutCli(v) {
  const strip = (x) => {
    if (Array.isArray(x)) return x.map(strip);
    if (x && typeof x === "object") {
      const o = {};
      for (const k of Object.keys(x)) if (k !== "invocation") o[k] = strip(x[k]);
      return o;
    }
    return x;
  };
  return withoutWall(strip(v));
}

// The bundled scenarios, as lab.html carries them (lessons order).
export function lessons() {
  const page = fs.readFileSync(labHtml, "utf8");
  const m = page.match(/<script type="application\/json" id="ql-lessons">([\s\S]*?)<\/script>/);
  return JSON.parse(m[1]);
}
