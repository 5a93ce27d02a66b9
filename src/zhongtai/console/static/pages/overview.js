// The first page: what needs a person now (approvals, overdue reviews, rolled-back canaries, firing alerts,
// stale datasets), each linking to the page that acts on it; then every capability the reader may see over
// a chosen window — calls, p50/p99 latency, fallbacks, drift and live-quality badges, attributed outcomes.
// One call: GET /v1/overview?window=… (read_models; the gateway keeps only what the policy lets one see).

import { api } from "../lib/api.js";
import { barChart } from "../lib/chart.js";
import { fmt, t } from "../lib/i18n.js";
import { badge, clear, h, loading } from "../lib/ui.js";

const WINDOWS = ["1h", "24h", "7d", "30d"];
const DRIFT_TONE = { ok: "ok", drift: "warn", major: "bad", "no data": "neutral" };
// Outcome figures worth a word, per kind of count or share; the rest of an outcome body is not shown.
const OUTCOME_COUNTS = ["flagged", "retained", "lost", "clicks", "conversions", "auto", "human_review", "resolved", "with_feedback"];
const OUTCOME_SHARES = ["retention_rate", "click_share", "conversion_share", "auto_share", "resolved_share"];

export function driftBadge(drift) {
  if (!drift) return badge(t("overview.drift.never"), "neutral");
  const key = drift.verdict === "no data" ? "nodata" : drift.verdict;
  return badge(t(`overview.drift.${key}`), DRIFT_TONE[drift.verdict] || "neutral");
}

function qualityBadge(quality) {
  if (!quality) return badge(t("overview.quality.none"), "neutral");
  if (quality.value === null) return badge(t("overview.quality.nolabels"), "neutral");
  const text = `${quality.measure.toUpperCase()} ${fmt.number(quality.value, 3)} · n=${fmt.number(quality.decisions)}`;
  const box = badge(text, quality.below_floor ? "bad" : "ok");
  box.title = quality.floor === null ? t("overview.quality.nofloor")
    : t("overview.quality.floor", { floor: fmt.number(quality.floor, 3) });
  return box;
}

function outcomes(body) {
  if (!body) return "—";
  if (body.measurable === false) return h("span", { class: "muted", title: body.note }, t("overview.roi.notmeasurable"));
  const parts = [
    ...OUTCOME_COUNTS.filter((k) => typeof body[k] === "number").map((k) => `${t(`overview.roi.${k}`)} ${fmt.number(body[k])}`),
    ...OUTCOME_SHARES.filter((k) => typeof body[k] === "number").map((k) => `${t(`overview.roi.${k}`)} ${fmt.percent(body[k])}`),
  ];
  return parts.length ? parts.join(" · ") : "—";
}

function canaryBadge(canary) {
  if (!canary) return "—";
  const tone = canary.status === "rolled_back" ? "bad" : canary.status === "promoted" ? "ok" : "info";
  const known = ["ramping", "rolled_back", "awaiting_approval", "promoted"].includes(canary.status);
  const box = badge(known ? t(`overview.canary.${canary.status}`) : canary.status, tone);
  if (canary.reason) box.title = canary.reason;
  return box;
}

