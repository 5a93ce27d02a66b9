// Audit: the hash-chained log a page at a time (filtered on the server by kind, principal, object and time),
// whether the chain verifies (and which records broke it, marked in the table), and the ECS export as a
// download: the export needs the credential header, so it is fetched here and handed over as a Blob URL.

import { api, ApiError, credential } from "../lib/api.js";
import { fmt, t } from "../lib/i18n.js";
import { badge, clear, dataTable, errorBox, h, kv, loading } from "../lib/ui.js";

// govern/audit.py AuditKind: what a record can be about.
const KINDS = ["apply", "key_create", "key_revoke", "key_rotate", "submit", "approve", "reject", "archive",
  "alias_move", "rollback", "traffic_change", "decisions", "review_assign", "review_resolve", "review_escalate",
  "flywheel_trigger", "flywheel_step", "flywheel_approve"];

export const page = {
  id: "audit",
  order: 80,
  icon: "✔",
  title: { en: "Audit", zh: "审计" },
  needs: ["read_audit"],
  strings: {
    en: {
      "audit.heading": "Audit log", "audit.verify": "Chain verification", "audit.verify.again": "Verify again",
      "audit.verify.ok": "Verified: no record was edited, deleted, inserted or reordered.",
      "audit.verify.bad": "Broken: {count} problem(s) found.", "audit.verify.records": "Records",
      "audit.verify.decisions": "Decision batches", "audit.verify.head": "Exported head", "audit.verify.summary": "Summary",
      "audit.verify.more": "…and {count} more.", "audit.seq": "#", "audit.at": "When", "audit.kind": "Kind",
      "audit.principal": "Principal", "audit.rule": "Rule", "audit.object": "Object", "audit.body": "Body",
      "audit.problem": "Problem", "audit.detail": "Detail", "audit.broken": "broken",
      "audit.since": "From", "audit.until": "Until", "audit.allkinds": "Every kind",
      "audit.export": "Export (ECS JSON lines)", "audit.export.after": "After record #", "audit.export.ready": "Download {name} ({size})",
      "audit.record": "Record #{seq}", "audit.hash": "Hash", "audit.prev": "Previous hash", "audit.select": "Select a record to see it whole.",
      "audit.head.none": "none exported",
      "audit.kind.apply": "spec apply", "audit.kind.key_create": "key created",
      "audit.kind.key_revoke": "key revoked", "audit.kind.key_rotate": "key rotated",
      "audit.kind.submit": "submitted for review", "audit.kind.approve": "approved",
      "audit.kind.reject": "rejected", "audit.kind.archive": "archived",
      "audit.kind.alias_move": "alias moved", "audit.kind.rollback": "rollback",
      "audit.kind.traffic_change": "traffic change", "audit.kind.decisions": "decisions",
      "audit.kind.review_assign": "review assigned", "audit.kind.review_resolve": "review resolved",
      "audit.kind.review_escalate": "review escalated", "audit.kind.flywheel_trigger": "retrain triggered",
      "audit.kind.flywheel_step": "retrain step", "audit.kind.flywheel_approve": "challenger approved",
    },
    zh: {
      "audit.heading": "审计日志", "audit.verify": "哈希链校验", "audit.verify.again": "重新校验",
      "audit.verify.ok": "校验通过：没有记录被修改、删除、插入或调换顺序。",
      "audit.verify.bad": "链已损坏：发现 {count} 个问题。", "audit.verify.records": "记录数",
      "audit.verify.decisions": "决策批次", "audit.verify.head": "导出的链头", "audit.verify.summary": "摘要",
      "audit.verify.more": "……另有 {count} 个。", "audit.seq": "序号", "audit.at": "时间", "audit.kind": "类型",
      "audit.principal": "主体", "audit.rule": "规则", "audit.object": "对象", "audit.body": "内容",
      "audit.problem": "问题", "audit.detail": "详情", "audit.broken": "已损坏",
      "audit.since": "起始时间", "audit.until": "截止时间", "audit.allkinds": "全部类型",
      "audit.export": "导出（ECS JSON Lines）", "audit.export.after": "从记录序号之后", "audit.export.ready": "下载 {name}（{size}）",
      "audit.record": "记录 #{seq}", "audit.hash": "哈希", "audit.prev": "前一条哈希", "audit.select": "选择一条记录查看完整内容。",
      "audit.head.none": "未导出",
      "audit.kind.apply": "规格应用", "audit.kind.key_create": "创建密钥", "audit.kind.key_revoke": "吊销密钥",
      "audit.kind.key_rotate": "轮换密钥", "audit.kind.submit": "提交评审", "audit.kind.approve": "批准",
      "audit.kind.reject": "驳回", "audit.kind.archive": "归档", "audit.kind.alias_move": "别名变更",
      "audit.kind.rollback": "回滚", "audit.kind.traffic_change": "流量变更", "audit.kind.decisions": "决策",
      "audit.kind.review_assign": "分派复核", "audit.kind.review_resolve": "完成复核",
      "audit.kind.review_escalate": "复核升级", "audit.kind.flywheel_trigger": "触发重训",
      "audit.kind.flywheel_step": "重训步骤", "audit.kind.flywheel_approve": "批准挑战者",
    },
  },
  async render(root) {
    const verifyPanel = h("section", { class: "panel verify", id: "verify" }, loading());
    const detail = h("section", { class: "panel", id: "record" }, h("p", { class: "muted" }, t("audit.select")));
    const broken = new Map();
    const table = dataTable({
      columns: [
        { key: "seq", label: t("audit.seq"), numeric: true, render: (r) => [fmt.number(r.seq), broken.has(r.seq) ? [" ", badge(t("audit.broken"), "bad")] : null] },
        { key: "at", label: t("audit.at"), render: (r) => h("span", { title: r.at }, fmt.datetime(r.at)) },
        { key: "kind", label: t("audit.kind"), render: (r) => h("span", { title: r.kind }, badge(kindName(r.kind), "info")) },
        { key: "principal", label: t("audit.principal") },
        { key: "rule", label: t("audit.rule"), render: (r) => h("code", {}, r.rule) },
        { key: "object", label: t("audit.object") },
        { key: "body", label: t("audit.body"), render: (r) => h("code", {}, typeof r.body === "string" ? r.body : JSON.stringify(r.body)) },
      ],
      filters: [
        { key: "kind", label: t("audit.allkinds"), options: KINDS.map((k) => ({ value: k, label: kindName(k) })) },
        { key: "principal", label: t("audit.principal") },
        { key: "object", label: t("audit.object") },
        { key: "since", label: t("audit.since"), type: "datetime-local" },
        { key: "until", label: t("audit.until"), type: "datetime-local" },
      ],
      rowKey: (r) => r.seq,
      onRow: (r) => showRecord(detail, r, broken),
      load: async ({ offset, limit, filters }) => {
        const { records } = await api("/v1/audit/records", { query: {
          kind: filters.kind, principal: filters.principal, object: filters.object,
          since: moment(filters.since), until: moment(filters.until), offset, limit } });
        return { rows: records };
      },
    });
    for (const input of table.querySelectorAll("input[type=datetime-local]")) {
      input.before(h("label", { class: "muted", for: `audit-${input.name}` }, t(`audit.${input.name}`)));
      input.id = `audit-${input.name}`;
    }
    const verify = async () => {
      clear(verifyPanel, loading());
      try {
        const report = await api("/v1/audit/verify");
        broken.clear();
        for (const f of report.findings) broken.set(f.seq, f);
        drawVerify(verifyPanel, report, verify);
        table.reload();
      } catch (err) { clear(verifyPanel, errorBox(err, verify)); }
    };
    clear(root, h("h1", {}, t("audit.heading")), verifyPanel, exportPanel(), table, detail);
    await verify();
  },
};

