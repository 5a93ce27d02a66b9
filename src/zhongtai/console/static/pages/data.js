// Data: find a dataset in the catalog, then everything about it on one page: what it is and who owns it,
// promised against observed freshness, its schema a page at a time (300 columns never render at once),
// what the quality rules found with quarantined rows masked by role, its versions, and a masked preview of
// the columns the reader picks. Every value comes from the gateway's /v1 API as the reader may see it.

import { api } from "../lib/api.js";
import { fmt, t } from "../lib/i18n.js";
import { badge, clear, dataTable, errorBox, h, kv, loading, show } from "../lib/ui.js";

const FIRST_COLUMNS = 12; // the preview starts with these; the chooser adds or removes others
const PREVIEW_ROWS = 20;
const CHOOSER_SHOWN = 40; // the chooser lists this many matches of its filter, not all 300
const MAX_CHOSEN = 100; // the most columns the preview route returns at once

// The judgment is the API's (catalog/freshness.py, the same the Overview's stale list makes).
function freshness(entry) {
  if (!entry.last_refresh) return badge(t("data.fresh.never"), "warn");
  if (entry.stale === null || entry.stale === undefined) return badge(t("data.fresh.nopromise"), "neutral");
  return entry.stale ? badge(t("data.fresh.stale"), "bad") : badge(t("data.fresh.ok"), "ok");
}

function search(root, ctx) {
  const table = dataTable({
    columns: [
      { label: t("data.name"), render: (r) => h("a", { href: `#/data/${encodeURIComponent(r.name)}` }, r.name) },
      { label: t("data.description"), key: "description" },
      { label: t("data.owner"), key: "owner" },
    ],
    filters: [{ key: "q", label: t("data.search"), value: ctx.query.get("q") || "" }],
    pageSize: 25,
    rowKey: (r) => r.name,
    onRow: (r) => ctx.navigate(`#/data/${encodeURIComponent(r.name)}`),
    load: async ({ offset, limit, filters }) => {
      const found = await api("/v1/catalog/search", { query: { q: filters.q, kind: "dataset", offset, limit } });
      return { rows: found.results, total: found.total };
    },
  });
  clear(root, h("h1", {}, t("data.heading")), h("p", { class: "muted" }, t("data.intro")), table);
}

function schema(name) {
  return dataTable({
    columns: [
      { label: t("data.field"), render: (f) => h("code", {}, f.name) },
      { label: t("data.type"), key: "type" },
      { label: t("data.pii"), render: (f) => (f.pii && f.pii !== "none" ? badge(f.pii, "warn") : "—") },
      { label: t("data.storage"), key: "storage" },
      { label: t("data.description"), key: "description" },
    ],
    filters: [
      { key: "q", label: t("data.field.search") },
      { key: "pii", label: t("data.pii.filter"), options: [{ value: "true", label: t("data.pii.only") }] },
    ],
    pageSize: 25,
    rowKey: (f) => f.name,
    load: async ({ offset, limit, filters }) => {
      const found = await api(`/v1/datasets/${encodeURIComponent(name)}/fields`,
        { query: { q: filters.q, pii: filters.pii || undefined, offset, limit } });
      return { rows: found.fields, total: found.total };
    },
  });
}

