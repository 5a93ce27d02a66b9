// The decision log, live: newest first, filtered and paged on the server by a keyset cursor (each page one
// index range scan, however deep into millions of rows), refreshed every few seconds when asked; and one
// decision's full trace: what it saw (masked as the API masks it for this reader), its model version and
// arm, its output and explanation, why a fallback answered, its feedback and review, and the audit record
// that logged it, with whether the row still matches the digest recorded there.
//   #/decisions          the log
//   #/decisions/<id>     one decision's trace

import { api } from "../lib/api.js";
import { fmt, t } from "../lib/i18n.js";
import { badge, clear, dataTable, errorBox, h, kv, loading, show } from "../lib/ui.js";

const REFRESH_MS = 5000;

export const page = {
  id: "decisions",
  order: 50,
  icon: "≡",
  title: { en: "Decisions", zh: "决策日志" },
  needs: ["read_audit"],
  strings: {
    en: {
      "decisions.heading": "Decision log", "decisions.at": "Time", "decisions.capability": "Capability",
      "decisions.decision": "Outcome", "decisions.score": "Score", "decisions.model": "Model", "decisions.version": "Model version",
      "decisions.arm": "Arm", "decisions.fallback": "Fallback", "decisions.latency": "Latency", "decisions.any": "Fallback or not",
      "decisions.onlyfallback": "Fallbacks only", "decisions.nofallback": "Model answers only", "decisions.since": "From",
      "decisions.until": "Until", "decisions.auto": "Refresh every 5 s", "decisions.back": "Decision log",
      "decisions.trace": "Decision {id}", "decisions.principal": "Called by", "decisions.inputs": "Inputs",
      "decisions.output": "Output (route, rules, node)", "decisions.nooutput": "The answer had nothing beyond its outcome and score.",
      "decisions.explanation": "Explanation: the feature values the model was given",
      "decisions.noexplanation": "Your roles do not show this capability's explanations.",
      "decisions.fallbackreason": "Fallback reason", "decisions.shadowof": "Shadow of", "decisions.feedback": "Feedback",
      "decisions.nofeedback": "No feedback yet.", "decisions.kind": "Kind", "decisions.value": "Value", "decisions.by": "By",
      "decisions.when": "When", "decisions.comment": "Comment", "decisions.review": "Review",
      "decisions.noreview": "Not routed to review.", "decisions.reviewstate": "{status} in queue {queue}",
      "decisions.audit": "Audit record", "decisions.noaudit": "No audit record names this decision.",
      "decisions.seq": "Record", "decisions.rule": "Rule", "decisions.hash": "Record hash",
      "decisions.matches": "The row matches the digest recorded when it was logged.",
      "decisions.differs": "The row does NOT match the digest recorded when it was logged.",
      "decisions.openreview": "Open in the review queue", "decisions.id": "Decision id", "decisions.yes": "fallback",
      "decisions.status.open": "open", "decisions.status.assigned": "assigned", "decisions.status.escalated": "escalated",
      "decisions.status.done": "done", "decisions.route": "Route", "decisions.routed": "Routed to review",
      "decisions.notrouted": "Answered automatically",
    },
    zh: {
      "decisions.heading": "决策日志", "decisions.at": "时间", "decisions.capability": "能力",
      "decisions.decision": "结果", "decisions.score": "分数", "decisions.model": "模型", "decisions.version": "模型版本",
      "decisions.arm": "流量分组", "decisions.fallback": "兜底", "decisions.latency": "耗时", "decisions.any": "是否兜底",
      "decisions.onlyfallback": "只看兜底", "decisions.nofallback": "只看模型决策", "decisions.since": "起始时间",
      "decisions.until": "截止时间", "decisions.auto": "每 5 秒自动刷新", "decisions.back": "决策日志",
      "decisions.trace": "决策 {id}", "decisions.principal": "调用方", "decisions.inputs": "输入",
      "decisions.output": "输出（路由、规则、流程节点）", "decisions.nooutput": "除结果和分数外，本次决策没有其他输出。",
      "decisions.explanation": "解释：模型使用的特征取值",
      "decisions.noexplanation": "你的角色无权查看此能力的解释信息。",
      "decisions.fallbackreason": "兜底原因", "decisions.shadowof": "影子决策对应", "decisions.feedback": "反馈",
      "decisions.nofeedback": "暂无反馈。", "decisions.kind": "类型", "decisions.value": "取值", "decisions.by": "提交人",
      "decisions.when": "时间", "decisions.comment": "备注", "decisions.review": "人工审核",
      "decisions.noreview": "未进入人工审核。", "decisions.reviewstate": "队列 {queue}，状态：{status}",
      "decisions.audit": "审计记录", "decisions.noaudit": "没有审计记录包含此决策。",
      "decisions.seq": "记录序号", "decisions.rule": "授权规则", "decisions.hash": "记录哈希",
      "decisions.matches": "该行与写入时记录的摘要一致。",
      "decisions.differs": "该行与写入时记录的摘要不一致！",
      "decisions.openreview": "在审核队列中打开", "decisions.id": "决策 ID", "decisions.yes": "兜底",
      "decisions.status.open": "待处理", "decisions.status.assigned": "已认领", "decisions.status.escalated": "已升级",
      "decisions.status.done": "已完成", "decisions.route": "处理方式", "decisions.routed": "转人工审核",
      "decisions.notrouted": "自动决策",
    },
  },
  async render(root, ctx) {
    if (ctx.args[0]) return trace(root, ctx, ctx.args[0]);
    return log(root, ctx);
  },
};

