// dashboard.cjs — the dashboard in Debian's headless Chromium, driven by
// playwright-core (run by tests/integration/dashboard.sh, which starts the
// daemon with a token and installs playwright-core with npm ci).
//
// Env: URL (the daemon), TOKEN, OUT (folder for screenshots).
// Steps: the page asks for the token; the form is built from the kinds'
// schemas and a bad value comes back with its field marked; a job submitted
// from the form draws its convergence chart live (several metrics, log
// scale) and then its result views; the Cancel button stops a long run;
// "run example" on three more kinds draws game strategies, predictor curves
// and OT inputs; a synthetic barycenter result draws its support with its
// inputs. The page must not touch any other origin, nor log errors.
"use strict";
const { chromium } = require("playwright-core");
const fs = require("fs");
const path = require("path");

const URL = process.env.URL, TOKEN = process.env.TOKEN, OUT = process.env.OUT;
const T = 30000; // per wait; the whole test stays well under a minute

function check(cond, msg) {
  if (!cond) throw new Error("check failed: " + msg);
}

async function shot(page, name) {
  const file = path.join(OUT, name);
  await page.screenshot({ path: file, fullPage: true });
  console.log("screenshot", file);
}

// Poll fn(arg) in the page until it is truthy. page.waitForFunction would
// evaluate a string in the page, which the dashboard's Content-Security-
// Policy (no 'unsafe-eval') forbids in some Playwright versions; evaluate
// goes through the DevTools protocol, which the policy does not govern.
async function waitFn(page, fn, arg, opts) {
  const until = Date.now() + ((opts && opts.timeout) || 30000);
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > until) throw new Error("timed out waiting for " + fn.toString().slice(0, 120));
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Points drawn on the canvas matched by sel (0 when absent).
async function points(page, sel) {
  return page.evaluate((s) => Number(document.querySelector(s)?.dataset.points || 0), sel);
}

