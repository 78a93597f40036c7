// views.js — draw what a result is. The result trees of the kinds differ,
// so the views are found by shape rather than by kind:
//   measures   objects with `points` (rows) and optional `weights`, and
//              particle systems {a, w} (neurons w weighted by a): 1-D ones
//              as stems, others as weighted point clouds (first two
//              coordinates); the job's input measures, when the page knows
//              the body, are drawn with them (OT source/target, barycenter
//              inputs); x / x_aggregated go together (game strategies)
//   histories  objects whose members are equal-length number arrays
//              (loss, gap, sharpness over iterations)
//   curves     predictors f over x_eval (rows per alpha), with the training
//              points
//   vectors    other number arrays (potentials f, g; coefficients)
//   matrices   heat maps (transport plans, Jacobians)
//   scalars    a table; and the whole JSON, folded.
import { drawLines, drawScatter, drawStems, drawHeatmap, palette, fmt } from "./chart.js";

const isNum = (v) => typeof v === "number" || v === null;
const isVec = (v) => Array.isArray(v) && v.length > 0 && v.every(isNum);
const isMat = (v) => Array.isArray(v) && v.length > 0 && v.every(isVec) &&
  v.every((r) => r.length === v[0].length);
const isMeasure = (v) => v && typeof v === "object" && !Array.isArray(v) && isMat(v.points) &&
  (v.weights === undefined || isVec(v.weights));
const isShort = (v) => Array.isArray(v) && v.length > 0 && v.length <= 8 &&
  v.every((x) => x === null || typeof x !== "object");
const isParticles = (v) => v && typeof v === "object" && isMat(v.w) && isVec(v.a) &&
  v.a.length === v.w.length;

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}

function figure(view, caption, canvases, wide = false) {
  const f = el("figure", { "data-view": view }, el("figcaption", {}, caption));
  const grid = el("div", { class: wide ? "grid wide" : "grid" });
  for (const c of canvases) grid.append(c);
  f.append(grid);
  return f;
}

// Draw after the canvas is in the document (it needs its CSS size).
function canvasFor(draw) {
  const c = el("canvas");
  c.draw = () => draw(c);
  return c;
}