function iso(local) {
  // datetime-local is the browser's zone; the API takes ISO 8601 with an offset.
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function log(root, ctx) {
  // Page n starts after cursors[n]; an unknown page is reached only by "next", which the last page disables.
  let cursors = [undefined];
  let filterKey = "";
  const table = dataTable({
    pageSize: 50,
    rowKey: (d) => d.id,
    filters: [
      { key: "capability", label: t("decisions.capability") },
      { key: "arm", label: t("decisions.arm") },
      { key: "model", label: t("decisions.model") },
      { key: "model_version", label: t("decisions.version"), type: "number" },
      { key: "decision", label: t("decisions.decision") },
      { key: "fallback", label: t("decisions.any"), options: [{ value: "true", label: t("decisions.onlyfallback") },
        { value: "false", label: t("decisions.nofallback") }] },
      { key: "routed", label: t("decisions.route"), options: [{ value: "true", label: t("decisions.routed") },
        { value: "false", label: t("decisions.notrouted") }] },
      { key: "since", label: t("decisions.since"), type: "datetime-local" },
      { key: "until", label: t("decisions.until"), type: "datetime-local" },
    ],
    columns: [
      { label: t("decisions.at"), render: (d) => fmt.datetime(d.at) },
      { label: t("decisions.capability"), key: "capability" },
      { label: t("decisions.decision"), render: (d) => h("strong", {}, d.decision) },
      { label: t("decisions.score"), numeric: true, render: (d) => fmt.number(d.score, 2) },
      { label: t("decisions.model"), render: (d) => (d.model.name ? `${d.model.name} v${d.model.version}` : "—") },
      { label: t("decisions.arm"), render: (d) => show(d.arm) },
      { label: t("decisions.fallback"), render: (d) => (d.fallback ? badge(d.fallback_reason || t("decisions.yes"), "warn") : "") },
      { label: t("decisions.latency"), numeric: true, render: (d) => fmt.ms(d.latency_ms) },
    ],
    load: async ({ offset, limit, filters }) => {
      const key = JSON.stringify(filters);
      if (key !== filterKey) { cursors = [undefined]; filterKey = key; }
      const index = Math.round(offset / limit);
      if (index > 0 && !cursors[index]) return { rows: [] };
      const query = { ...filters, since: iso(filters.since), until: iso(filters.until), limit, before: cursors[index] };
      const body = await api("/v1/decisions", { query });
      cursors[index + 1] = body.next;
      return { rows: body.decisions };
    },
    onRow: (d) => ctx.navigate(`#/decisions/${encodeURIComponent(d.id)}`),
  });
  table.id = "decision-table";
  // A datetime field shows no placeholder: name the two bounds beside them.
  for (const [name, label] of [["since", "decisions.since"], ["until", "decisions.until"]]) {
    const input = table.querySelector(`input[name=${name}]`);
    input.before(h("label", { class: "muted", for: `decisions-${name}` }, t(label)));
    input.id = `decisions-${name}`;
  }
  let timer = null;
  const auto = h("input", { type: "checkbox", id: "auto-refresh", onchange: () => {
    clearInterval(timer);
    timer = auto.checked ? setInterval(() => {
      if (!root.isConnected) { clearInterval(timer); return; }
      table.reload();
    }, REFRESH_MS) : null;
  } });
  clear(root, h("div", { class: "row page-head" }, h("h1", {}, t("decisions.heading")),
    h("label", { class: "check" }, auto, t("decisions.auto"))), table);
}

async function trace(root, ctx, id) {
  clear(root, loading());
  const found = await api(`/v1/decisions/${encodeURIComponent(id)}/trace`);
  const d = found.decision;
  const output = d.output && Object.keys(d.output).length ? d.output : null;
  clear(root,
    h("p", {}, h("a", { href: "#/decisions" }, `← ${t("decisions.back")}`)),
    h("h1", {}, t("decisions.trace", { id: d.id.slice(0, 8) }), " ", h("strong", {}, d.decision)),
    kv([
      [t("decisions.id"), h("code", {}, d.id)], [t("decisions.at"), fmt.datetime(d.at)],
      [t("decisions.capability"), d.capability], [t("decisions.principal"), d.principal],
      [t("decisions.model"), d.model.name ? `${d.model.name} v${d.model.version}` : "—"], [t("decisions.arm"), d.arm],
      [t("decisions.score"), d.score], [t("decisions.latency"), fmt.ms(d.latency_ms)],
      [t("decisions.fallback"), d.fallback],
      d.fallback ? [t("decisions.fallbackreason"), d.fallback_reason] : null,
      d.shadow_of ? [t("decisions.shadowof"), h("a", { href: `#/decisions/${encodeURIComponent(d.shadow_of)}` }, d.shadow_of)] : null,
    ]),
    h("div", { class: "grid2" },
      h("div", {}, h("h2", {}, t("decisions.inputs")), h("pre", { class: "json", id: "trace-inputs" }, JSON.stringify(d.inputs, null, 2))),
      h("div", {}, h("h2", {}, t("decisions.output")),
        output ? h("pre", { class: "json", id: "trace-output" }, JSON.stringify(output, null, 2)) : h("p", { class: "muted" }, t("decisions.nooutput")))),
    h("h2", {}, t("decisions.explanation")),
    d.explanation ? kv(Object.entries(d.explanation.features || {})) : h("p", { class: "muted" }, t("decisions.noexplanation")),
    h("h2", {}, t("decisions.feedback")), feedbackTable(found.feedback),
    h("h2", {}, t("decisions.review")), reviewBox(ctx, found.review),
    h("h2", {}, t("decisions.audit")), auditBox(found.audit));
}

function feedbackTable(feedback) {
  if (!feedback.length) return h("p", { class: "muted" }, t("decisions.nofeedback"));
  return h("table", { class: "data", id: "trace-feedback" },
    h("thead", {}, h("tr", {}, [t("decisions.kind"), t("decisions.value"), t("decisions.by"), t("decisions.when"),
      t("decisions.comment")].map((label) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, feedback.map((f) => h("tr", {}, h("td", {}, f.kind), h("td", {}, show(f.value)), h("td", {}, f.principal),
      h("td", {}, fmt.datetime(f.at)), h("td", {}, show(f.comment))))));
}

function reviewBox(ctx, review) {
  if (!review) return h("p", { class: "muted" }, t("decisions.noreview"));
  return h("div", { class: "panel", id: "trace-review" },
    h("p", {}, t("decisions.reviewstate", { status: t(`decisions.status.${review.status}`), queue: review.queue }),
      review.verdict ? [" · ", h("strong", {}, review.value ? `${review.verdict} → ${review.value}` : review.verdict),
        h("span", { class: "muted" }, ` · ${review.resolved_by} · ${fmt.datetime(review.resolved_at)}`)] : null),
    ctx.can("review") ? h("a", { href: `#/review/${encodeURIComponent(review.decision_id)}` }, t("decisions.openreview")) : null);
}

function auditBox(audit) {
  if (!audit) return h("p", { class: "muted" }, t("decisions.noaudit"));
  return h("div", { class: "panel", id: "trace-audit" },
    h("p", {}, audit.matches ? badge(t("decisions.matches"), "ok") : badge(t("decisions.differs"), "bad")),
    kv([
      [t("decisions.seq"), `#${audit.seq}`], [t("decisions.when"), fmt.datetime(audit.at)],
      [t("decisions.by"), audit.principal], [t("decisions.rule"), audit.rule],
      [t("decisions.hash"), h("code", {}, audit.hash)],
    ]));
}
