// chart.js — the dashboard's charts, drawn on <canvas> by hand: lines (log
// or linear y, several series), weighted point clouds, stems (1-D and
// signed measures) and heat maps. No dependency, no network; small enough
// to read. Every draw function sets canvas.dataset.points to the number of
// data points it drew (the browser test reads it).

export const palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2",
  "#ca8a04", "#db2777", "#4b5563", "#65a30d"];

// Size the backing store to the CSS size times the device pixel ratio.
function setup(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 480, h = canvas.clientHeight || 260;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = "11px system-ui, sans-serif";
  ctx.lineJoin = "round";
  return { ctx, w, h };
}

// A short label: 3 significant digits, exponent form when far from 1.
export function fmt(v) {
  if (v === null || v === undefined || !isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e5 || a < 1e-3)
    return v.toExponential(2).replace(/\.?0+e/, "e").replace("e+", "e");
  return String(+v.toPrecision(3));
}

function niceTicks(lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

function logTicks(lo, hi) {
  const a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi));
  const every = Math.max(1, Math.ceil((b - a) / 6));
  const out = [];
  // Few decades: 1, 2, 5 in each; many: every decade (or every few).
  const mult = b - a <= 2 ? [1, 2, 5] : [1];
  for (let e = a; e <= b; e += every)
    for (const m of mult) out.push(m * Math.pow(10, e));
  return out;
}

