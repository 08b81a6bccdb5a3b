// lab.html in headless Chromium (the system's /usr/bin/chromium, driven by playwright-core
// over the DevTools protocol), opened from file://: a lesson, a slider, a broken TOML, a
// share link opened in a fresh page, playback, the JavaScript API, no console error; the
// budgets measured; screenshots at 1280x800, 1024x768 and 390x844 (output/lab-screens/).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { root, labHtml, nativeBin, withoutWall, withoutCli, noCliText } from "./common.mjs";

const shots = path.join(root, "output/lab-screens");
fs.mkdirSync(shots, { recursive: true });
const url = pathToFileURL(labHtml).href;
const budgets = { lab_html_bytes: fs.statSync(labHtml).size, load_average_at_start: os.loadavg()[0] };
const problems = [];
// The time budgets are for this machine class doing this work, not for a machine shared
// with several others' builds: when the load average is above 1.5 runnable tasks per core
// the timings are measured and recorded but not judged (the test says so as skipped).
function busy(t) {
  const load = os.loadavg()[0];
  const cores = os.cpus().length;
  if (load <= 1.5 * cores) return false;
  t.skip(`load average ${load.toFixed(1)} on ${cores} cores: timings recorded in output/lab-budgets.json, not judged`);
  return true;
}

