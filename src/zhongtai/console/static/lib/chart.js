// Small SVG charts drawn by hand (no library): a line chart over time and a bar chart, with axes, "nice"
// ticks, numbers and dates in the console's locale, and a tooltip on every point or bar through the SVG
// <title> element. Colours are presentation attributes (allowed under the console's CSP, unlike inline
// style text); every label is set as text, never parsed.

import { fmt, getLocale } from "./i18n.js";

const NS = "http://www.w3.org/2000/svg";
export const PALETTE = ["#2457c5", "#c5221f", "#137333", "#b06000", "#8430ce", "#007b83", "#d01884", "#5f6368"];
const MARGIN = { top: 12, right: 16, bottom: 28, left: 56 };

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Ticks at 1, 2 or 5 times a power of ten, covering [min, max].
export function niceTicks(min, max, count = 5) {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) { const pad = Math.abs(min) || 1; min -= pad / 2; max += pad / 2; }
  const raw = (max - min) / Math.max(count, 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((c) => c >= raw) || 10 * power;
  const ticks = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

const TIME_STEPS = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 30 * 86400]
  .map((sec) => sec * 1000);

// Time ticks at a round step (a minute to a month) so that about `count` of them fall in [min, max].
export function timeTicks(min, max, count = 6) {
  const span = Math.max(max - min, 60_000);
  const step = TIME_STEPS.find((st) => span / st <= count) || TIME_STEPS[TIME_STEPS.length - 1];
  const offset = new Date(min).getTimezoneOffset() * 60_000; // round in local time, as the labels read
  const first = Math.ceil((min - offset) / step) * step + offset;
  const ticks = [];
  for (let v = first; v <= max; v += step) ticks.push(v);
  return { ticks, step };
}

function timeLabel(value, step) {
  const tag = getLocale() === "zh" ? "zh-CN" : "en-GB";
  const opts = step >= 86400_000 ? { month: "short", day: "numeric" }
    : step >= 3600_000 ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }
      : { hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(tag, opts).format(new Date(value));
}

function frame(width, height, title) {
  return s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
    "aria-label": title, preserveAspectRatio: "xMidYMid meet" }, s("title", {}, title));
}