async function quality(box, name) {
  clear(box, loading());
  try {
    const q = await api(`/v1/datasets/${encodeURIComponent(name)}/quality`, { query: { samples: 10 } });
    const tone = { passed: "ok", warned: "warn", blocked: "bad" }[q.status] || "neutral";
    const samples = q.samples || [];
    const cols = samples.length ? Object.keys(samples[0]) : [];
    clear(box,
      h("div", { class: "cards" },
        h("div", { class: "card" }, h("div", { class: "muted" }, t("data.q.status")), badge(t(`data.q.${q.status}`), tone)),
        h("div", { class: "card" }, h("div", { class: "muted" }, t("data.q.kept")), h("div", { class: "figure" }, fmt.number(q.rows_kept))),
        h("div", { class: "card" }, h("div", { class: "muted" }, t("data.q.quarantined")),
          h("div", { class: "figure", id: "quarantined" }, fmt.number(q.rows_quarantined))),
        h("div", { class: "card" }, h("div", { class: "muted" }, t("data.q.deduped")), h("div", { class: "figure" }, fmt.number(q.rows_deduped)))),
      q.blocked_runs.length ? h("div", { class: "error", role: "status", id: "blocked" }, t("data.q.blockedruns", { n: fmt.number(q.blocked_runs.length) }),
        h("ul", {}, q.blocked_runs.map((b) => h("li", {}, fmt.datetime(b.at), " — ", show(b.reason))))) : null,
      q.rules.length ? h("table", { class: "data", id: "rules" },
        h("thead", {}, h("tr", {}, [t("data.q.rule"), t("data.q.onfail"), t("data.q.checked"), t("data.q.failed"), t("data.q.result")]
          .map((l, i) => h("th", { class: i === 2 || i === 3 ? "num" : null }, l)))),
        h("tbody", {}, q.rules.map((r) => h("tr", {},
          h("td", {}, h("code", {}, r.rule)), h("td", {}, t(`data.f.${r.on_fail}`)),
          h("td", { class: "num" }, fmt.number(r.checked)), h("td", { class: "num" }, fmt.number(r.failed)),
          h("td", {}, badge(t(`data.r.${r.status}`), r.failed ? "warn" : "ok"))))))
        : h("p", { class: "muted" }, t("data.q.norules")),
      samples.length ? [h("h3", {}, t("data.q.samples")),
        h("div", { class: "scroll wide" }, h("table", { class: "data", id: "quarantine" },
          h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))),
          h("tbody", {}, samples.map((row) => h("tr", {}, cols.map((c) => h("td", {}, show(row[c], c))))))))] : null);
  } catch (err) {
    clear(box, errorBox(err));
  }
}

async function versions(box, name) {
  clear(box, loading());
  try {
    const { versions: list } = await api(`/v1/datasets/${encodeURIComponent(name)}/versions`);
    clear(box, h("table", { class: "data", id: "versions" },
      h("thead", {}, h("tr", {}, [t("data.v.version"), t("data.v.at"), t("data.v.mode"), t("data.v.rows"), t("data.v.added"),
        t("data.v.updated"), t("data.v.removed"), t("data.v.schema")].map((l) => h("th", {}, l)))),
      h("tbody", {}, list.map((v) => h("tr", {},
        h("td", {}, fmt.number(v.version)), h("td", {}, fmt.datetime(v.created_at)), h("td", {}, v.mode),
        h("td", { class: "num" }, fmt.number(v.rows)), h("td", { class: "num" }, fmt.number(v.rows_added)),
        h("td", { class: "num" }, fmt.number(v.rows_updated)), h("td", { class: "num" }, fmt.number(v.rows_removed)),
        h("td", {}, v.schema_changes.length ? fmt.list(v.schema_changes) : "—"))))));
  } catch (err) {
    clear(box, errorBox(err));
  }
}

// The preview asks only for the chosen columns; the chooser filters the version's column names and lists
// a bounded number of matches, so a 300-column table costs what a 12-column one does.
function preview(box, name) {
  const state = { all: [], chosen: null };
  const tableBox = h("div", { class: "scroll wide" });
  const chooser = h("div", { class: "chooser", hidden: true });
  const filter = h("input", { type: "search", placeholder: t("data.p.filter"), "aria-label": t("data.p.filter"), oninput: () => listChoices() });
  const choices = h("div", { class: "choices" });
  const status = h("span", { class: "muted" });
  clear(chooser, filter, choices);
  const toggle = h("button", { type: "button", id: "choose-columns", "aria-expanded": "false", onclick: () => {
    chooser.hidden = !chooser.hidden;
    toggle.setAttribute("aria-expanded", String(!chooser.hidden));
    if (!chooser.hidden) { listChoices(); filter.focus(); }
  } }, t("ui.columns"));

  function listChoices() {
    const needle = filter.value.trim().toLowerCase();
    const matches = state.all.filter((c) => c.toLowerCase().includes(needle));
    const full = state.chosen.length >= MAX_CHOSEN;
    clear(choices, full ? h("p", { class: "muted" }, t("data.p.full", { n: fmt.number(MAX_CHOSEN) })) : null,
      matches.slice(0, CHOOSER_SHOWN).map((c) => h("label", { class: "choice" },
      h("input", { type: "checkbox", value: c, checked: state.chosen.includes(c), disabled: full && !state.chosen.includes(c), onchange: (e) => {
        state.chosen = e.target.checked ? [...state.chosen, c] : state.chosen.filter((x) => x !== c);
        listChoices();
        load();
      } }), c)),
    matches.length > CHOOSER_SHOWN ? h("p", { class: "muted" }, t("data.p.more", { n: fmt.number(matches.length - CHOOSER_SHOWN) })) : null);
  }

  async function load() {
    clear(tableBox, loading());
    try {
      const p = await api(`/v1/datasets/${encodeURIComponent(name)}/preview`,
        { query: { limit: PREVIEW_ROWS, columns: state.chosen || undefined } });
      state.all = p.columns;
      if (!state.chosen) state.chosen = p.columns.slice(0, FIRST_COLUMNS);
      const cols = p.columns.filter((c) => state.chosen.includes(c));
      status.textContent = t("data.p.showing", { shown: fmt.number(cols.length), total: fmt.number(p.columns.length) });
      clear(tableBox, h("table", { class: "data", id: "preview" },
        h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c,
          p.masked.includes(c) ? [" ", badge(t("data.p.masked"), "warn")] : null)))),
        h("tbody", {}, p.rows.length ? p.rows.map((row) => h("tr", {}, cols.map((c) => h("td", {}, show(row[c], c)))))
          : h("tr", {}, h("td", { colspan: cols.length || 1, class: "muted" }, t("ui.empty"))))));
    } catch (err) {
      clear(tableBox, errorBox(err));
    }
  }
  clear(box, h("div", { class: "row" }, toggle, status), chooser, tableBox);
  load();
}