// Measures found in a tree (depth-first, paths like "x_aggregated").
function collect(tree, used) {
  const found = [];
  const walk = (v, path, depth) => {
    if (!v || typeof v !== "object" || depth > 3) return;
    if (isMeasure(v)) {
      found.push({ name: path, points: v.points, weights: v.weights || null });
      used.add(path.split("/")[0]);
      return;
    }
    if (isParticles(v)) {
      found.push({ name: path, points: v.w, weights: v.a, particles: true });
      used.add(path.split("/")[0]);
      return;
    }
    if (Array.isArray(v)) {
      if (v.length <= 16) v.forEach((x, i) => walk(x, `${path}/${i}`, depth + 1));
      return;
    }
    for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}/${k}` : k, depth + 1);
  };
  walk(tree, "", 0);
  return found;
}

// Input measures of the job body, when the page has it.
function inputs(body) {
  const p = body && body.params;
  if (!p) return [];
  const out = [];
  for (const k of ["source", "target"])
    if (isMeasure(p[k])) out.push({ name: `input ${k}`, points: p[k].points,
      weights: p[k].weights || null });
  if (Array.isArray(p.measures))
    p.measures.forEach((m, i) => {
      if (isMeasure(m)) out.push({ name: `input ${i}`, points: m.points, weights: m.weights || null });
    });
  return out;
}

// Which measures share a chart: inputs with the result's support; a
// player's particles with their aggregation; all of deconvolution's.
function groups(kind, ms) {
  const g = new Map();
  const support = ms.some((m) => m.name === "support");
  const key = (m) => {
    if (kind === "deconvolution") return "spikes, recovered and particles";
    if (m.name.startsWith("input") || m.name === "support")
      return support ? "support and inputs" : "inputs";
    return m.name.replace(/_(aggregated|init)$/, "");
  };
  for (const m of ms) {
    const k = key(m);
    if (!g.has(k)) g.set(k, []);
    g.get(k).push(m);
  }
  return g;
}

function measureFigure(kind, ms) {
  const canvases = [];
  for (const [name, set] of groups(kind, ms)) {
    const d = Math.max(...set.map((m) => m.points[0].length));
    const sets = set.map((m, i) => ({ name: m.name, color: palette[i % palette.length],
      pts: m.points.map((p) => [p[0], p.length > 1 ? p[1] : 0]), xs: m.points.map((p) => p[0]),
      ws: m.weights || m.points.map(() => 1 / m.points.length), w: m.weights }));
    const note = d > 2 ? ` (coordinates 1–2 of ${d})` : "";
    const c = canvasFor((cv) => (d === 1 ? drawStems(cv, sets) : drawScatter(cv, sets)));
    c.title = name + note;
    canvases.push(el("div", {}, el("div", { class: "muted" }, name + note), c));
  }
  return figure("measures", "Measures: 1-D as stems (height = weight), otherwise points " +
    "(area ∝ |weight|, hollow = negative)", canvases);
}

const X_KEYS = ["iteration", "iterations", "step", "time"];

function historyFigures(result, used) {
  const figs = [];
  for (const [name, h] of Object.entries(result)) {
    if (!h || typeof h !== "object" || Array.isArray(h)) continue;
    const cols = Object.entries(h).filter(([, v]) => isVec(v));
    if (cols.length < 2 || cols.length !== Object.keys(h).length) continue;
    const n = cols[0][1].length;
    if (n < 2 || cols.some(([, v]) => v.length !== n)) continue;
    used.add(name);
    const xk = X_KEYS.find((k) => h[k]);
    const xs = xk ? h[xk] : cols[0][1].map((_, i) => i);
    const series = cols.filter(([k]) => k !== xk).map(([k, v], i) =>
      ({ name: k, xs, ys: v, color: palette[i % palette.length] }));
    const all = series.flatMap((s) => s.ys).filter((v) => v !== null);
    const logY = all.every((v) => v > 0) && Math.max(...all) / Math.min(...all) > 100;
    figs.push(figure("history", `${name} over ${xk || "index"}${logY ? " (log scale)" : ""}`,
      [canvasFor((cv) => drawLines(cv, series, { logY, xLabel: xk }))]));
  }
  return figs;
}

// Predictor curves: every row (or vector) as long as x_eval, over x_eval;
// the training points as dots.
function curvesFigure(result, used) {
  if (!isMat(result.x_eval) && !isVec(result.x_eval)) return null;
  const xs = result.x_eval.map((r) => (Array.isArray(r) ? r[0] : r));
  const n = xs.length, series = [];
  for (const [k, v] of Object.entries(result)) {
    if (k === "x_eval") continue;
    if (isMat(v) && v[0].length === n) {
      v.forEach((row, i) => {
        const tag = isVec(result.alphas) && result.alphas.length === v.length
          ? `alpha=${fmt(result.alphas[i])}` : String(i);
        series.push({ name: `${k} ${tag}`, xs, ys: row });
      });
      used.add(k);
    } else if (isVec(v) && v.length === n) {
      series.push({ name: k, xs, ys: v });
      used.add(k);
    }
  }
  if (!series.length) return null;
  used.add("x_eval");
  if (isMat(result.x_train) && isVec(result.y_train)) {
    series.push({ name: "training points", xs: result.x_train.map((r) => r[0]),
      ys: result.y_train, dots: true });
    used.add("x_train").add("y_train");
  }
  series.forEach((s, i) => (s.color = palette[i % palette.length]));
  return figure("curves", "Predictors over x_eval", [canvasFor((cv) => drawLines(cv, series))],
    true);
}

function vectorFigure(result, used) {
  const byGroup = new Map();
  for (const [k, v] of Object.entries(result)) {
    if (used.has(k) || !isVec(v) || v.length < 2) continue;
    const g = `${k.split("_")[0]}/${v.length}`;
    if (!byGroup.has(g)) byGroup.set(g, []);
    byGroup.get(g).push([k, v]);
    used.add(k);
  }
  if (!byGroup.size) return null;
  const canvases = [...byGroup.values()].slice(0, 8).map((vs) =>
    canvasFor((cv) => drawLines(cv, vs.map(([k, v], i) => ({ name: k, xs: v.map((_, j) => j),
      ys: v, color: palette[i % palette.length] })), { xLabel: "index" })));
  return figure("vectors", "Vectors (by index)", canvases);
}

function matrixFigure(result, used) {
  const canvases = [];
  for (const [k, v] of Object.entries(result)) {
    if (used.has(k) || !isMat(v) || v.length > 400 || v[0].length > 400 ||
        (v.length === 1 && v[0].length === 1)) continue;
    used.add(k);
    canvases.push(el("div", {}, el("div", { class: "muted" }, k),
      canvasFor((cv) => drawHeatmap(cv, v))));
  }
  return canvases.length ? figure("matrix", "Matrices", canvases) : null;
}

function scalarTable(result, used) {
  const t = el("table", { class: "scalars" });
  const show = (v) => (typeof v === "number" ? String(+v.toPrecision(8)) : String(v));
  for (const [k, v] of Object.entries(result)) {
    if (isShort(v)) { // a short list (one value per alpha, per player, ...)
      t.append(el("tr", {}, el("td", {}, k), el("td", {}, v.map(show).join("   "))));
      used.add(k);
    }
    if (v !== null && typeof v === "object") continue;
    t.append(el("tr", {}, el("td", {}, k), el("td", {}, show(v))));
  }
  return el("figure", { "data-view": "scalars" }, el("figcaption", {}, "Values"), t);
}

function rawJson(result) {
  let text = JSON.stringify(result, null, 1);
  if (text.length > 100000) text = text.slice(0, 100000) + "\n… (truncated; see result JSON)";
  return el("details", {}, el("summary", {}, "JSON"), el("pre", {}, text));
}

// Render result (the `result` member) of a job of kind into container;
// body is the job's request body when known (for input measures).
export function renderResult(container, kind, result, body) {
  container.replaceChildren(el("h3", {}, "Result"));
  const used = new Set();
  const figs = [scalarTable(result, used)];
  const ms = collect(result, used).concat(inputs(body));
  if (ms.length) figs.push(measureFigure(kind, ms));
  const curves = curvesFigure(result, used);
  if (curves) figs.push(curves);
  figs.push(...historyFigures(result, used));
  const vec = vectorFigure(result, used);
  if (vec) figs.push(vec);
  const mat = matrixFigure(result, used);
  if (mat) figs.push(mat);
  figs.push(rawJson(result));
  container.append(...figs);
  redrawResult(container);
}

export function redrawResult(container) {
  for (const c of container.querySelectorAll("canvas")) if (c.draw) c.draw();
}
