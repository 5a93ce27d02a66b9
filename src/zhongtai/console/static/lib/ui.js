// DOM helpers every page uses. Values are always set as text (never parsed as HTML), so nothing a record
// holds can inject markup or script into the console.

import { t, fmt } from "./i18n.js";

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === "class") el.className = Array.isArray(v) ? v.filter(Boolean).join(" ") : v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function badge(text, tone = "neutral") { return h("span", { class: `badge ${tone}` }, text); }

export function loading() { return h("p", { class: "muted", role: "status" }, t("app.loading")); }

export function errorBox(err, retry) {
  const message = err && err.status === 0 ? t("app.unreachable")
    : t("app.error", { status: err && err.status, message: err && err.message });
  return h("div", { class: "error", role: "alert" }, message,
    err && err.hint ? h("div", { class: "hint" }, err.hint) : null,
    retry ? h("button", { type: "button", onclick: retry }, t("app.retry")) : null);
}

export function toast(message, tone = "ok") {
  let box = document.getElementById("toasts");
  if (!box) { box = h("div", { id: "toasts", role: "status" }); document.body.append(box); }
  const item = h("div", { class: `toast ${tone}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), 5000);
}

// A definition list of label/value pairs; values rendered as text, numbers per locale.
export function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter(Boolean).map(([label, value]) => [
    h("dt", {}, label),
    h("dd", {}, value instanceof Node ? value : show(value)),
  ]));
}

// Columns whose numbers are identifiers (customer_id 101450, order_no, member number): shown as typed, since
// a thousands separator would make them look like amounts.
const IDENTIFIER = /(^id$|_id$|_no$|^key$|_key$|_code$|number$)/i;

export function show(value, column) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "number") return column && IDENTIFIER.test(column) ? String(value) : fmt.number(value);
  if (typeof value === "boolean") return value ? t("ui.yes") : t("ui.no");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// A modal that resolves true when confirmed: deleting or changing what a user made needs their say-so.
export function confirmDialog(title, body, { confirmLabel, danger = false } = {}) {
  return new Promise((resolve) => {
    const done = (answer) => { dialog.close(); dialog.remove(); resolve(answer); };
    const dialog = h("dialog", { class: "modal" },
      h("h3", {}, title),
      body instanceof Node ? body : h("p", {}, body),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => done(false) }, t("ui.cancel")),
        h("button", { type: "button", class: danger ? "danger" : "primary", onclick: () => done(true) },
          confirmLabel || t("ui.confirm"))));
    dialog.addEventListener("cancel", () => resolve(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

// A table whose rows come from the server a page at a time: `load({offset, limit, filters})` resolves to
// {rows, total?}; total may be unknown (a log too long to count), then "next" shows while a page is full.
// Only the visible page is in the DOM, so a million-row log costs what one page costs.
export function dataTable({ columns, load, pageSize = 50, filters = [], onRow, rowKey }) {
  const state = { offset: 0, values: {} };
  const body = h("tbody");
  const status = h("span", { class: "muted" });
  const prev = h("button", { type: "button", onclick: () => go(state.offset - pageSize) }, t("ui.prev"));
  const next = h("button", { type: "button", onclick: () => go(state.offset + pageSize) }, t("ui.next"));
  const inputs = filters.map((f) => {
    const input = f.options
      ? h("select", { name: f.key, "aria-label": f.label }, h("option", { value: "" }, f.label),
          f.options.map((o) => h("option", { value: o.value ?? o }, o.label ?? o)))
      : h("input", { name: f.key, placeholder: f.label, "aria-label": f.label, type: f.type || "search" });
    if (f.value) input.value = f.value;
    return input;
  });
  const form = filters.length
    ? h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); go(0); } }, inputs,
        h("button", { type: "submit" }, t("ui.filter")))
    : null;
  const table = h("table", { class: "data" },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.numeric ? "num" : null }, c.label)))),
    body);
  const root = h("div", { class: "datatable" }, form, h("div", { class: "scroll" }, table),
    h("div", { class: "pager" }, prev, status, next));

  async function go(offset) {
    state.offset = Math.max(0, offset);
    for (const input of inputs) state.values[input.name] = input.value.trim();
    clear(body, h("tr", {}, h("td", { colspan: columns.length }, loading())));
    let page;
    try {
      page = await load({ offset: state.offset, limit: pageSize, filters: { ...state.values } });
    } catch (err) {
      clear(body, h("tr", {}, h("td", { colspan: columns.length }, errorBox(err, () => go(state.offset)))));
      return;
    }
    const rows = page.rows || [];
    clear(body, rows.length ? rows.map((row) => {
      const tr = h("tr", { dataset: rowKey ? { key: String(rowKey(row)) } : {} },
        columns.map((c) => h("td", { class: c.numeric ? "num" : null }, c.render ? c.render(row) : show(row[c.key], c.key))));
      if (onRow) { tr.classList.add("link"); tr.tabIndex = 0; tr.addEventListener("click", () => onRow(row));
        tr.addEventListener("keydown", (e) => { if (e.key === "Enter") onRow(row); }); }
      return tr;
    }) : h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, t("ui.empty"))));
    const from = rows.length ? state.offset + 1 : 0, to = state.offset + rows.length;
    status.textContent = !rows.length && state.offset === 0 ? ""
      : page.total === undefined || page.total === null
      ? t("ui.rowsopen", { from: fmt.number(from), to: fmt.number(to) })
      : t("ui.rows", { from: fmt.number(from), to: fmt.number(to), total: fmt.number(page.total) });
    prev.disabled = state.offset === 0;
    next.disabled = page.total === undefined || page.total === null ? rows.length < pageSize : to >= page.total;
  }
  root.reload = () => go(state.offset);
  go(0);
  return root;
}
