// app.js — the dashboard: the job list (polled), the submit form (built
// from each kind's params JSON Schema, examples one click away), and for the
// selected job its live convergence chart (fed by the SSE event stream,
// resumed with Last-Event-ID) and its result views (views.js). Talks only
// to the daemon that served it (docs/api.md); the token, if the daemon has
// one, is kept in localStorage and sent as a bearer token.
import { drawLines, palette } from "./chart.js";
import { renderResult, redrawResult } from "./views.js";

const $ = (s) => document.querySelector(s);
const TERMINAL = ["succeeded", "failed", "cancelled"];
const state = {
  token: localStorage.getItem("measured.token") || "",
  kinds: [],
  job: null,      // the selected job: {id, kind, status, series, picks, auto, ctrl, ...}
  bodies: JSON.parse(sessionStorage.getItem("measured.bodies") || "{}"),
};

// ---- API -----------------------------------------------------------------

class ApiError extends Error {
  constructor(status, problem) {
    super(`${status} ${problem.title || ""}: ${problem.detail || ""}`);
    this.status = status;
    this.problem = problem;
  }
}

function headers(extra = {}) {
  const h = { Accept: "application/json", ...extra };
  if (state.token) h.Authorization = "Bearer " + state.token;
  return h;
}

function setConn(cls, text) {
  const c = $("#conn");
  c.className = "conn " + cls;
  c.textContent = text;
  $("#token-form").classList.toggle("needed", cls === "bad" && text === "token needed");
}

async function api(method, path, body) {
  let resp;
  try {
    resp = await fetch(path, { method, body,
      headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) });
  } catch (e) {
    setConn("bad", "daemon unreachable");
    throw e;
  }
  const text = await resp.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!resp.ok) {
    if (resp.status === 401) setConn("bad", "token needed");
    throw new ApiError(resp.status, json || { title: text });
  }
  setConn("ok", "connected");
  return json;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- job list --------------------------------------------------------------

function progressCell(job) {
  const p = job.progress || {};
  const f = typeof p.fraction === "number" ? Math.min(1, Math.max(0, p.fraction)) : null;
  const td = document.createElement("td");
  if (f !== null) {
    const mini = document.createElement("span");
    mini.className = "mini";
    const fill = document.createElement("div");
    fill.style.width = `${(100 * f).toFixed(1)}%`;
    mini.append(fill);
    td.append(mini);
  }
  td.append(`it ${p.iteration || 0}`);
  return td;
}

function jobRow(job) {
  const tr = document.createElement("tr");
  tr.dataset.id = job.id;
  tr.dataset.status = job.status;
  tr.title = job.id;
  const badge = document.createElement("span");
  badge.className = `badge ${job.status}`;
  badge.textContent = job.status;
  const cells = [badge, job.kind, job.label || "", null,
    new Date(job.created_at).toLocaleTimeString()];
  cells.forEach((c, i) => {
    if (i === 3) { tr.append(progressCell(job)); return; }
    const td = document.createElement("td");
    td.append(c);
    tr.append(td);
  });
  if (state.job && state.job.id === job.id) tr.classList.add("selected");
  tr.addEventListener("click", () => { location.hash = `#job/${job.id}`; });
  return tr;
}

async function refreshJobs() {
  const st = $("#filter-status").value;
  const page = await api("GET", "/v1/jobs?limit=50" + (st ? `&status=${st}` : ""));
  $("#jobs tbody").replaceChildren(...page.jobs.map(jobRow));
  $("#jobs-empty").hidden = page.jobs.length > 0;
}

async function pollJobs() {
  for (;;) {
    if (!document.hidden) {
      try { await refreshJobs(); } catch { /* shown in the connection badge */ }
    }
    await sleep(1000);
  }
}

// ---- the submit form -------------------------------------------------------

function typeOf(s) {
  if (s.enum) return "enum";
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== "null") : s.type;
  return ["number", "integer", "boolean", "string"].includes(t) ? t : "json";
}

// One input per top-level param: numbers, booleans and enums as controls,
// strings as text, anything structured (measures, matrices, games) as JSON.
function fieldFor(name, s, required) {
  const t = typeOf(s);
  let input;
  if (t === "enum" || t === "boolean") {
    input = document.createElement("select");
    const opts = t === "enum" ? s.enum : [true, false];
    input.append(new Option(s.default !== undefined ? `(default: ${s.default})` : "(unset)", ""));
    for (const o of opts) input.append(new Option(String(o), JSON.stringify(o)));
  } else if (t === "number" || t === "integer") {
    input = document.createElement("input");
    input.type = "number";
    input.step = t === "integer" ? "1" : "any";
    for (const [k, a] of [["minimum", "min"], ["maximum", "max"]])
      if (typeof s[k] === "number") input[a] = s[k];
  } else if (t === "string") {
    input = document.createElement("input");
    input.type = "text";
  } else {
    input = document.createElement("textarea");
    input.rows = 1;
    input.spellcheck = false;
  }
  input.dataset.param = name;
  input.dataset.type = t;
  if (s.default !== undefined && input.tagName !== "SELECT")
    input.placeholder = typeof s.default === "object" ? JSON.stringify(s.default) : String(s.default);
  const label = document.createElement("label");
  label.textContent = name;
  label.htmlFor = input.id = `p-${name}`;
  if (required) label.className = "req";
  const cell = document.createElement("div");
  cell.dataset.field = name;
  const doc = document.createElement("span");
  doc.className = "doc";
  doc.textContent = s.description || "";
  cell.append(input, doc);
  input.addEventListener("input", bodyFromForm);
  return [label, cell];
}

