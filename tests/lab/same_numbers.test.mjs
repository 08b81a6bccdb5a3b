// The lab's wasm gives the native CLI's numbers: for every bundled scenario and variant,
// summary.json (wall time aside) and timeseries.csv are byte for byte the same.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { root, nativeBin, loadLab, lessons, withoutWall, withoutCli, noCliText } from "./common.mjs";

const lab = await loadLab();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ql-lab-"));
const noWall = noCliText;

function native(file, extra, out) {
  return execFileSync(
    nativeBin,
    ["run", path.join(root, file), "--format", "json", "--no-plots", "--out", out, ...extra],
    { encoding: "utf8", maxBuffer: 1 << 28 },
  );
}

function compare(file, seed, variant) {
  const extra = [];
  if (seed !== undefined) extra.push("--seed", String(seed));
  if (variant) extra.push("--variant", variant);
  const out = path.join(tmp, path.basename(file, ".toml") + (variant ? "-" + variant : "") + (seed ?? ""));
  const printed = native(file, extra, out);
  const toml = fs.readFileSync(path.join(root, file), "utf8");
  const r = lab.run({ toml, seed: seed ?? null, variant: variant ?? null, label: file });
  assert.equal(r.ok, true, JSON.stringify(r.errors));
  // What the CLI prints, text for text (the wasm's wall_seconds is 0; the CLI's is measured).
  assert.equal(noWall(r.json), noWall(printed), `${file}: --format json differs`);
  assert.deepEqual(withoutWall(JSON.parse(r.json)), withoutCli(JSON.parse(printed)));
  // summary.json and timeseries.csv of each run, as the CLI writes them.
  const sideBySide = r.base.variants.length > 0 && !variant;
  for (const run of r.runs) {
    const dir = sideBySide ? path.join(out, run.variant ?? "base") : out;
    const csv = fs.readFileSync(path.join(dir, "timeseries.csv"), "utf8");
    assert.equal(run.timeseries_csv, csv, `${file} ${run.variant ?? ""}: timeseries.csv differs`);
    const sj = fs.readFileSync(path.join(dir, "summary.json"), "utf8");
    assert.equal(noWall(run.summary_json), noWall(sj), `${file} ${run.variant ?? ""}: summary.json differs`);
  }
  // The page runs a file's variants one per worker and puts them together: the same text.
  if (sideBySide) {
    const parts = r.base.variants.map((v) => lab.run({ toml, seed: seed ?? null, variant: v, label: file }).json);
    assert.equal(noWall(globalThis.qlJoinPretty(parts)), noWall(printed), `${file}: variants run one by one differ`);
  }
  return r;
}

for (const l of lessons()) {
  test(`${l.file}: every variant, the file's seed`, () => {
    compare(l.file);
  });
}

test("a chosen seed and variant (flash_sale --seed 11 --variant scaled-16)", () => {
  const r = compare("scenarios/flash_sale.toml", 11, "scaled-16");
  assert.equal(r.runs.length, 1);
  assert.equal(JSON.parse(r.json).seed, 11);
});

test("check gives the CLI's error with its position, allowed values and hint", () => {
  const bad = path.join(tmp, "bad.toml");
  const toml = fs.readFileSync(path.join(root, "scenarios/flash_sale.toml"), "utf8")
    .replace('overflow = "reject"', 'overflow = "rejct"');
  fs.writeFileSync(bad, toml);
  let stderr = "";
  try {
    execFileSync(nativeBin, ["check", bad], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    stderr = e.stderr;
    assert.equal(e.status, 2);
  }
  const c = lab.check(toml);
  assert.equal(c.ok, false);
  const e = c.errors[0];
  assert.equal(e.key, "queue.overflow");
  assert.equal(e.hint, "did you mean `reject`?");
  assert.match(e.allowed, /drop-oldest/);
  // The CLI's message names the file; the text after it is the same.
  const tail = (s) => s.slice(s.indexOf(`:${e.line}:${e.column}: `));
  assert.equal(tail("error: " + e.text.replace("scenario.toml", bad)).trim(), tail(stderr).trim());
});