function attentionList(attention) {
  const items = [];
  for (const a of attention.approvals) {
    items.push(h("li", { dataset: { kind: "approval" } }, badge(t("overview.att.approval"), "info"), " ",
      h("a", { href: `#/models/${encodeURIComponent(a.model)}/${a.version}` }, t("overview.att.approval.text", { model: a.model, version: a.version })),
      h("span", { class: "muted" }, ` · ${fmt.relative(a.since)}`)));
  }
  if (attention.reviews.overdue) {
    items.push(h("li", { dataset: { kind: "review" } }, badge(t("overview.att.review"), "warn"), " ",
      h("a", { href: "#/review?overdue=1" }, t("overview.att.review.text", { count: fmt.number(attention.reviews.overdue) })),
      h("span", { class: "muted" }, ` · ${fmt.list([...new Set(attention.reviews.items.map((i) => i.capability))])}`)));
  }
  for (const c of attention.canaries) {
    items.push(h("li", { dataset: { kind: "canary" } }, badge(t("overview.att.canary"), "bad"), " ",
      h("a", { href: `#/monitoring/${encodeURIComponent(c.capability)}` }, t("overview.att.canary.text", { capability: c.capability, arm: c.arm || "—" })),
      c.reason ? h("span", { class: "muted" }, ` · ${c.reason}`) : null));
  }
  for (const a of attention.alerts.items) {
    const where = a.capability ? `#/monitoring/${encodeURIComponent(a.capability)}` : "#/monitoring";
    items.push(h("li", { dataset: { kind: "alert" } }, badge(t("overview.att.alert"), a.severity === "critical" ? "bad" : "warn"), " ",
      h("a", { href: where }, a.summary), h("span", { class: "muted" }, ` · ${fmt.relative(a.starts_at)}`)));
  }
  if (attention.alerts.firing > attention.alerts.items.length) {
    items.push(h("li", {}, h("a", { href: "#/monitoring" }, t("overview.att.morealerts", { count: fmt.number(attention.alerts.firing - attention.alerts.items.length) }))));
  }
  for (const d of attention.datasets) {
    const age = d.age_hours === null ? t("overview.att.dataset.never") : t("overview.att.dataset.age", { hours: fmt.number(d.age_hours, 1) });
    items.push(h("li", { dataset: { kind: "dataset" } }, badge(t("overview.att.dataset"), "warn"), " ",
      h("a", { href: `#/data/${encodeURIComponent(d.dataset)}` }, d.dataset),
      h("span", { class: "muted" }, ` · ${t("overview.att.dataset.promised", { hours: fmt.number(d.promised_hours) })} · ${age}`)));
  }
  return items.length ? h("ul", { class: "attention", id: "attention" }, items)
    : h("p", { class: "muted", id: "attention" }, t("overview.att.none"));
}

function totals(caps, attention) {
  const calls = caps.reduce((n, c) => n + c.calls, 0);
  const fallbacks = caps.reduce((n, c) => n + c.fallbacks, 0);
  const drifting = caps.filter((c) => c.drift && (c.drift.verdict === "drift" || c.drift.verdict === "major")).length;
  const card = (id, label, value) => h("div", { class: "card", id }, h("div", { class: "muted" }, label), h("div", { class: "figure" }, value));
  return h("div", { class: "cards" },
    card("total-calls", t("overview.calls"), fmt.number(calls)),
    card("total-fallbacks", t("overview.fallbackshare"), calls ? fmt.percent(fallbacks / calls) : "—"),
    card("total-drifting", t("overview.drifting"), `${fmt.number(drifting)} / ${fmt.number(caps.length)}`),
    card("total-alerts", t("overview.alerts"), fmt.number(attention.alerts.firing)));
}

function capabilityTable(caps) {
  const cols = [
    ["capability", false], ["calls", true], ["p50", true], ["p99", true], ["fallbacks", true],
    ["drift", false], ["quality", false], ["roi", false], ["canary", false],
  ];
  return h("div", { class: "scroll" }, h("table", { class: "data", id: "capabilities" },
    h("thead", {}, h("tr", {}, cols.map(([k, num]) => h("th", { scope: "col", class: num ? "num" : null }, t(`overview.col.${k}`))))),
    h("tbody", {}, caps.length ? caps.map((c) => h("tr", { dataset: { capability: c.capability } },
      h("td", {}, h("a", { href: `#/monitoring/${encodeURIComponent(c.capability)}` }, c.capability),
        h("div", { class: "muted" }, c.model)),
      h("td", { class: "num", dataset: { field: "calls" } }, fmt.number(c.calls)),
      h("td", { class: "num", dataset: { field: "p50" } }, fmt.ms(c.p50_ms)),
      h("td", { class: "num", dataset: { field: "p99" } }, fmt.ms(c.p99_ms)),
      h("td", { class: "num", dataset: { field: "fallbacks" } }, fmt.number(c.fallbacks),
        c.fallback_share === null ? null : h("span", { class: "muted" }, ` (${fmt.percent(c.fallback_share)})`)),
      h("td", { dataset: { field: "drift" } }, driftBadge(c.drift)),
      h("td", { dataset: { field: "quality" } }, qualityBadge(c.quality)),
      h("td", { class: "wrap", dataset: { field: "roi" } }, outcomes(c.outcomes)),
      h("td", { dataset: { field: "canary" } }, canaryBadge(c.canary))))
      : h("tr", {}, h("td", { colspan: cols.length, class: "muted" }, t("overview.nocapabilities"))))));
}