async function dataset(root, ctx, name) {
  clear(root, loading());
  const entry = await api(`/v1/catalog/${encodeURIComponent(`dataset:${name}`)}`);
  const section = (id, title, body) => h("section", { class: "panel", id }, h("h2", {}, title), body);
  const qualityBox = h("div"), versionsBox = h("div"), previewBox = h("div");
  const readsRows = ctx.can("read_dataset");
  clear(root,
    h("p", {}, h("a", { href: "#/data" }, `← ${t("data.back")}`)),
    h("h1", {}, entry.name, " ", freshness(entry)),
    entry.description ? h("p", {}, entry.description) : null,
    h("div", { class: "grid2" },
      kv([
        [t("data.owner"), entry.owner],
        [t("data.source"), entry.produced_by || (entry.source ? `${entry.source} (${entry.source_type})` : null)],
        [t("data.location"), entry.location],
        [t("data.rows"), entry.rows],
        [t("data.version"), entry.version],
      ]),
      kv([
        [t("data.promised"), entry.update_frequency || t("data.fresh.nopromise")],
        [t("data.observed"), entry.observed_refresh_hours === null ? "—" : t("data.hours", { n: fmt.number(entry.observed_refresh_hours) })],
        [t("data.refreshed"), entry.last_refresh ? `${fmt.datetime(entry.last_refresh)} (${fmt.relative(entry.last_refresh)})` : null],
        [t("data.piikey"), entry.pii_key],
        [t("data.lineage"), h("a", { href: `#/lineage/${encodeURIComponent(`dataset:${name}`)}` }, t("data.lineage.open"))],
      ])),
    section("schema", t("data.schema"), schema(name)),
    readsRows ? section("quality", t("data.quality"), qualityBox) : null,
    section("versions", t("data.versions"), versionsBox),
    readsRows ? section("preview-panel", t("data.preview"), previewBox)
      : h("p", { class: "muted", id: "no-rows" }, t("data.norows")));
  versions(versionsBox, name);
  if (readsRows) { quality(qualityBox, name); preview(previewBox, name); }
}