function yAxis(svg, ticks, y, width, format) {
  for (const v of ticks) {
    svg.append(s("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(v), y2: y(v), stroke: "#e4e7ec" }));
    svg.append(s("text", { x: MARGIN.left - 6, y: y(v) + 4, "text-anchor": "end" }, format(v)));
  }
}

// A line chart of series over time. series: [{ name, points: [{ x: Date|ISO text|ms, y: number|null,
// flagged?: bool, note?: text }] }] — a flagged point is drawn larger and ringed, its note added to its tip;
// guides: [{ y, label }] drawn as dashed lines (thresholds); yFormat formats a value for the axis and tips.
// xPad (ms) widens the time axis around a single moment (a day's point wants half a day either side).
export function lineChart({ series, title = "", width = 860, height = 260, yFormat = (v) => fmt.number(v), guides = [],
  yMin, xPad = 3600_000 }) {
  const svg = frame(width, height, title);
  const all = series.flatMap((se) => se.points.map((p) => ({ x: new Date(p.x).getTime(), y: p.y })))
    .filter((p) => Number.isFinite(p.x) && p.y !== null && p.y !== undefined && Number.isFinite(Number(p.y)));
  if (!all.length) return svg;
  let xMin = Math.min(...all.map((p) => p.x)), xMax = Math.max(...all.map((p) => p.x));
  if (xMin === xMax) { xMin -= xPad; xMax += xPad; }
  const ys = [...all.map((p) => Number(p.y)), ...guides.map((g) => g.y)];
  const yTicks = niceTicks(yMin ?? Math.min(0, ...ys), Math.max(...ys));
  const [y0, y1] = [yTicks[0], yTicks[yTicks.length - 1]];
  const x = (v) => MARGIN.left + ((v - xMin) / (xMax - xMin)) * (width - MARGIN.left - MARGIN.right);
  const y = (v) => height - MARGIN.bottom - ((v - y0) / (y1 - y0 || 1)) * (height - MARGIN.top - MARGIN.bottom);
  yAxis(svg, yTicks, y, width, yFormat);
  const { ticks, step } = timeTicks(xMin, xMax);
  for (const v of ticks) {
    svg.append(s("line", { x1: x(v), x2: x(v), y1: height - MARGIN.bottom, y2: height - MARGIN.bottom + 4, stroke: "#98a2b3" }));
    // A label at either edge is anchored inwards so that it is not cut off.
    const anchor = x(v) > width - MARGIN.right - 40 ? "end" : x(v) < MARGIN.left + 40 ? "start" : "middle";
    svg.append(s("text", { x: x(v), y: height - MARGIN.bottom + 16, "text-anchor": anchor }, timeLabel(v, step)));
  }
  svg.append(s("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: height - MARGIN.bottom, y2: height - MARGIN.bottom, stroke: "#98a2b3" }));
  for (const g of guides) {
    svg.append(s("line", { class: "guide", x1: MARGIN.left, x2: width - MARGIN.right, y1: y(g.y), y2: y(g.y),
      stroke: "#b06000", "stroke-dasharray": "4 3" }, s("title", {}, `${g.label}: ${yFormat(g.y)}`)));
    svg.append(s("text", { class: "guide-label", x: MARGIN.left + 4, y: y(g.y) - 3 }, g.label));
  }
  series.forEach((se, i) => {
    const colour = se.colour || PALETTE[i % PALETTE.length];
    const points = se.points.map((p) => ({ ...p, x: new Date(p.x).getTime() }))
      .filter((p) => Number.isFinite(p.x) && p.y !== null && p.y !== undefined).sort((a, b) => a.x - b.x);
    if (points.length > 1) {
      svg.append(s("polyline", { fill: "none", stroke: colour, "stroke-width": 2, "data-series": se.name,
        points: points.map((p) => `${x(p.x).toFixed(1)},${y(Number(p.y)).toFixed(1)}`).join(" ") }));
    }
    for (const p of points) {
      const tip = `${se.name}: ${yFormat(Number(p.y))} · ${fmt.datetime(p.x)}${p.note ? ` · ${p.note}` : ""}`;
      svg.append(s("circle", { cx: x(p.x), cy: y(Number(p.y)), r: p.flagged ? 5.5 : 3.5, fill: colour,
        stroke: p.flagged ? "#101828" : null, "stroke-width": p.flagged ? 2 : null, "data-series": se.name,
        "data-flagged": p.flagged ? "true" : null }, s("title", {}, tip)));
    }
  });
  return svg;
}

// A bar chart. bars: [{ label, value, tone? }] (tone picks a colour: ok, warn, bad; the palette otherwise).
export function barChart({ bars, title = "", width = 860, height = 180, yFormat = (v) => fmt.number(v) }) {
  const svg = frame(width, height, title);
  if (!bars.length) return svg;
  const yTicks = niceTicks(0, Math.max(...bars.map((b) => Number(b.value) || 0), 1));
  const top = yTicks[yTicks.length - 1];
  const y = (v) => height - MARGIN.bottom - (v / top) * (height - MARGIN.top - MARGIN.bottom);
  yAxis(svg, yTicks, y, width, yFormat);
  const slot = Math.min((width - MARGIN.left - MARGIN.right) / bars.length, 120); // a few bars stay bars
  const tones = { ok: "#137333", warn: "#b06000", bad: "#c5221f" };
  bars.forEach((b, i) => {
    const value = Number(b.value) || 0;
    const left = MARGIN.left + i * slot + slot * 0.15;
    svg.append(s("rect", { x: left, y: y(value), width: slot * 0.7, height: Math.max(y(0) - y(value), 0),
      fill: tones[b.tone] || PALETTE[i % PALETTE.length], "data-label": b.label },
    s("title", {}, `${b.label}: ${yFormat(value)}`)));
    svg.append(s("text", { x: left + slot * 0.35, y: height - MARGIN.bottom + 16, "text-anchor": "middle" }, b.label));
  });
  svg.append(s("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(0), y2: y(0), stroke: "#98a2b3" }));
  return svg;
}

// A legend for the series of a chart, in the same colours.
export function legend(names) {
  const box = document.createElement("div");
  box.className = "legend";
  names.forEach((name, i) => {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.className = "swatch";
    swatch.style.background = PALETTE[i % PALETTE.length];
    item.append(swatch, document.createTextNode(name));
    box.append(item);
  });
  return box;
}