// Range of the finite values of arrays (positive ones only when log).
function range(arrays, log) {
  let lo = Infinity, hi = -Infinity;
  for (const arr of arrays)
    for (const v of arr) {
      if (v === null || !isFinite(v) || (log && v <= 0)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  if (lo === Infinity) return null;
  if (lo === hi) {
    if (log) { lo /= 2; hi *= 2; } else { const d = Math.abs(lo) * 0.1 || 1; lo -= d; hi += d; }
  }
  return [lo, hi];
}

// Axes in the box {x, y, w, h}; returns the maps from data to pixels.
function frame(ctx, box, xr, yr, opt) {
  const logY = !!opt.logY;
  const ly = logY ? [Math.log10(yr[0]), Math.log10(yr[1])] : yr;
  const pad = (ly[1] - ly[0]) * 0.04;
  const y0 = ly[0] - pad, y1 = ly[1] + pad;
  const X = (v) => box.x + ((v - xr[0]) / (xr[1] - xr[0] || 1)) * box.w;
  const Y = (v) => box.y + box.h - (((logY ? Math.log10(v) : v) - y0) / (y1 - y0 || 1)) * box.h;
  ctx.strokeStyle = "#e5e7eb";
  ctx.fillStyle = "#6b7280";
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of logY ? logTicks(yr[0], yr[1]) : niceTicks(y0, y1, 5)) {
    const py = Y(t);
    if (py < box.y - 1 || py > box.y + box.h + 1) continue;
    ctx.beginPath(); ctx.moveTo(box.x, py); ctx.lineTo(box.x + box.w, py); ctx.stroke();
    ctx.fillText(fmt(t), box.x - 4, py);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of niceTicks(xr[0], xr[1], Math.max(2, Math.floor(box.w / 80)))) {
    const px = X(t);
    ctx.beginPath(); ctx.moveTo(px, box.y); ctx.lineTo(px, box.y + box.h); ctx.stroke();
    ctx.fillText(fmt(t), px, box.y + box.h + 4);
  }
  ctx.strokeStyle = "#9ca3af";
  ctx.strokeRect(box.x, box.y, box.w, box.h);
  if (opt.xLabel) {
    ctx.textAlign = "right";
    ctx.fillText(opt.xLabel, box.x + box.w, box.y + box.h + 18);
  }
  return { X, Y };
}

// Names (and last values) in a row above the plot.
function legend(ctx, items, x, y, maxw) {
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  let cx = x, cy = y;
  for (const it of items) {
    const label = it.value === undefined ? it.name : `${it.name} ${fmt(it.value)}`;
    const tw = ctx.measureText(label).width + 22;
    if (cx + tw > x + maxw && cx > x) { cx = x; cy += 14; }
    ctx.fillStyle = it.color;
    ctx.fillRect(cx, cy - 4, 10, 8);
    ctx.fillStyle = "#111827";
    ctx.fillText(label, cx + 13, cy);
    cx += tw;
  }
  return cy + 10;
}

function empty(ctx, w, h, msg) {
  ctx.fillStyle = "#9ca3af";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(msg, w / 2, h / 2);
}

// Lines: series [{name, xs, ys, color, dots}] (dots: markers, no line);
// opt {logY, xLabel}.
export function drawLines(canvas, series, opt = {}) {
  const { ctx, w, h } = setup(canvas);
  const top = legend(ctx, series.map((s) => ({ name: s.name, color: s.color,
    value: s.ys.length ? s.ys[s.ys.length - 1] : undefined })), 56, 10, w - 66);
  const xr = range(series.map((s) => s.xs), false);
  const yr = range(series.map((s) => s.ys), !!opt.logY);
  let points = 0;
  if (!xr || !yr) {
    empty(ctx, w, h, opt.logY ? "no positive values yet" : "no data yet");
  } else {
    const box = { x: 56, y: top + 4, w: w - 66, h: h - top - 30 };
    const { X, Y } = frame(ctx, box, xr, yr, opt);
    ctx.save();
    ctx.beginPath(); ctx.rect(box.x, box.y, box.w, box.h); ctx.clip();
    for (const s of series) {
      if (s.dots) { // markers only (e.g. training points)
        ctx.fillStyle = s.color;
        s.xs.forEach((x, i) => {
          const v = s.ys[i];
          if (v === null || !isFinite(v) || (opt.logY && v <= 0)) return;
          ctx.beginPath(); ctx.arc(X(x), Y(v), 3.5, 0, 7); ctx.fill();
          points++;
        });
        continue;
      }
      ctx.strokeStyle = ctx.fillStyle = s.color;
      ctx.lineWidth = 1.6;
      ctx.beginPath();
      const ok = (v) => v !== null && isFinite(v) && !(opt.logY && v <= 0);
      for (let i = 0; i < s.xs.length; i++) {
        if (!ok(s.ys[i])) continue;
        const px = X(s.xs[i]), py = Y(s.ys[i]);
        const prev = i > 0 && ok(s.ys[i - 1]), next = i + 1 < s.xs.length && ok(s.ys[i + 1]);
        if (prev) ctx.lineTo(px, py); else ctx.moveTo(px, py);
        if (!prev && !next) ctx.fillRect(px - 2, py - 2, 4, 4); // an isolated point
        points++;
      }
      ctx.stroke();
    }
    ctx.restore();
  }
  canvas.dataset.points = points;
}

// Weighted point clouds: sets [{name, pts: [[x, y]], w: [..]|null, color}].
// Marker area grows with |weight| (relative to the largest in the chart);
// negative weights are drawn hollow.
export function drawScatter(canvas, sets, opt = {}) {
  const { ctx, w, h } = setup(canvas);
  const top = legend(ctx, sets, 56, 10, w - 66);
  const xr = range(sets.map((s) => s.pts.map((p) => p[0])), false);
  const yr = range(sets.map((s) => s.pts.map((p) => p[1])), false);
  let points = 0;
  if (!xr || !yr) {
    empty(ctx, w, h, "no points");
  } else {
    const box = { x: 56, y: top + 4, w: w - 66, h: h - top - 30 };
    const dx = (xr[1] - xr[0]) * 0.05, dy = (yr[1] - yr[0]) * 0.05;
    const { X, Y } = frame(ctx, box, [xr[0] - dx, xr[1] + dx], [yr[0] - dy, yr[1] + dy], opt);
    let wmax = 0;
    for (const s of sets) if (s.w) for (const v of s.w) wmax = Math.max(wmax, Math.abs(v));
    for (const s of sets) {
      ctx.strokeStyle = ctx.fillStyle = s.color;
      ctx.globalAlpha = 0.75;
      s.pts.forEach((p, i) => {
        const wt = s.w ? s.w[i] : null;
        const r = wt === null || !wmax ? 3 : 1.5 + 7 * Math.sqrt(Math.abs(wt) / wmax);
        ctx.beginPath(); ctx.arc(X(p[0]), Y(p[1]), r, 0, 7);
        if (wt !== null && wt < 0) ctx.stroke(); else ctx.fill();
        points++;
      });
      ctx.globalAlpha = 1;
    }
  }
  canvas.dataset.points = points;
}

// Stems: sets [{name, xs, ws, color}]: a vertical line from 0 to the weight
// at each position (1-D measures, signed or not).
export function drawStems(canvas, sets, opt = {}) {
  const { ctx, w, h } = setup(canvas);
  const top = legend(ctx, sets, 56, 10, w - 66);
  const xr = range(sets.map((s) => s.xs), false);
  const yr = range(sets.map((s) => s.ws).concat([[0]]), false);
  let points = 0;
  if (!xr || !yr) {
    empty(ctx, w, h, "no atoms");
  } else {
    const box = { x: 56, y: top + 4, w: w - 66, h: h - top - 30 };
    const dx = (xr[1] - xr[0]) * 0.03 || 0.5;
    const { X, Y } = frame(ctx, box, [xr[0] - dx, xr[1] + dx], yr, opt);
    ctx.strokeStyle = "#9ca3af";
    ctx.beginPath(); ctx.moveTo(box.x, Y(0)); ctx.lineTo(box.x + box.w, Y(0)); ctx.stroke();
    sets.forEach((s, k) => {
      ctx.strokeStyle = ctx.fillStyle = s.color;
      ctx.lineWidth = k === 0 ? 2 : 1.4;
      s.xs.forEach((x, i) => {
        const px = X(x) + (k - (sets.length - 1) / 2) * 1.5, py = Y(s.ws[i]);
        ctx.beginPath(); ctx.moveTo(px, Y(0)); ctx.lineTo(px, py); ctx.stroke();
        ctx.beginPath(); ctx.arc(px, py, 2.5, 0, 7); ctx.fill();
        points++;
      });
    });
  }
  canvas.dataset.points = points;
}

// A matrix as a heat map (row i at the top), with its value range.
export function drawHeatmap(canvas, matrix, opt = {}) {
  const { ctx, w, h } = setup(canvas);
  const n = matrix.length, m = n ? matrix[0].length : 0;
  const r = range(matrix, false);
  if (!n || !m || !r) { empty(ctx, w, h, "empty matrix"); canvas.dataset.points = 0; return; }
  const box = { x: 10, y: 24, w: w - 20, h: h - 34 };
  const cw = box.w / m, ch = box.h / n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      const v = matrix[i][j];
      const t = v === null || !isFinite(v) ? 0 : (v - r[0]) / (r[1] - r[0] || 1);
      ctx.fillStyle = `hsl(${220 - 200 * t}, 80%, ${92 - 55 * t}%)`;
      ctx.fillRect(box.x + j * cw, box.y + i * ch, Math.ceil(cw), Math.ceil(ch));
    }
  ctx.fillStyle = "#111827";
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  ctx.fillText(`${n} × ${m}   min ${fmt(r[0])}   max ${fmt(r[1])}${opt.note || ""}`, 10, 12);
  canvas.dataset.points = n * m;
}
