// Monitoring of one capability (#/monitoring/<capability>) or of all: drift per feature and for the score
// over time (PSI, Jensen-Shannon distance or effect, with the drift and major lines), live quality by day
// per model version and arm, the flywheel's timeline (drift detected → retrain → challenger → shadow →
// promote or roll back, with who and when), and alerts, which a principal allowed change_traffic resolves.
// Calls: GET /v1/overview (the capabilities one may read), GET /v1/capabilities/{name}/drift,
// GET /v1/capabilities/{name}/quality (needs call), GET /v1/flywheel/runs, GET /v1/alerts,
// POST /v1/alerts/{fingerprint}/resolve.

import { api } from "../lib/api.js";
import { legend, lineChart } from "../lib/chart.js";
import { fmt, t } from "../lib/i18n.js";
import { badge, clear, confirmDialog, dataTable, errorBox, h, loading, toast } from "../lib/ui.js";
import { driftBadge } from "./overview.js";

const METRICS = ["effect", "psi", "js"];
const VERDICT_TONE = { ok: "ok", drift: "warn", major: "bad", "no data": "neutral" };
const STATES = ["triggered", "trained", "compared", "replayed", "awaiting_approval", "approved", "shadowing", "canary",
  "promoted", "discarded", "rolled_back", "floor_breached"];
const STATE_TONE = { promoted: "ok", approved: "ok", discarded: "neutral", rolled_back: "bad", floor_breached: "bad",
  awaiting_approval: "warn", triggered: "info" };
const RUNS_PAGE = 5;
const SEVERITIES = ["critical", "warning", "info"];
const KINDS = ["numeric", "discrete", "categorical"];

function verdict(v) {
  return badge(t(`monitoring.verdict.${v === "no data" ? "nodata" : v}`), VERDICT_TONE[v] || "neutral");
}

function state(s) { return badge(STATES.includes(s) ? t(`monitoring.state.${s}`) : s, STATE_TONE[s] || "info"); }

function evidence(body) {
  const parts = [];
  for (const [k, v] of Object.entries(body || {})) {
    if (v !== null && typeof v === "object") parts.push(`${k}: ${Object.entries(v).map(([a, b]) => `${a}=${typeof b === "number" ? fmt.number(b) : JSON.stringify(b)}`).join(", ")}`);
    else parts.push(`${k}=${typeof v === "number" ? fmt.number(v) : v}`);
  }
  return parts.join(" · ");
}