const context = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), "ql-chromium-")), {
  executablePath: process.env.QL_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
  viewport: { width: 1280, height: 800 },
});
await context.grantPermissions(["clipboard-read", "clipboard-write"]).catch(() => {});
context.on("page", watch);
function watch(page) {
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url().slice(0, 80)}`));
}
after(async () => {
  await context.close();
  fs.writeFileSync(path.join(root, "output/lab-budgets.json"), JSON.stringify(budgets, null, 2) + "\n");
  console.log("budgets:", JSON.stringify(budgets));
});

const runs = (page) => page.evaluate(() => Number(document.body.dataset.runs || 0));
// Waits until a run newer than `since` has been drawn and nothing is running or queued.
async function settled(page, since) {
  await page.waitForFunction((n) => Number(document.body.dataset.runs || 0) > n && !document.getElementById("status").classList.contains("busy"), since, { timeout: 60000 });
}
async function open(target, viewport) {
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  await page.goto(target);
  await settled(page, 0);
  return page;
}
// textContent, not innerText: cards out of view are not rendered (content-visibility).
const text = (page, sel) => page.locator(sel).evaluate((e) => e.textContent.replace(/\s+/g, " ").trim());

test("opens from file:// and draws the first lesson within the budget", async (t) => {
  // Opened three times, each a new page; the budget is on the median.
  const times = [];
  for (let i = 0; i < 3; i++) {
    const page = await open(url);
    times.push((await page.evaluate(() => window.queuelab.timings)).first_figures_ms);
    if (i === 2) {
      assert.equal(await text(page, "#lesson-title"), "flash-sale");
      assert.ok(await page.locator("#chart-grid .uplot").count() >= 4, "charts drawn");
      assert.match(await text(page, "#figure-table"), /bounded-8.*autoscale-8-48/);
      await page.screenshot({ path: path.join(shots, "lab-1280x800.png") });
      await page.screenshot({ path: path.join(shots, "lab-1280x800-full.png"), fullPage: true });
    }
    await page.close();
  }
  times.sort((a, b) => a - b);
  budgets.first_figures_ms = times.map(Math.round);
  budgets.first_figures_median_ms = Math.round(times[1]);
  assert.ok(budgets.lab_html_bytes <= 3 * 1024 * 1024, `lab.html is ${budgets.lab_html_bytes} bytes`);
  if (busy(t)) return;
  assert.ok(times[1] <= 1500, `first figures after ${times.join(", ")} ms`);
});

test("load a lesson, move a slider and a figure changes", async () => {
  const page = await open(url);
  const idx = await page.locator("#lesson option", { hasText: "decoupling.toml" }).getAttribute("value");
  let n = await runs(page);
  await page.selectOption("#lesson", idx);
  await settled(page, n);
  assert.equal(await text(page, "#lesson-title"), "decoupling");
  assert.match(await text(page, "#teaching"), /Question:/);
  const before = await text(page, "#figure-table");
  const slider = page.locator('input[data-path="consumers.count"]');
  n = await runs(page);
  await slider.focus();
  for (let i = 0; i < 3; i++) await page.keyboard.press("ArrowLeft");
  await settled(page, n);
  const toml = await page.locator("#toml").inputValue();
  assert.match(toml, /^count = 3$/m, "the knob is written back into the TOML");
  assert.notEqual(await text(page, "#figure-table"), before, "the key figures change");
  await page.close();
});

test("every knob of every lesson writes back a value the file accepts at both ends of its range", async () => {
  const page = await open(url);
  const lessons = await page.evaluate(() => JSON.parse(document.getElementById("ql-lessons").textContent));
  let checked = 0;
  const refused = [];
  for (const l of lessons) {
    const ends = await page.evaluate((t) => window.queuelab.knobEnds(t), l.toml);
    for (const [key, lit, text] of ends) {
      const errors = await page.evaluate((t) => window.queuelab.check(t), text);
      checked++;
      // Out of range is the validator's call (shown at the knob's line); a TOML syntax or
      // type error would be the page writing a bad literal.
      for (const e of errors) {
        assert.ok(e.line, `${l.file} ${key} = ${lit}: ${e.text}`);
        assert.doesNotMatch(e.message, /invalid type|expected|invalid (number|string|float|integer)/i, `${l.file} ${key} = ${lit}: ${e.text}`);
        refused.push(`${l.file} ${key} = ${lit}`);
      }
    }
  }
  budgets.knob_ends_checked = checked;
  budgets.knob_ends_refused_by_validation = refused.length;
  if (process.env.QL_SHOW_REFUSED) console.log(refused.join("\n"));
  assert.ok(checked > 200, `${checked} knob ends`);
  await page.close();
});

test("a broken TOML shows the error at its line, with allowed values and the did-you-mean", async () => {
  const page = await open(url);
  const toml = await page.locator("#toml").inputValue();
  const line = toml.split("\n").findIndex((l) => l.startsWith("overflow = ")) + 1;
  await page.locator("#toml").fill(toml.replace('overflow = "reject"', 'overflow = "rejekt"'));
  await page.waitForFunction(() => document.getElementById("errors").textContent.length > 0);
  const err = await text(page, "#errors");
  assert.match(err, new RegExp(`line ${line}, column 12`));
  assert.match(err, /queue\.overflow/);
  assert.match(err, /reject, drop-oldest, block/);
  assert.match(err, /did you mean `reject`\?/);
  assert.equal(await text(page, "#gutter .err"), String(line));
  const api = await page.evaluate((t) => window.queuelab.check(t), toml.replace('overflow = "reject"', 'overflow = "rejekt"'));
  assert.equal(api[0].line, line);
  assert.equal(api[0].key, "queue.overflow");
  await page.locator("#editor").scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, "lab-error-1280x800.png") });
  await page.close();
});

test("a share link reproduces the same run in a fresh page; embed mode is read-only", async () => {
  const page = await open(url);
  let n = await runs(page);
  await page.fill("#seed", "11");
  await page.locator("#seed").dispatchEvent("change");
  await settled(page, n);
  n = await runs(page);
  await page.selectOption("#variant", "scaled-16");
  await settled(page, n);
  await page.click("#share");
  await page.waitForFunction(() => document.getElementById("share-url").value.includes("#lab="));
  const link = await page.locator("#share-url").inputValue();
  const figures = await text(page, "#figure-table");
  const findings = await text(page, "#findings-body");
  assert.match(figures, /scaled-16/);
  await page.close();
  const fresh = await open(link);
  assert.equal(await text(fresh, "#figure-table"), figures);
  assert.equal(await text(fresh, "#findings-body"), findings);
  assert.equal(await fresh.locator("#seed").inputValue(), "11");
  assert.equal(await fresh.locator("#variant").inputValue(), "scaled-16");
  await fresh.close();
  const embed = await open(link.replace("#lab=", "#embed&lab="), { width: 1024, height: 768 });
  assert.equal(await embed.locator("#full-lab").getAttribute("href"), link);
  assert.equal(await embed.locator("#editor").isVisible(), false);
  assert.equal(await embed.locator("#knobs").isVisible(), false);
  assert.equal(await text(embed, "#figure-table"), figures);
  await embed.screenshot({ path: path.join(shots, "lab-embed-1024x768.png") });
  await embed.close();
});

test("report.html's link opens its scenario, seed and variant in the lab", async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "ql-report-"));
  execFileSync(nativeBin, ["run", path.join(root, "scenarios/decoupling.toml"), "--seed", "5", "--variant", "async", "--no-plots", "--quiet", "--out", out],
    { env: { ...process.env, QUEUELAB_LAB: url } });
  const html = fs.readFileSync(path.join(out, "report.html"), "utf8");
  const href = html.match(/<a class="lab" href="([^"]+)"/)[1].replace(/&amp;/g, "&");
  assert.ok(href.startsWith(url + "#lab="), href);
  const page = await open(href);
  assert.equal(await text(page, "#lesson-title"), "decoupling");
  assert.equal(await page.locator("#seed").inputValue(), "5");
  assert.equal(await page.locator("#variant").inputValue(), "async");
  const api = await page.evaluate((t) => window.queuelab.run(t, { seed: 5, variant: "async" }), fs.readFileSync(path.join(root, "scenarios/decoupling.toml"), "utf8"));
  assert.equal(await text(page, "#figure-table").then((t) => t.includes(api.counts.completed.toLocaleString("en"))), true);
  await page.close();
});

test("playback plays, steps, scrubs and jumps to the next disturbance", async () => {
  const page = await open(url);
  const time = () => text(page, "#pb-time");
  assert.match(await time(), /^1\.00s of 15m 00s$/);
  await page.click("#pb-play");
  await page.waitForFunction(() => !document.getElementById("pb-time").textContent.startsWith("1.00s"));
  await page.click("#pb-play");
  assert.match(await time(), /of 15m 00s$/);
  await page.locator("#pb-scrub").focus();
  await page.keyboard.press("Home");
  assert.match(await time(), /^1\.00s/);
  await page.click("#pb-next");
  assert.match(await time(), /^2m 00s/, "the spike starts at 2m");
  await page.click("#pb-step");
  assert.match(await time(), /^2m 01s/);
  assert.match(await text(page, "#pb-stage"), /spike/);
  await page.locator("#pb-scrub").focus();
  await page.keyboard.press("End");
  assert.match(await time(), /^15m 00s of 15m 00s$/);
  await page.locator("#playback").scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, "lab-playback-1280x800.png") });
  await page.close();
});

test("write your own: a textbook queue gets theory beside the run, with its badge", async () => {
  const page = await open(url);
  const mm1 = 'name = "mm1"\nseed = 3\nduration = "10m"\n[[producers]]\nrate = 5.0\n[consumers]\ncount = 1\nservice = { dist = "exponential", mean = "100ms" }\n';
  const n = await runs(page);
  await page.locator("#toml").fill(mm1);
  await settled(page, n);
  assert.equal(await text(page, "#lesson-title"), "mm1");
  const th = await text(page, "#theory-body");
  assert.match(th, /M\/M\/1 \(Erlang C\) at ρ = 0\.500/);
  assert.match(th, /✓ agrees with theory \(within 10%\)/);
  assert.match(th, /mean time in system/);
  await page.close();
});

test("downloads are the CLI's bytes (summary.json wall time aside) and charts export", async () => {
  const page = await open(url);
  const n = await runs(page);
  await page.selectOption("#variant", "bounded-8");
  await settled(page, n);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "ql-dl-"));
  execFileSync(nativeBin, ["run", path.join(root, "scenarios/flash_sale.toml"), "--variant", "bounded-8", "--no-plots", "--quiet", "--out", out]);
  const got = async (sel) => {
    const [d] = await Promise.all([page.waitForEvent("download"), page.click(sel)]);
    return [d.suggestedFilename(), fs.readFileSync(await d.path(), "utf8")];
  };
  const noWall = noCliText;
  const [csvName, csv] = await got("#dl-csv");
  assert.equal(csvName, "timeseries.csv");
  assert.equal(csv, fs.readFileSync(path.join(out, "timeseries.csv"), "utf8"));
  const [, summary] = await got("#dl-summary");
  assert.equal(noWall(summary), noWall(fs.readFileSync(path.join(out, "summary.json"), "utf8")));
  const [, toml] = await got("#dl-toml");
  assert.equal(toml, fs.readFileSync(path.join(root, "scenarios/flash_sale.toml"), "utf8"));
  const [svgName, svg] = await got('[data-panel="backlog"] button:has-text("SVG")');
  assert.match(svgName, /backlog\.svg$/);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<path d="M/);
  const [pngName] = await got('[data-panel="backlog"] button:has-text("PNG")');
  assert.match(pngName, /backlog\.png$/);
  await page.close();
});

test("window.queuelab.run gives the CLI's summaries", async () => {
  const page = await open(url);
  const file = path.join(root, "scenarios/flash_sale.toml");
  const toml = fs.readFileSync(file, "utf8");
  const got = await page.evaluate((t) => window.queuelab.run(t, { seed: 5, variant: "bounded-8" }), toml);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "ql-api-"));
  const printed = execFileSync(nativeBin, ["run", file, "--seed", "5", "--variant", "bounded-8", "--format", "json", "--no-plots", "--out", out], { encoding: "utf8" });
  assert.deepEqual(got, withoutCli(JSON.parse(printed)));
  assert.equal(await page.evaluate(() => window.queuelab.version), "0.1.0");
  await page.close();
});

test("flash_sale with its four variants in the page is within 2x of the native run", async () => {
  const page = await open(url);
  // Re-run the lesson as it opened (all four variants), three times, and take the best.
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const n = await runs(page);
    await page.fill("#seed", String(7 + (i % 2)));
    await page.locator("#seed").dispatchEvent("change");
    await settled(page, n);
    best = Math.min(best, await page.evaluate(() => window.queuelab.timings.last_run_ms));
  }
  let native = Infinity;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "ql-native-"));
  for (let i = 0; i < 3; i++) {
    const t = process.hrtime.bigint();
    const printed = execFileSync(nativeBin, ["run", path.join(root, "scenarios/flash_sale.toml"), "--no-plots", "--format", "json", "--out", out], { encoding: "utf8" });
    native = Math.min(native, Number(process.hrtime.bigint() - t) / 1e6);
    // The simulations alone (the CLI runs the variants in parallel): the slowest variant.
    const sim = Math.max(...JSON.parse(printed).map((x) => x.wall_seconds)) * 1000;
    budgets.flash_sale_native_simulation_ms = Math.min(budgets.flash_sale_native_simulation_ms ?? Infinity, Math.round(sim));
  }
  budgets.flash_sale_page_ms = Math.round(best);
  budgets.flash_sale_native_ms = Math.round(native);
  budgets.flash_sale_ratio = +(best / native).toFixed(2);
  assert.ok(best <= 2 * native, `page ${best} ms, native ${native} ms`);
  await page.close();
});

test("a slider dragged for 5 s re-runs continuously and no main-thread frame takes over 100 ms", async (t) => {
  const page = await open(url);
  const slider = page.locator('input[data-path="consumers.count"]');
  await slider.scrollIntoViewIfNeeded();
  const box = await slider.boundingBox();
  const n0 = await runs(page);
  await page.evaluate(() => {
    window.__frames = { max: 0, count: 0, longtasks: 0, longest: 0 };
    let last = performance.now();
    const f = (now) => {
      window.__frames.max = Math.max(window.__frames.max, now - last);
      window.__frames.count++;
      last = now;
      if (!window.__frames.stop) requestAnimationFrame(f);
    };
    requestAnimationFrame(f);
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) { window.__frames.longtasks++; window.__frames.longest = Math.max(window.__frames.longest, e.duration); }
    }).observe({ type: "longtask" });
  });
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + 2, y);
  await page.mouse.down();
  const start = Date.now();
  let i = 0;
  while (Date.now() - start < 5000) {
    const f = (Math.sin(i / 15) + 1) / 2;
    await page.mouse.move(box.x + 2 + f * (box.width - 4), y);
    await page.waitForTimeout(25);
    i++;
  }
  await page.mouse.up();
  const frames = await page.evaluate(() => { window.__frames.stop = true; return window.__frames; });
  const during = (await runs(page)) - n0;
  await settled(page, n0);
  budgets.drag_seconds = 5;
  budgets.load_average_at_drag = os.loadavg()[0];
  budgets.drag_runs_drawn = during;
  budgets.drag_max_frame_ms = Math.round(frames.max);
  budgets.drag_longest_task_ms = Math.round(frames.longest);
  await page.close();
  assert.ok(during >= 3, `only ${during} runs drawn during the drag`);
  if (busy(t)) return;
  assert.ok(frames.max <= 100, `a frame took ${frames.max} ms`);
});

test("readable at 1024x768 and 390x844", async () => {
  for (const [w, h] of [[1024, 768], [390, 844]]) {
    const page = await open(url, { width: w, height: h });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${w}px: the page is ${overflow}px wider than the window`);
    await page.screenshot({ path: path.join(shots, `lab-${w}x${h}.png`) });
    await page.locator("#charts").scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(shots, `lab-${w}x${h}-charts.png`) });
    await page.close();
  }
});

test("no console error, page error or failed request anywhere", () => {
  assert.deepEqual(problems, []);
});