// A kind the page knows by name; one added to the log later shows as its code.
function kindName(kind) { return KINDS.includes(kind) ? t(`audit.kind.${kind}`) : kind; }

// A datetime-local value is the viewer's local time; the API takes a moment with its zone.
function moment(value) { return value ? new Date(value).toISOString() : undefined; }

function drawVerify(panel, report, again) {
  panel.classList.toggle("ok", report.ok);
  panel.classList.toggle("bad", !report.ok);
  const count = report.findings.length + report.more_findings;
  clear(panel,
    h("div", { class: "row spread" }, h("h2", {}, t("audit.verify"), " ",
      report.ok ? badge(t("audit.verify.ok"), "ok") : badge(t("audit.verify.bad", { count: fmt.number(count) }), "bad")),
    h("button", { type: "button", onclick: again }, t("audit.verify.again"))),
    kv([
      [t("audit.verify.records"), report.records],
      [t("audit.verify.decisions"), report.decisions],
      [t("audit.verify.head"), report.head ? h("code", {}, `#${report.head.seq} ${String(report.head.hash || "").slice(0, 16)}…`) : t("audit.head.none")],
      // The server's summary is English; the verdict above says it in the reader's language.
      report.ok ? null : [t("audit.verify.summary"), report.summary],
    ]),
    report.findings.length ? h("table", { class: "data", id: "findings" },
      h("thead", {}, h("tr", {}, [t("audit.seq"), t("audit.kind"), t("audit.problem"), t("audit.detail")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, report.findings.map((f) => h("tr", { dataset: { seq: String(f.seq) } },
        h("td", { class: "num" }, fmt.number(f.seq)), h("td", {}, f.kind), h("td", {}, badge(f.problem, "bad")), h("td", {}, f.detail))))) : null,
    report.more_findings ? h("p", { class: "muted" }, t("audit.verify.more", { count: fmt.number(report.more_findings) })) : null,
    report.notes.map((note) => h("p", { class: "hint" }, note)));
}

function showRecord(panel, r, broken) {
  const finding = broken.get(r.seq);
  clear(panel, h("h2", {}, t("audit.record", { seq: fmt.number(r.seq) }), " ", finding ? badge(t("audit.broken"), "bad") : null),
    finding ? h("p", { class: "error" }, `${finding.problem}: ${finding.detail}`) : null,
    kv([
      [t("audit.at"), fmt.datetime(r.at)], [t("audit.kind"), `${kindName(r.kind)} (${r.kind})`], [t("audit.principal"), r.principal],
      [t("audit.rule"), r.rule], [t("audit.object"), r.object],
      [t("audit.prev"), h("code", {}, r.prev_hash)], [t("audit.hash"), h("code", {}, r.hash)],
    ]),
    h("pre", {}, typeof r.body === "string" ? r.body : JSON.stringify(r.body, null, 2)));
}

function exportPanel() {
  const after = h("input", { type: "number", min: "0", step: "1", value: "0", id: "export-after", class: "narrow" });
  const out = h("span", { id: "export-link" });
  const button = h("button", { type: "button", id: "export", onclick: async () => {
    clear(out, loading());
    button.disabled = true;
    try {
      const res = await fetch(`/v1/audit/export?after=${encodeURIComponent(after.value || "0")}`,
        { headers: { Authorization: `Bearer ${credential()}` } });
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
      const blob = await res.blob();
      const name = `audit-${new Date().toISOString().slice(0, 10)}.ndjson`;
      clear(out, h("a", { class: "button primary", href: URL.createObjectURL(blob), download: name },
        t("audit.export.ready", { name, size: `${fmt.number(blob.size / 1024, 1)} KiB` })));
    } catch (err) { clear(out, errorBox(err)); } finally { button.disabled = false; }
  } }, t("audit.export"));
  return h("section", { class: "panel row", id: "export-panel" },
    h("label", { for: "export-after" }, t("audit.export.after")), after, button, out);
}