async function driftSection(capability) {
  const box = h("section", { class: "panel", id: "drift" }, h("h2", {}, t("monitoring.drift")), loading());
  const data = await api(`/v1/capabilities/${encodeURIComponent(capability)}/drift`, { query: { limit: 50 } });
  const reports = data.reports;
  if (!reports.length) return clear(box, h("h2", {}, t("monitoring.drift")), h("p", { class: "muted" }, t("monitoring.drift.none")));
  const names = [...new Set(reports.flatMap((r) => r.results.map((c) => c.name)))];
  const chartBox = h("div", { class: "chart-box", id: "drift-chart" });
  let metric = "effect";
  const buttons = METRICS.map((m) => h("button", { type: "button", dataset: { metric: m }, onclick: () => { metric = m; draw(); } },
    t(`monitoring.metric.${m}`)));
  function draw() {
    for (const b of buttons) { b.classList.toggle("active", b.dataset.metric === metric); b.setAttribute("aria-pressed", String(b.dataset.metric === metric)); }
    const limits = reports[0].thresholds || {};
    const guides = metric === "effect" ? [
      { y: limits.min_effect, label: t("monitoring.guide.drift") }, { y: limits.major_effect, label: t("monitoring.guide.major") },
    ].filter((g) => typeof g.y === "number") : [];
    const series = names.map((name) => ({
      name: name === "score" ? t("monitoring.score") : name,
      points: reports.map((r) => {
        const column = r.results.find((c) => c.name === name) || {};
        const flagged = column.verdict === "drift" || column.verdict === "major";
        return { x: r.window_end, y: column[metric] ?? null, flagged, note: column.verdict ? t(`monitoring.verdict.${column.verdict === "no data" ? "nodata" : column.verdict}`) : "" };
      }),
    }));
    const title = t("monitoring.drift.chart", { metric: t(`monitoring.metric.${metric}`) });
    clear(chartBox, h("p", { class: "muted" }, title), lineChart({ series, guides, title, yFormat: (v) => fmt.number(v, 2) }),
      legend(series.map((se) => se.name)));
  }
  draw();
  const latest = reports[0];
  const cols = ["feature", "kind", "psi", "js", "ks", "effect", "verdict"];
  const table = h("div", { class: "scroll" }, h("table", { class: "data", id: "drift-latest" },
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { class: ["psi", "js", "ks", "effect"].includes(c) ? "num" : null }, t(`monitoring.col.${c}`))))),
    h("tbody", {}, latest.results.map((c) => h("tr", { dataset: { feature: c.name } },
      h("td", {}, c.name === "score" ? t("monitoring.score") : c.name), h("td", {}, KINDS.includes(c.kind) ? t(`monitoring.kind.${c.kind}`) : c.kind),
      h("td", { class: "num" }, fmt.number(c.psi, 3)), h("td", { class: "num" }, fmt.number(c.js, 3)),
      h("td", { class: "num" }, c.ks === null ? "—" : fmt.number(c.ks, 3)), h("td", { class: "num" }, fmt.number(c.effect, 3)),
      h("td", {}, verdict(c.verdict)))))));
  const history = dataTable({
    pageSize: 10,
    rowKey: (r) => r.id,
    columns: [
      { label: t("monitoring.col.window"), render: (r) => `${fmt.datetime(r.window_start)} – ${fmt.datetime(r.window_end)}` },
      { label: t("monitoring.col.version"), render: (r) => `${r.model_name} v${r.model_version}` },
      { label: t("monitoring.col.decisions"), numeric: true, render: (r) => fmt.number(r.decisions) },
      { label: t("monitoring.col.verdict"), render: (r) => verdict(r.verdict) },
      { label: t("monitoring.col.drifted"), numeric: true, render: (r) => fmt.number(r.drifted) },
    ],
    load: async ({ offset, limit }) => {
      const page = await api(`/v1/capabilities/${encodeURIComponent(capability)}/drift`, { query: { offset, limit } });
      return { rows: page.reports, total: page.total };
    },
  });
  return clear(box, h("div", { class: "row spread" }, h("h2", {}, t("monitoring.drift")),
    h("div", { class: "segmented", role: "group", "aria-label": t("monitoring.metric") }, buttons)),
  chartBox,
  h("h3", {}, t("monitoring.drift.latest", { at: fmt.datetime(latest.at), version: `${latest.model_name} v${latest.model_version}` }), " ", verdict(latest.verdict)),
  table, h("h3", {}, t("monitoring.drift.history")), history);
}

