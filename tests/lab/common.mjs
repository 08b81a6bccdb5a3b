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
  return globalThis.qlBind(instance.exports);
}

export const withoutWall = globalThis.qlWithoutWall;

// The bundled scenarios, as lab.html carries them (lessons order).
export function lessons() {
  const page = fs.readFileSync(labHtml, "utf8");
  const m = page.match(/<script type="application\/json" id="ql-lessons">([\s\S]*?)<\/script>/);
  return JSON.parse(m[1]);
}