export const page = {
  id: "data",
  order: 20,
  icon: "▤",
  title: { en: "Data", zh: "数据" },
  needs: ["read_catalog"],
  strings: {
    en: {
      "data.heading": "Datasets", "data.intro": "Search the catalog by name, description, owner or field.",
      "data.search": "Search datasets", "data.name": "Dataset", "data.description": "Description", "data.owner": "Owner",
      "data.back": "All datasets", "data.source": "Source", "data.location": "Location", "data.rows": "Rows",
      "data.version": "Current version", "data.promised": "Promised refresh", "data.observed": "Observed refresh",
      "data.refreshed": "Last refresh", "data.piikey": "PII key", "data.lineage": "Lineage", "data.lineage.open": "Open the graph",
      "data.hours": "every {n} h", "data.fresh.ok": "fresh", "data.fresh.stale": "stale", "data.fresh.never": "never ingested",
      "data.fresh.nopromise": "no promise", "data.schema": "Schema", "data.field": "Field", "data.type": "Type",
      "data.pii": "PII class", "data.storage": "Stored as", "data.field.search": "Find a field",
      "data.pii.filter": "All fields", "data.pii.only": "PII fields only", "data.quality": "Quality",
      "data.q.status": "Last run", "data.q.passed": "passed", "data.q.warned": "warned", "data.q.blocked": "blocked",
      "data.q.no rules": "no rules", "data.q.kept": "Rows kept", "data.q.quarantined": "Rows quarantined",
      "data.q.deduped": "Rows deduplicated", "data.q.rule": "Rule", "data.q.onfail": "On failure", "data.q.checked": "Checked",
      "data.q.failed": "Failed", "data.q.result": "Result", "data.q.norules": "No quality rules ran for this version.",
      "data.q.samples": "Quarantined rows (sample, masked for you)", "data.versions": "Versions", "data.v.version": "Version",
      "data.v.at": "Made", "data.v.mode": "Mode", "data.v.rows": "Rows", "data.v.added": "Added", "data.v.updated": "Updated",
      "data.v.removed": "Removed", "data.v.schema": "Schema changes", "data.preview": "Preview",
      "data.p.filter": "Find a column", "data.p.more": "{n} more: narrow the filter",
      "data.p.showing": "{shown} of {total} columns", "data.p.masked": "masked", "data.p.full": "{n} columns chosen: remove one to add another.",
      "data.q.blockedruns": "{n} later runs were blocked by dataset checks and made no version:",
      "data.f.quarantine": "quarantine", "data.f.warn": "warn", "data.f.block": "block", "data.r.pass": "pass", "data.r.info": "info",
      "data.r.warned": "warned", "data.r.quarantined": "quarantined", "data.r.blocked": "blocked",
      "data.norows": "Your roles do not grant reading this dataset's rows: quality samples and the preview are not shown.",
    },
    zh: {
      "data.heading": "数据集", "data.intro": "按名称、描述、负责人或字段搜索数据目录。",
      "data.search": "搜索数据集", "data.name": "数据集", "data.description": "描述", "data.owner": "负责人",
      "data.back": "全部数据集", "data.source": "来源", "data.location": "位置", "data.rows": "行数",
      "data.version": "当前版本", "data.promised": "承诺的更新频率", "data.observed": "实际更新频率",
      "data.refreshed": "最近更新", "data.piikey": "PII 密钥", "data.lineage": "血缘", "data.lineage.open": "查看血缘图",
      "data.hours": "每 {n} 小时", "data.fresh.ok": "新鲜", "data.fresh.stale": "已过期", "data.fresh.never": "尚未导入",
      "data.fresh.nopromise": "未承诺", "data.schema": "表结构", "data.field": "字段", "data.type": "类型",
      "data.pii": "PII 类别", "data.storage": "存储方式", "data.field.search": "查找字段",
      "data.pii.filter": "全部字段", "data.pii.only": "仅 PII 字段", "data.quality": "数据质量",
      "data.q.status": "最近一次", "data.q.passed": "通过", "data.q.warned": "有警告", "data.q.blocked": "被拦截",
      "data.q.no rules": "无规则", "data.q.kept": "保留行数", "data.q.quarantined": "隔离行数",
      "data.q.deduped": "去重行数", "data.q.rule": "规则", "data.q.onfail": "失败时", "data.q.checked": "检查行数",
      "data.q.failed": "失败行数", "data.q.result": "结果", "data.q.norules": "此版本没有运行质量规则。",
      "data.q.samples": "被隔离的行（样例，已按你的权限脱敏）", "data.versions": "版本", "data.v.version": "版本",
      "data.v.at": "生成时间", "data.v.mode": "方式", "data.v.rows": "行数", "data.v.added": "新增", "data.v.updated": "更新",
      "data.v.removed": "删除", "data.v.schema": "结构变更", "data.preview": "数据预览",
      "data.p.filter": "查找列", "data.p.more": "还有 {n} 列：请缩小筛选范围",
      "data.p.showing": "显示 {shown} / {total} 列", "data.p.masked": "已脱敏", "data.p.full": "已选择 {n} 列：请先移除一列再添加。",
      "data.q.blockedruns": "之后有 {n} 次导入被数据集检查拦截，未生成新版本：",
      "data.f.quarantine": "隔离", "data.f.warn": "警告", "data.f.block": "拦截", "data.r.pass": "通过", "data.r.info": "提示",
      "data.r.warned": "警告", "data.r.quarantined": "已隔离", "data.r.blocked": "已拦截",
      "data.norows": "你的角色无权读取此数据集的数据行：不显示质量样例和数据预览。",
    },
  },
  async render(root, ctx) {
    if (ctx.args[0]) return dataset(root, ctx, ctx.args[0]);
    return search(root, ctx);
  },
};