async function qualitySection(capability, ctx) {
  const box = h("section", { class: "panel", id: "quality" }, h("h2", {}, t("monitoring.quality")));
  if (!ctx.can("call")) return h("section", { class: "panel", id: "quality" }, h("h2", {}, t("monitoring.quality")), h("p", { class: "muted" }, t("monitoring.quality.denied")));
  try {
    const data = await api(`/v1/capabilities/${encodeURIComponent(capability)}/quality`, { query: { since: "30d", by_day: true } });
    if (!data.rows.length || !data.measures.length) return clear(box, h("h2", {}, t("monitoring.quality")), h("p", { class: "muted" }, t("monitoring.quality.none")));
    const measure = data.measures[0];
    const groups = new Map();
    for (const row of data.rows) {
      const key = `v${row.model_version ?? "?"} · ${row.arm}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push({ x: `${row.period}T12:00:00Z`, y: row.measures[measure] ?? null });
    }
    const series = [...groups].map(([name, points]) => ({ name, points }));
    const labelled = data.rows.reduce((n, r) => n + r.decisions, 0);
    clear(box, h("h2", {}, t("monitoring.quality")),
      h("p", { class: "muted" }, t("monitoring.quality.about", { measure: measure.toUpperCase(), count: fmt.number(labelled) })),
      h("div", { class: "chart-box", id: "quality-chart" }, lineChart({ series, title: `${measure.toUpperCase()} · ${capability}`, yFormat: (v) => fmt.number(v, 2), xPad: 43_200_000 }),
        legend(series.map((se) => se.name))));
  } catch (err) {
    clear(box, h("h2", {}, t("monitoring.quality")), errorBox(err));
  }
  return box;
}

function runView(run) {
  return h("article", { class: "run", dataset: { run: run.id } },
    h("div", { class: "row" }, h("strong", {}, `${run.model_name} · ${run.capability}`), state(run.state),
      h("span", { class: "muted" }, t("monitoring.run.versions", { champion: run.champion_version ?? "—", challenger: run.challenger_version ?? "—" }))),
    h("ol", { class: "timeline" }, run.steps.map((step) => h("li", { dataset: { state: step.state } },
      h("div", { class: "row" }, state(step.state), h("span", {}, fmt.datetime(step.at)),
        h("span", { class: "muted" }, t("monitoring.run.by", { who: step.principal }))),
      h("div", {}, step.reason),
      Object.keys(step.evidence || {}).length ? h("div", { class: "muted small" }, evidence(step.evidence)) : null))));
}

function flywheelSection(capability) {
  const list = h("div", { id: "runs-list" });
  const status = h("span", { class: "muted" });
  const prev = h("button", { type: "button", onclick: () => go(offset - RUNS_PAGE) }, t("ui.prev"));
  const next = h("button", { type: "button", onclick: () => go(offset + RUNS_PAGE) }, t("ui.next"));
  let offset = 0;
  async function go(to) {
    offset = Math.max(0, to);
    clear(list, loading());
    try {
      const data = await api("/v1/flywheel/runs", { query: { capability, offset, limit: RUNS_PAGE } });
      clear(list, data.runs.length ? data.runs.map(runView) : h("p", { class: "muted" }, t("monitoring.runs.none")));
      const shown = data.runs.length;
      status.textContent = data.total ? t("ui.rows", { from: fmt.number(shown ? offset + 1 : 0), to: fmt.number(offset + shown), total: fmt.number(data.total) }) : "";
      prev.disabled = offset === 0;
      next.disabled = offset + shown >= data.total;
    } catch (err) {
      clear(list, errorBox(err, () => go(offset)));
    }
  }
  go(0);
  return h("section", { class: "panel", id: "flywheel" }, h("h2", {}, t("monitoring.flywheel")), list, h("div", { class: "pager" }, prev, status, next));
}

function alertsSection(capability, ctx) {
  let table;
  const resolve = async (alert) => {
    const ok = await confirmDialog(t("monitoring.alert.resolve.title"), t("monitoring.alert.resolve.body", { summary: alert.summary }),
      { confirmLabel: t("monitoring.alert.resolve"), danger: true });
    if (!ok) return;
    try {
      await api(`/v1/alerts/${alert.fingerprint}/resolve`, { method: "POST" });
      toast(t("monitoring.alert.resolved"));
    } catch (err) {
      toast(err.message, "bad");
    }
    table.reload();
  };
  const columns = [
    { label: t("monitoring.col.status"), render: (a) => badge(t(`monitoring.alert.${a.status}`), a.status === "firing" ? "bad" : "ok") },
    { label: t("monitoring.col.severity"), render: (a) => badge(SEVERITIES.includes(a.severity) ? t(`monitoring.severity.${a.severity}`) : a.severity,
      a.severity === "critical" ? "bad" : a.severity === "info" ? "info" : "warn") },
    { label: t("monitoring.col.alert"), render: (a) => h("div", { class: "cell-wrap", title: a.description },
      capability || !a.capability ? a.summary : h("a", { href: `#/monitoring/${encodeURIComponent(a.capability)}` }, a.summary),
      h("div", { class: "muted small" }, Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(" · "))) },
    { label: t("monitoring.col.since"), render: (a) => fmt.datetime(a.starts_at) },
    { label: t("monitoring.col.ended"), render: (a) => fmt.datetime(a.ends_at) },
    { label: t("monitoring.col.raised"), numeric: true, render: (a) => fmt.number(a.raised) },
  ];
  if (ctx.can("change_traffic")) {
    columns.push({ label: "", render: (a) => a.status === "firing"
      ? h("button", { type: "button", class: "resolve", onclick: () => resolve(a) }, t("monitoring.alert.resolve")) : null });
  }
  table = dataTable({
    pageSize: 20,
    rowKey: (a) => a.fingerprint,
    columns,
    filters: [{ key: "status", label: t("monitoring.alert.any"), value: "firing",
      options: [{ value: "firing", label: t("monitoring.alert.firing") }, { value: "resolved", label: t("monitoring.alert.resolved") }] }],
    load: async ({ offset, limit, filters }) => {
      const page = await api("/v1/alerts", { query: { capability, status: filters.status, offset, limit } });
      return { rows: page.alerts, total: page.total };
    },
  });
  return h("section", { class: "panel", id: "alerts" }, h("h2", {}, t("monitoring.alerts")), table);
}