function currentKind() {
  return state.kinds.find((k) => k.name === $("#kind").value);
}

function buildForm() {
  const k = currentKind();
  if (!k) return;
  $("#kind-desc").textContent = k.description || "";
  const s = k.params_schema || {};
  const req = new Set(s.required || []);
  const rows = [];
  for (const [name, sub] of Object.entries(s.properties || {}))
    rows.push(...fieldFor(name, sub, req.has(name)));
  $("#fields").replaceChildren(...rows);
  $("#submit-errors").textContent = "";
  bodyFromForm();
}

function setField(input, v) {
  const t = input.dataset.type;
  if (input.tagName === "SELECT") input.value = JSON.stringify(v);
  else if (t === "json" || (typeof v === "object" && v !== null)) input.value = JSON.stringify(v);
  else input.value = String(v);
  if (input.tagName === "TEXTAREA") input.rows = Math.min(6, 1 + Math.floor(input.value.length / 70));
}

function loadExample(kindName) {
  if (kindName) $("#kind").value = kindName;
  buildForm();
  const ex = currentKind().example || {};
  for (const [k, v] of Object.entries(ex)) {
    const input = document.querySelector(`[data-param="${k}"]`);
    if (input) setField(input, v);
  }
  bodyFromForm();
}

// The body from the form; fields left empty take the kind's defaults.
function formBody() {
  const params = {};
  const bad = [];
  for (const input of document.querySelectorAll("[data-param]")) {
    const v = input.value.trim();
    if (!v) continue;
    const t = input.dataset.type;
    try {
      if (input.tagName === "SELECT" || t === "json") params[input.dataset.param] = JSON.parse(v);
      else if (t === "number" || t === "integer") params[input.dataset.param] = Number(v);
      else params[input.dataset.param] = v;
    } catch {
      bad.push(input.dataset.param);
      params[input.dataset.param] = v; // sent as a string: the daemon names the field
    }
  }
  const body = { kind: $("#kind").value, params };
  const label = $("#env-label").value.trim();
  if (label) body.label = label;
  if ($("#env-priority").value !== "") body.priority = Number($("#env-priority").value);
  if ($("#env-timeout").value !== "") body.timeout_s = Number($("#env-timeout").value);
  return { body, bad };
}

function bodyFromForm() {
  const { body, bad } = formBody();
  $("#body").value = JSON.stringify(body, null, 2);
  $("#submit-errors").textContent = bad.length ? `not JSON: ${bad.join(", ")}` : "";
}

function showProblem(p) {
  for (const c of document.querySelectorAll("[data-field]")) {
    c.classList.remove("invalid");
    c.querySelector(".msg")?.remove();
  }
  const lines = [`${p.title || "Error"}: ${p.detail || ""}`];
  for (const e of p.errors || []) {
    lines.push(`${e.pointer}: ${e.detail}`);
    const m = /^\/params\/([^/]+)/.exec(e.pointer || "");
    const cell = m && document.querySelector(`[data-field="${m[1]}"]`);
    if (cell) {
      cell.classList.add("invalid");
      const msg = document.createElement("span");
      msg.className = "msg";
      msg.textContent = `${e.pointer}: ${e.detail}`;
      cell.append(msg);
    }
  }
  $("#submit-errors").textContent = lines.join("\n");
}

async function submit(text) {
  $("#submit-errors").textContent = "";
  try {
    const job = await api("POST", "/v1/jobs", text);
    if (text.length < 200000) {
      try {
        state.bodies[job.id] = JSON.parse(text);
        sessionStorage.setItem("measured.bodies", JSON.stringify(state.bodies));
      } catch { /* storage full: the views go without the inputs */ }
    }
    location.hash = `#job/${job.id}`;
    refreshJobs().catch(() => {});
  } catch (e) {
    if (e instanceof ApiError) showProblem(e.problem);
    else $("#submit-errors").textContent = String(e);
  }
}