export const page = {
  id: "overview",
  order: 10,
  icon: "◎",
  title: { en: "Overview", zh: "总览" },
  needs: ["read_models"],
  strings: {
    en: {
      "overview.heading": "Overview", "overview.window": "Window", "overview.window.1h": "1 hour",
      "overview.window.24h": "24 hours", "overview.window.7d": "7 days", "overview.window.30d": "30 days",
      "overview.attention": "Needs attention", "overview.capabilities": "Capabilities",
      "overview.since": "Decisions since {since}", "overview.callschart": "Calls per capability",
      "overview.calls": "Calls", "overview.fallbackshare": "Fallback share", "overview.drifting": "Capabilities drifting",
      "overview.alerts": "Firing alerts", "overview.nocapabilities": "No capability you may read.",
      "overview.col.capability": "Capability", "overview.col.calls": "Calls", "overview.col.p50": "p50",
      "overview.col.p99": "p99", "overview.col.fallbacks": "Fallbacks", "overview.col.drift": "Drift",
      "overview.col.quality": "Live quality", "overview.col.roi": "Outcomes (ROI)", "overview.col.canary": "Canary",
      "overview.drift.never": "never checked", "overview.drift.ok": "no drift", "overview.drift.drift": "drift",
      "overview.drift.major": "major drift", "overview.drift.nodata": "no data",
      "overview.quality.none": "not measured", "overview.quality.nolabels": "no outcomes yet",
      "overview.quality.nofloor": "No floor set by a retrain policy", "overview.quality.floor": "Floor {floor} (retrain policy)",
      "overview.roi.notmeasurable": "not measurable", "overview.roi.flagged": "flagged", "overview.roi.retained": "retained",
      "overview.roi.lost": "lost", "overview.roi.clicks": "clicks", "overview.roi.conversions": "conversions",
      "overview.roi.auto": "automated", "overview.roi.human_review": "to review", "overview.roi.resolved": "resolved",
      "overview.roi.with_feedback": "with feedback", "overview.roi.retention_rate": "retention",
      "overview.roi.click_share": "click rate", "overview.roi.conversion_share": "conversion rate",
      "overview.roi.auto_share": "automation", "overview.roi.resolved_share": "resolution",
      "overview.canary.ramping": "ramping", "overview.canary.rolled_back": "rolled back",
      "overview.canary.awaiting_approval": "awaiting approval", "overview.canary.promoted": "promoted",
      "overview.att.none": "Nothing needs attention.", "overview.att.approval": "Approval",
      "overview.att.approval.text": "{model} v{version} awaits approval", "overview.att.review": "Review",
      "overview.att.review.text": "Review items past their deadline: {count}", "overview.att.canary": "Canary",
      "overview.att.canary.text": "{capability}: canary {arm} rolled back", "overview.att.alert": "Alert",
      "overview.att.morealerts": "{count} more firing alerts", "overview.att.dataset": "Stale data",
      "overview.att.dataset.promised": "promised every {hours} h", "overview.att.dataset.age": "last refreshed {hours} h ago",
      "overview.att.dataset.never": "never refreshed",
    },
    zh: {
      "overview.heading": "总览", "overview.window": "时间窗口", "overview.window.1h": "1 小时",
      "overview.window.24h": "24 小时", "overview.window.7d": "7 天", "overview.window.30d": "30 天",
      "overview.attention": "待处理事项", "overview.capabilities": "能力",
      "overview.since": "统计 {since} 以来的决策", "overview.callschart": "各能力调用量",
      "overview.calls": "调用次数", "overview.fallbackshare": "兜底占比", "overview.drifting": "发生漂移的能力",
      "overview.alerts": "未解决告警", "overview.nocapabilities": "没有你可查看的能力。",
      "overview.col.capability": "能力", "overview.col.calls": "调用", "overview.col.p50": "p50",
      "overview.col.p99": "p99", "overview.col.fallbacks": "兜底", "overview.col.drift": "漂移",
      "overview.col.quality": "线上效果", "overview.col.roi": "业务成效（ROI）", "overview.col.canary": "灰度",
      "overview.drift.never": "未检测", "overview.drift.ok": "无漂移", "overview.drift.drift": "漂移",
      "overview.drift.major": "严重漂移", "overview.drift.nodata": "无数据",
      "overview.quality.none": "无评估指标", "overview.quality.nolabels": "暂无反馈结果",
      "overview.quality.nofloor": "重训策略未设下限", "overview.quality.floor": "下限 {floor}（重训策略）",
      "overview.roi.notmeasurable": "无法度量", "overview.roi.flagged": "预警", "overview.roi.retained": "挽留成功",
      "overview.roi.lost": "流失", "overview.roi.clicks": "点击", "overview.roi.conversions": "转化",
      "overview.roi.auto": "自动处理", "overview.roi.human_review": "转人工", "overview.roi.resolved": "已解决",
      "overview.roi.with_feedback": "有反馈", "overview.roi.retention_rate": "挽留率",
      "overview.roi.click_share": "点击率", "overview.roi.conversion_share": "转化率",
      "overview.roi.auto_share": "自动化率", "overview.roi.resolved_share": "解决率",
      "overview.canary.ramping": "放量中", "overview.canary.rolled_back": "已回滚",
      "overview.canary.awaiting_approval": "待审批", "overview.canary.promoted": "已全量",
      "overview.att.none": "目前没有待处理事项。", "overview.att.approval": "待审批",
      "overview.att.approval.text": "{model} v{version} 等待审批", "overview.att.review": "人工复核",
      "overview.att.review.text": "{count} 条复核任务已超时", "overview.att.canary": "灰度",
      "overview.att.canary.text": "{capability}：灰度分组 {arm} 已回滚", "overview.att.alert": "告警",
      "overview.att.morealerts": "另有 {count} 条未解决告警", "overview.att.dataset": "数据过期",
      "overview.att.dataset.promised": "承诺每 {hours} 小时更新", "overview.att.dataset.age": "{hours} 小时前更新",
      "overview.att.dataset.never": "从未更新",
    },
  },
  async render(root, ctx) {
    const window = WINDOWS.includes(ctx.query.get("window")) ? ctx.query.get("window") : "24h";
    const picker = h("div", { class: "segmented", role: "group", "aria-label": t("overview.window") },
      WINDOWS.map((w) => h("button", { type: "button", class: w === window ? "active" : null, "aria-pressed": String(w === window),
        dataset: { window: w }, onclick: () => ctx.navigate(`#/overview?window=${w}`) }, t(`overview.window.${w}`))));
    const body = h("div", {}, loading());
    clear(root, h("div", { class: "row spread" }, h("h1", {}, t("overview.heading")), picker), body);
    const data = await api("/v1/overview", { query: { window } });
    const caps = data.capabilities;
    clear(body,
      h("p", { class: "muted" }, t("overview.since", { since: fmt.datetime(data.since) })),
      totals(caps, data.attention),
      h("section", { class: "panel" }, h("h2", {}, t("overview.attention")), attentionList(data.attention)),
      h("section", { class: "panel" }, h("h2", {}, t("overview.capabilities")), capabilityTable(caps),
        caps.length ? h("div", { class: "chart-box", id: "calls-chart" }, h("h3", {}, t("overview.callschart")), barChart({
          title: t("overview.callschart"),
          bars: caps.map((c) => ({ label: c.capability, value: c.calls,
            tone: c.drift && c.drift.verdict === "major" ? "bad" : c.drift && c.drift.verdict === "drift" ? "warn" : undefined })),
        })) : null));
  },
};