export const page = {
  id: "monitoring",
  order: 55,
  icon: "∿",
  title: { en: "Monitoring", zh: "监控" },
  needs: ["read_models"],
  strings: {
    en: {
      "monitoring.heading": "Monitoring", "monitoring.all": "All capabilities", "monitoring.pick": "Capability",
      "monitoring.drift": "Drift", "monitoring.drift.none": "No drift check of this capability yet (`zhongtai monitor drift`).",
      "monitoring.drift.chart": "{metric} per feature over time (ringed: flagged)", "monitoring.drift.latest": "Latest check {at}, {version}",
      "monitoring.drift.history": "Every check", "monitoring.metric": "Measure", "monitoring.metric.effect": "Effect",
      "monitoring.metric.psi": "PSI", "monitoring.metric.js": "JS distance", "monitoring.guide.drift": "drift line",
      "monitoring.guide.major": "major line", "monitoring.score": "model score",
      "monitoring.verdict.ok": "ok", "monitoring.verdict.drift": "drift", "monitoring.verdict.major": "major",
      "monitoring.verdict.nodata": "no data",
      "monitoring.col.feature": "Feature", "monitoring.col.kind": "Kind", "monitoring.col.psi": "PSI",
      "monitoring.col.js": "JS", "monitoring.col.ks": "KS", "monitoring.col.effect": "Effect", "monitoring.col.verdict": "Verdict",
      "monitoring.col.window": "Window", "monitoring.col.version": "Version", "monitoring.col.decisions": "Decisions",
      "monitoring.col.drifted": "Drifted columns", "monitoring.col.status": "Status", "monitoring.col.severity": "Severity",
      "monitoring.col.alert": "Alert", "monitoring.col.since": "Since",
      "monitoring.col.ended": "Resolved at", "monitoring.col.raised": "Raised",
      "monitoring.quality": "Live quality", "monitoring.quality.none": "No decision of the last 30 days has an outcome yet.",
      "monitoring.quality.denied": "Live quality is read with the call grant on this capability, which your roles lack.",
      "monitoring.quality.about": "{measure} by day over the last 30 days, from {count} decisions with an outcome.",
      "monitoring.flywheel": "Flywheel timeline", "monitoring.runs.none": "No retrain run yet.",
      "monitoring.run.versions": "champion v{champion} → challenger v{challenger}", "monitoring.run.by": "by {who}",
      "monitoring.state.triggered": "triggered", "monitoring.state.trained": "trained", "monitoring.state.compared": "compared",
      "monitoring.state.replayed": "replayed", "monitoring.state.awaiting_approval": "awaiting approval",
      "monitoring.state.approved": "approved", "monitoring.state.shadowing": "in shadow", "monitoring.state.canary": "canary",
      "monitoring.state.promoted": "promoted", "monitoring.state.discarded": "discarded",
      "monitoring.state.rolled_back": "rolled back", "monitoring.state.floor_breached": "below floor",
      "monitoring.severity.critical": "critical", "monitoring.severity.warning": "warning", "monitoring.severity.info": "info",
      "monitoring.kind.numeric": "numeric", "monitoring.kind.discrete": "discrete", "monitoring.kind.categorical": "categorical",
      "monitoring.alerts": "Alerts", "monitoring.alert.firing": "firing", "monitoring.alert.resolved": "resolved",
      "monitoring.alert.any": "Any status", "monitoring.alert.resolve": "Resolve",
      "monitoring.alert.resolve.title": "Resolve this alert?",
      "monitoring.alert.resolve.body": "“{summary}” will be marked resolved and the receivers told. It fires again if its condition returns.",
    },
    zh: {
      "monitoring.heading": "监控", "monitoring.all": "全部能力", "monitoring.pick": "能力",
      "monitoring.drift": "数据漂移", "monitoring.drift.none": "该能力尚未做过漂移检测（`zhongtai monitor drift`）。",
      "monitoring.drift.chart": "各特征的{metric}随时间变化（带圈的点为判定漂移）", "monitoring.drift.latest": "最近一次检测 {at}，{version}",
      "monitoring.drift.history": "全部检测记录", "monitoring.metric": "指标", "monitoring.metric.effect": "效应量",
      "monitoring.metric.psi": "PSI", "monitoring.metric.js": "JS 距离", "monitoring.guide.drift": "漂移线",
      "monitoring.guide.major": "严重线", "monitoring.score": "模型分数",
      "monitoring.verdict.ok": "正常", "monitoring.verdict.drift": "漂移", "monitoring.verdict.major": "严重",
      "monitoring.verdict.nodata": "无数据",
      "monitoring.col.feature": "特征", "monitoring.col.kind": "类型", "monitoring.col.psi": "PSI",
      "monitoring.col.js": "JS", "monitoring.col.ks": "KS", "monitoring.col.effect": "效应量", "monitoring.col.verdict": "结论",
      "monitoring.col.window": "时间窗口", "monitoring.col.version": "版本", "monitoring.col.decisions": "决策数",
      "monitoring.col.drifted": "漂移列数", "monitoring.col.status": "状态", "monitoring.col.severity": "级别",
      "monitoring.col.alert": "告警", "monitoring.col.since": "开始时间",
      "monitoring.col.ended": "解决时间", "monitoring.col.raised": "触发次数",
      "monitoring.quality": "线上效果", "monitoring.quality.none": "近 30 天的决策还没有反馈结果。",
      "monitoring.quality.denied": "查看线上效果需要该能力的调用（call）权限，你的角色没有。",
      "monitoring.quality.about": "近 30 天每日 {measure}，基于 {count} 条有反馈结果的决策。",
      "monitoring.flywheel": "飞轮时间线", "monitoring.runs.none": "还没有重训记录。",
      "monitoring.run.versions": "冠军 v{champion} → 挑战者 v{challenger}", "monitoring.run.by": "操作人 {who}",
      "monitoring.state.triggered": "已触发", "monitoring.state.trained": "已训练", "monitoring.state.compared": "已对比",
      "monitoring.state.replayed": "已回放", "monitoring.state.awaiting_approval": "待审批",
      "monitoring.state.approved": "已批准", "monitoring.state.shadowing": "影子运行", "monitoring.state.canary": "灰度中",
      "monitoring.state.promoted": "已上线", "monitoring.state.discarded": "已弃用",
      "monitoring.state.rolled_back": "已回滚", "monitoring.state.floor_breached": "低于下限",
      "monitoring.severity.critical": "严重", "monitoring.severity.warning": "警告", "monitoring.severity.info": "提示",
      "monitoring.kind.numeric": "连续值", "monitoring.kind.discrete": "离散值", "monitoring.kind.categorical": "类别",
      "monitoring.alerts": "告警", "monitoring.alert.firing": "未解决", "monitoring.alert.resolved": "已解决",
      "monitoring.alert.any": "全部状态", "monitoring.alert.resolve": "标记解决",
      "monitoring.alert.resolve.title": "确认将此告警标记为已解决？",
      "monitoring.alert.resolve.body": "“{summary}”将被标记为已解决，并通知接收方。若问题再次出现，会重新告警。",
    },
  },
  async render(root, ctx) {
    const capability = ctx.args[0] || null;
    const head = h("div", { class: "row spread" }, h("h1", {}, capability ? `${t("monitoring.heading")} · ${capability}` : t("monitoring.heading")));
    const body = h("div", {});
    clear(root, head, body);
    // The capabilities one may read, with their drift badges: the overview of the last hour is the cheapest.
    const known = await api("/v1/overview", { query: { window: "1h" } });
    const select = h("select", { id: "capability", "aria-label": t("monitoring.pick"),
      onchange: (e) => ctx.navigate(e.target.value ? `#/monitoring/${encodeURIComponent(e.target.value)}` : "#/monitoring") },
    h("option", { value: "" }, t("monitoring.all")),
    known.capabilities.map((c) => h("option", { value: c.capability, selected: c.capability === capability }, c.capability)));
    const current = known.capabilities.find((c) => c.capability === capability);
    head.append(h("div", { class: "row" }, current ? driftBadge(current.drift) : null, select));
    if (!capability) {
      clear(body, flywheelSection(null), alertsSection(null, ctx));
      return;
    }
    const [drift, quality] = await Promise.all([
      driftSection(capability).catch((err) => h("section", { class: "panel", id: "drift" }, h("h2", {}, t("monitoring.drift")), errorBox(err))),
      qualitySection(capability, ctx),
    ]);
    clear(body, drift, quality, flywheelSection(capability), alertsSection(capability, ctx));
  },
};