function kindCards() {
  const cards = state.kinds.map((k) => {
    const d = document.createElement("div");
    d.className = "card";
    d.dataset.kind = k.name;
    const b = document.createElement("b");
    b.textContent = k.name;
    const load = document.createElement("button");
    load.type = "button";
    load.textContent = "example";
    load.title = "load this kind's example into the form";
    load.addEventListener("click", () => loadExample(k.name));
    const run = document.createElement("button");
    run.type = "button";
    run.textContent = "run example";
    run.dataset.run = k.name;
    run.addEventListener("click", () =>
      submit(JSON.stringify({ kind: k.name, params: k.example || {}, label: "example" })));
    d.append(b, k.title || "", document.createElement("br"), load, " ", run);
    return d;
  });
  $("#kind-cards").replaceChildren(...cards);
}

async function loadKinds() {
  const r = await api("GET", "/v1/kinds");
  state.kinds = r.kinds;
  $("#kind").replaceChildren(...r.kinds.map((k) => new Option(`${k.name} — ${k.title}`, k.name)));
  kindCards();
  loadExample(r.kinds[0] && r.kinds[0].name);
}

// ---- the selected job: meta, live chart, result ----------------------------

function showJob(job) {
  const j = state.job;
  j.status = job.status;
  $("#job-title").textContent = `${job.kind} ${job.id}`;
  const badge = $("#job-status");
  badge.className = `badge ${job.status}`;
  badge.textContent = job.status;
  $("#cancel").hidden = TERMINAL.includes(job.status);
  $("#job-json").href = `/v1/jobs/${job.id}`;
  const meta = [["label", job.label || "—"], ["priority", job.priority],
    ["created", job.created_at], ["started", job.started_at || "—"],
    ["finished", job.finished_at || "—"], ["attempts", job.attempts ?? "—"]];
  $("#job-meta").replaceChildren(...meta.flatMap(([k, v]) => {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = k;
    dd.textContent = String(v);
    return [dt, dd];
  }));
  $("#job-error").textContent = job.error ? `${job.error.title}: ${job.error.detail}` : "";
  if (job.progress) showProgress(job.progress);
}

function showProgress(p) {
  const f = typeof p.fraction === "number" ? Math.min(1, Math.max(0, p.fraction)) : null;
  $("#job-bar").style.width = f === null ? "0" : `${(100 * f).toFixed(1)}%`;
  $("#job-progress").textContent = `iteration ${p.iteration}` +
    (f === null ? "" : ` · ${(100 * f).toFixed(0)}%`);
}

// Metrics worth a first look: those that move, errors and gaps first.
function autoPicks(series) {
  const score = ([name, s]) => {
    const distinct = new Set(s.ys.slice(-50)).size;
    if (distinct < 2 && s.ys.length > 2) return -1;
    return (/error|gap|loss|residual|grad|objective|displacement/.test(name) ? 2 : 1);
  };
  return [...series].map((e) => [e[0], score(e)]).filter(([, sc]) => sc >= 0)
    .sort((a, b) => b[1] - a[1]).slice(0, 4).map(([n]) => n);
}

function drawChart() {
  const j = state.job;
  if (!j) return;
  j.pending = false;
  if (j.auto) j.picks = new Set(autoPicks(j.series));
  const names = [...j.series.keys()];
  const picks = $("#metric-picks");
  if (picks.childElementCount !== names.length) {
    picks.replaceChildren(...names.map((n) => {
      const l = document.createElement("label");
      const cb = document.createElement("input");
      cb.type = "checkbox";
      cb.value = n;
      cb.addEventListener("change", () => {
        j.auto = false;
        j.picks = new Set([...picks.querySelectorAll("input:checked")].map((c) => c.value));
        drawChart();
      });
      l.append(cb, " " + n);
      return l;
    }));
  }
  for (const cb of picks.querySelectorAll("input")) cb.checked = j.picks.has(cb.value);
  const series = names.filter((n) => j.picks.has(n)).map((n) => ({ name: n,
    xs: j.series.get(n).xs, ys: j.series.get(n).ys, color: palette[names.indexOf(n) % 10] }));
  const canvas = $("#chart");
  drawLines(canvas, series, { logY: $("#logy").checked, xLabel: "iteration" });
  canvas.dataset.events = j.progressEvents;
}

function scheduleDraw() {
  const j = state.job;
  if (j && !j.pending) {
    j.pending = true;
    requestAnimationFrame(drawChart);
  }
}

function onProgress(d) {
  const j = state.job;
  j.progressEvents++;
  for (const [k, v] of Object.entries(d.metrics || {})) {
    if (!j.series.has(k)) j.series.set(k, { xs: [], ys: [] });
    const s = j.series.get(k);
    s.xs.push(d.iteration);
    s.ys.push(v);
  }
  showProgress(d);
  scheduleDraw();
}