async function waitResult(page, view) {
  await waitFn(page, (v) => {
    const cs = document.querySelectorAll(`#result figure[data-view="${v}"] canvas`);
    return cs.length > 0 && [...cs].every((c) => Number(c.dataset.points) > 0);
  }, view, { timeout: T });
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    // Without the background-networking flags Chromium keeps dialling out
    // on this closed network and hangs; Playwright gives it a fresh profile.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("request", (r) => {
    if (!r.url().startsWith(URL) && !r.url().startsWith("data:"))
      problems.push("request to another origin: " + r.url());
  });

  // 1. Without the token the API answers 401: the page says so.
  await page.goto(URL + "/");
  await waitFn(page, () => /token needed/.test(document.querySelector("#conn").textContent),
    null, { timeout: T });
  problems.length = 0; // the 401s above are expected console errors
  await page.fill("#token", TOKEN);
  await page.click("#token-form button");
  await waitFn(page, () => document.querySelectorAll("#kind option").length >= 9,
    null, { timeout: T });
  check(await page.textContent("#conn") === "connected", "connected after the token");
  for (const k of ["ot", "nash", "two_layer", "scaling_path"])
    check(await page.$(`#kind-cards [data-kind="${k}"]`), `card for ${k}`);

  // 2. The form is the kind's schema; a bad value is marked with its pointer.
  await page.selectOption("#kind", "ot");
  await page.click("#load-example");
  check(await page.$('[data-param="epsilon"][data-type="number"]'), "epsilon is a number field");
  check(await page.$('select[data-param="debiased"]'), "debiased is a choice");
  check(await page.$('textarea[data-param="source"]'), "source is a JSON field");
  check(JSON.parse(await page.inputValue('[data-param="source"]')).points.length === 3,
    "the example fills the source");
  await page.fill('[data-param="epsilon"]', "-1");
  check(JSON.parse(await page.inputValue("#body")).params.epsilon === -1, "body follows the form");
  await page.click("#submit");
  await page.waitForSelector('[data-field="epsilon"].invalid', { timeout: T });
  check((await page.textContent("#submit-errors")).includes("/params/epsilon"), "pointer shown");
  problems.length = 0; // the 422 is an expected console error

  // 3. A job from the form: the chart follows it live.
  await page.selectOption("#kind", "two_layer");
  await page.click("#load-example");
  await page.fill('[data-param="max_iter"]', "8000");
  await page.fill("#env-label", "browser test");
  await page.click("#submit");
  await waitFn(page, () => /^#job\//.test(location.hash), null, { timeout: T });
  const seen = new Set();
  const t0 = Date.now();
  let status = "";
  while (Date.now() - t0 < 2 * T) {
    const s = await page.evaluate(() => ({
      events: Number(document.querySelector("#chart").dataset.events || 0),
      status: document.querySelector("#job-status").textContent,
    }));
    if (s.events > 0) seen.add(s.events);
    status = s.status;
    if (seen.size === 3) await shot(page, "dashboard-live.png");
    if (status === "succeeded" || status === "failed") break;
    await page.waitForTimeout(100);
  }
  check(status === "succeeded", `the form's job succeeded (status ${status})`);
  check(seen.size >= 3, `the chart redrew as events came (${seen.size} states seen)`);
  const picked = await page.$$eval("#metric-picks input:checked", (xs) => xs.map((x) => x.value));
  check(picked.length >= 2 && picked.includes("loss"), `several metrics drawn: ${picked}`);
  check(await page.isChecked("#logy"), "log scale by default");
  const events = await page.evaluate(() => Number(document.querySelector("#chart").dataset.events));
  // How many progress events arrive depends on the machine (throttled to
  // ~10 per second): require several, and every one drawn.
  check(events >= 3 && await points(page, "#chart") >= 2 * events,
    `the chart has every event's points for each metric (${events} events)`);
  await waitResult(page, "measures");
  await waitResult(page, "history");
  // The list is polled every second: it catches up.
  await page.waitForSelector('#jobs tr[data-status="succeeded"]', { timeout: T });
  await shot(page, "dashboard-result-two_layer.png");

  // 4. Cancel from the page: a run that would go on for minutes stops.
  await page.click("#new-job");
  await page.selectOption("#kind", "two_layer");
  await page.click("#load-example");
  await page.fill('[data-param="max_iter"]', "100000000");
  await page.click("#submit");
  await waitFn(page, () => document.querySelector("#job-status").textContent === "running"
    && Number(document.querySelector("#chart").dataset.events) > 0, null, { timeout: T });
  await page.click("#cancel");
  await waitFn(page, () => document.querySelector("#job-status").textContent ===
    "cancelled", null, { timeout: T });
  check(await page.isHidden("#cancel"), "no cancel button on a cancelled job");

  // 5. Examples one click away: a game's strategies, predictor curves.
  for (const [kind, view] of [["nash", "measures"], ["scaling_path", "curves"],
    ["ot", "measures"]]) {
    await page.click("#new-job");
    const before = await page.evaluate(() => location.hash);
    await page.click(`[data-run="${kind}"]`);
    await waitFn(page, (b) => location.hash !== b && /^#job\//.test(location.hash),
      before, { timeout: T });
    await waitResult(page, view);
    check((await page.textContent("#job-title")).startsWith(kind), `the ${kind} job is shown`);
    if (kind === "nash") { // one chart per player, particles with their aggregation
      const charts = await page.$$eval("#result figure[data-view=measures] canvas",
        (cs) => cs.map((c) => c.title));
      check(charts.join() === "x,y", `one strategy chart per player: ${charts}`);
    }
    if (kind === "ot") { // the inputs, from the body the page submitted
      const charts = await page.$$eval("#result figure[data-view=measures] canvas",
        (cs) => cs.map((c) => [c.title, Number(c.dataset.points)]));
      check(JSON.stringify(charts) === '[["inputs",5]]', `ot inputs: ${JSON.stringify(charts)}`);
    }
    await shot(page, `dashboard-result-${kind}.png`);
  }

  // 6. A barycenter result (the kind comes later): its support drawn with the
  // input measures of the body the page submitted.
  const bary = await page.evaluate(async () => {
    const { renderResult } = await import("/ui/views.js");
    const div = document.createElement("div");
    div.id = "bary";
    document.body.append(div);
    const m = (pts) => ({ points: pts, weights: pts.map(() => 1 / pts.length) });
    renderResult(div, "barycenter", { support: m([[0.5, 0.5], [1.5, 0.5], [1, 1.2]]),
      objective: 0.25, iterations: 40, converged: true },
      { kind: "barycenter", params: { measures: [m([[0, 0], [1, 0]]), m([[1, 1], [2, 1], [2, 2]])] } });
    const cs = [...div.querySelectorAll("figure[data-view=measures] canvas")];
    return cs.map((c) => [c.title, Number(c.dataset.points)]);
  });
  check(JSON.stringify(bary) === JSON.stringify([["support and inputs", 8]]),
    `barycenter view: ${JSON.stringify(bary)}`);

  check(problems.length === 0, "no errors or foreign requests:\n" + problems.join("\n"));
  await browser.close();
  console.log("dashboard: ok");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