async function onEnd(id) {
  const j = state.job;
  const job = await api("GET", `/v1/jobs/${id}`);
  if (state.job !== j) return;
  showJob(job);
  if (job.status !== "succeeded") return;
  const r = await api("GET", `/v1/jobs/${id}/result`);
  if (state.job !== j) return;
  $("#result-json").href = `/v1/jobs/${id}/result`;
  $("#result-json").hidden = false;
  renderResult($("#result"), job.kind, r.result, state.bodies[id]);
}

function parseSse(block) {
  const ev = { id: null, event: "message", data: [] };
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const i = line.indexOf(":");
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? "" : line.slice(i + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") ev.data.push(value);
    else if (field === "event") ev.event = value;
    else if (field === "id") ev.id = Number(value);
  }
  return ev.data.length ? { ...ev, data: JSON.parse(ev.data.join("\n")) } : null;
}

// Follow the job's events until `end`: replay, then live; after a dropped
// connection, resume from the last event seen (Last-Event-ID). fetch, not
// EventSource: it can send the bearer token.
async function follow(j) {
  let last = 0, tries = 0;
  while (!j.ctrl.signal.aborted) {
    try {
      const h = headers({ Accept: "text/event-stream" });
      if (last) h["Last-Event-ID"] = String(last);
      const resp = await fetch(`/v1/jobs/${j.id}/events`, { headers: h, signal: j.ctrl.signal });
      if (resp.status === 404 || resp.status === 401) {
        setConn("bad", resp.status === 401 ? "token needed" : "connected");
        return;
      }
      if (resp.ok) {
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const ev = parseSse(buf.slice(0, i));
            buf = buf.slice(i + 2);
            if (!ev) continue;
            last = ev.id;
            tries = 0;
            if (ev.event === "progress") onProgress(ev.data);
            else if (ev.event === "status") {
              // Queued again after a daemon restart: the re-run starts over.
              if (ev.data.reason) j.series.clear();
              j.status = ev.data.status;
              $("#job-status").className = `badge ${j.status}`;
              $("#job-status").textContent = j.status;
            } else if (ev.event === "end") {
              await onEnd(j.id);
              return;
            }
          }
        }
      }
    } catch (e) {
      if (j.ctrl.signal.aborted) return;
    }
    await sleep(Math.min(2000, 200 * 2 ** tries++));
  }
}

async function selectJob(id) {
  if (state.job) state.job.ctrl.abort();
  const j = { id, status: null, series: new Map(), picks: new Set(), auto: true,
    ctrl: new AbortController(), progressEvents: 0, pending: false };
  state.job = j;
  $("#submit-view").hidden = true;
  $("#job-view").hidden = false;
  $("#result").replaceChildren();
  $("#result-json").hidden = true;
  $("#metric-picks").replaceChildren();
  for (const tr of document.querySelectorAll("#jobs tr"))
    tr.classList.toggle("selected", tr.dataset.id === id);
  try {
    showJob(await api("GET", `/v1/jobs/${id}`));
  } catch (e) {
    $("#job-error").textContent = String(e.message || e);
    return;
  }
  drawChart();
  follow(j);
}

function route() {
  const m = /^#job\/([0-9a-zA-Z]+)$/.exec(location.hash);
  if (m) {
    if (!state.job || state.job.id !== m[1]) selectJob(m[1]);
    return;
  }
  if (state.job) state.job.ctrl.abort();
  state.job = null;
  $("#job-view").hidden = true;
  $("#submit-view").hidden = false;
}

// ---- start -----------------------------------------------------------------

async function start() {
  $("#token").value = state.token;
  $("#token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.token = $("#token").value.trim();
    localStorage.setItem("measured.token", state.token);
    init();
  });
  $("#kind").addEventListener("change", buildForm);
  $("#load-example").addEventListener("click", () => loadExample());
  for (const id of ["#env-label", "#env-priority", "#env-timeout"])
    $(id).addEventListener("input", bodyFromForm);
  $("#submit-form").addEventListener("submit", (e) => {
    e.preventDefault();
    submit($("#body").value);
  });
  $("#new-job").addEventListener("click", () => { location.hash = "#new"; });
  $("#filter-status").addEventListener("change", () => refreshJobs().catch(() => {}));
  $("#cancel").addEventListener("click", async () => {
    if (!state.job) return;
    try { showJob(await api("DELETE", `/v1/jobs/${state.job.id}`)); } catch (e) {
      $("#job-error").textContent = String(e.message || e);
    }
  });
  $("#logy").addEventListener("change", drawChart);
  window.addEventListener("hashchange", route);
  window.addEventListener("resize", () => {
    drawChart();
    redrawResult($("#result"));
  });
  pollJobs();
  init();
}

async function init() {
  try {
    await loadKinds();
  } catch {
    return; // the connection badge says why (token needed, unreachable)
  }
  route();
}

start();
