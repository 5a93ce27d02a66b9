// The review queue: decisions routed to a person, soonest deadline first (paged and filtered on the server),
// one opened beside the list with its decision and explanation as the reader may see them, and a verdict —
// accept, or correct with the right class — that the API writes as feedback for the flywheel. Claim and
// assign hand items around. Built for the keyboard: j/k move, Enter opens, a accepts, c corrects, ? helps.
//   #/review            the queue
//   #/review/<id>       the queue with that item open

import { api } from "../lib/api.js";
import { fmt, t } from "../lib/i18n.js";
import { badge, clear, dataTable, errorBox, h, kv, loading, show, toast } from "../lib/ui.js";

const STATUSES = ["open", "assigned", "escalated", "done"];
const TONE = { open: "info", assigned: "neutral", escalated: "warn", done: "ok" };

export const page = {
  id: "review",
  order: 60,
  icon: "✔",
  title: { en: "Review queue", zh: "人工审核" },
  needs: ["review"],
  strings: {
    en: {
      "review.heading": "Review queue", "review.capability": "Capability", "review.queue": "Queue",
      "review.status": "Status", "review.assignee": "Assignee", "review.deadline": "Deadline",
      "review.created": "Routed", "review.overdue": "overdue", "review.onlyoverdue": "Overdue only",
      "review.mine": "Mine only", "review.allstatuses": "Any status", "review.pending": "Pending", "review.decision": "Decision",
      "review.score": "Score", "review.model": "Model", "review.arm": "Arm", "review.fallback": "Fallback",
      "review.inputs": "Inputs", "review.output": "Output", "review.explanation": "Explanation (feature values)",
      "review.noexplanation": "Your roles do not show this capability's explanations.",
      "review.pick": "Open an item (Enter, or a click) to see its decision.",
      "review.comment": "Comment", "review.value": "Right class", "review.accept": "Accept (a)",
      "review.correct": "Correct (c)", "review.claim": "Claim", "review.assign": "Assign to", "review.assignto": "Assign",
      "review.accepted": "Accepted.", "review.corrected": "Corrected to {value}.", "review.claimed": "It is yours now.",
      "review.assigned": "Assigned to {who}.", "review.resolved": "Resolved by {who} {when}: {verdict}",
      "review.needvalue": "A correction names the right class.", "review.keys": "Keyboard",
      "review.help": "j / k: next / previous item · Enter: open it · a: accept · c: correct (type the class, then Enter) · ?: this help · Esc: leave a field",
      "review.id": "Decision id", "review.status.open": "open", "review.status.assigned": "assigned",
      "review.status.escalated": "escalated", "review.status.done": "done", "review.trace": "Full trace",
      "review.verdict.accept": "accepted", "review.verdict.correct": "corrected",
    },
    zh: {
      "review.heading": "人工审核队列", "review.capability": "能力", "review.queue": "队列",
      "review.status": "状态", "review.assignee": "处理人", "review.deadline": "截止时间",
      "review.created": "进入队列", "review.overdue": "已超时", "review.onlyoverdue": "只看超时",
      "review.mine": "只看我的", "review.allstatuses": "全部状态", "review.pending": "未处理", "review.decision": "决策结果",
      "review.score": "分数", "review.model": "模型", "review.arm": "流量分组", "review.fallback": "兜底",
      "review.inputs": "输入", "review.output": "输出", "review.explanation": "解释（特征取值）",
      "review.noexplanation": "你的角色无权查看此能力的解释信息。",
      "review.pick": "打开一条（回车或点击）即可查看对应的决策。",
      "review.comment": "备注", "review.value": "正确类别", "review.accept": "认可（a）",
      "review.correct": "纠正（c）", "review.claim": "认领", "review.assign": "指派给", "review.assignto": "指派",
      "review.accepted": "已认可。", "review.corrected": "已纠正为 {value}。", "review.claimed": "已由你认领。",
      "review.assigned": "已指派给 {who}。", "review.resolved": "{who} 于{when}处理：{verdict}",
      "review.needvalue": "纠正时需要填写正确的类别。", "review.keys": "快捷键",
      "review.help": "j / k：下一条 / 上一条 · 回车：打开 · a：认可 · c：纠正（输入类别后回车） · ?：显示本帮助 · Esc：离开输入框",
      "review.id": "决策 ID", "review.status.open": "待处理", "review.status.assigned": "已认领",
      "review.status.escalated": "已升级", "review.status.done": "已完成", "review.trace": "完整链路",
      "review.verdict.accept": "认可", "review.verdict.correct": "纠正",
    },
  },
  async render(root, ctx) {
    const detail = h("div", { class: "review-detail", id: "review-detail", "aria-live": "polite" },
      h("p", { class: "muted" }, t("review.pick")));
    const help = h("div", { class: "panel keys", id: "review-help", hidden: true },
      h("strong", {}, `${t("review.keys")}: `), t("review.help"));
    const state = { open: null, focus: 0 };

    const table = dataTable({
      pageSize: 25,
      rowKey: (item) => item.decision_id,
      filters: [
        { key: "capability", label: t("review.capability") },
        { key: "status", label: t("review.allstatuses"), value: "pending", options: [{ value: "pending", label: t("review.pending") },
          ...STATUSES.map((s) => ({ value: s, label: t(`review.status.${s}`) }))] },
        { key: "mine", label: t("review.assignee"), options: [{ value: "true", label: t("review.mine") }] },
        { key: "overdue", label: t("review.onlyoverdue"), options: [{ value: "true", label: t("review.overdue") }] },
      ],
      columns: [
        { label: t("review.capability"), key: "capability" },
        { label: t("review.queue"), key: "queue" },
        { label: t("review.status"), render: (i) => statusBadge(i) },
        { label: t("review.assignee"), render: (i) => show(i.assignee) },
        { label: t("review.deadline"), render: (i) => fmt.relative(i.deadline) },
        { label: t("review.created"), render: (i) => fmt.datetime(i.created_at) },
      ],
      load: async ({ offset, limit, filters }) => {
        const { status, ...rest } = filters;
        const query = { offset, limit, ...rest, ...(status === "pending" ? { pending: true } : { status }) };
        const body = await api("/v1/review/items", { query });
        setTimeout(() => focusRow(Math.min(state.focus, body.items.length - 1)));
        return { rows: body.items, total: body.total };
      },
      onRow: (item) => openItem(item.decision_id),
    });
    table.id = "review-table";

    function rows() { return [...table.querySelectorAll("tbody tr[data-key]")]; }
    function focusRow(index) {
      const all = rows();
      if (!all.length || index < 0) return;
      state.focus = Math.max(0, Math.min(index, all.length - 1));
      all.forEach((tr, i) => tr.classList.toggle("selected", i === state.focus));
      all[state.focus].focus({ preventScroll: false });
      all[state.focus].scrollIntoView({ block: "nearest" });
    }

    async function openItem(id) {
      const all = rows();
      const at = all.findIndex((tr) => tr.dataset.key === id);
      if (at >= 0) focusRow(at);
      clear(detail, loading());
      try {
        state.open = await api(`/v1/review/items/${encodeURIComponent(id)}`);
      } catch (err) { state.open = null; return clear(detail, errorBox(err)); }
      drawItem(state.open);
    }

    const comment = h("textarea", { name: "comment", id: "verdict-comment", maxlength: 1000, rows: 2 });
    const value = h("input", { name: "value", id: "verdict-value", maxlength: 200, placeholder: t("review.value"), "aria-label": t("review.value"),
      onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); verdict("correct"); } } });
    const problem = h("div", { id: "verdict-problem" });

    async function verdict(kind) {
      const item = state.open;
      if (!item || item.status === "done") return;
      clear(problem);
      const body = { verdict: kind, comment: comment.value.trim() };
      if (kind === "correct") {
        if (!value.value.trim()) { value.focus(); return clear(problem, h("p", { class: "error", role: "alert" }, t("review.needvalue"))); }
        body.value = value.value.trim();
      }
      try {
        await api(`/v1/review/items/${encodeURIComponent(item.decision_id)}/resolve`, { method: "POST", body });
      } catch (err) { return clear(problem, errorBox(err)); }
      toast(kind === "accept" ? t("review.accepted") : t("review.corrected", { value: body.value }));
      comment.value = ""; value.value = "";
      state.open = null;
      clear(detail, h("p", { class: "muted" }, t("review.pick")));
      table.reload();
    }

    async function act(path, body, done) {
      clear(problem);
      try {
        const item = await api(`/v1/review/items/${encodeURIComponent(state.open.decision_id)}/${path}`, { method: "POST", body });
        toast(done(item));
        table.reload();
        openItem(item.decision_id);
      } catch (err) { clear(problem, errorBox(err)); }
    }

    function drawItem(item) {
      const d = item.decision;
      const pending = item.status !== "done";
      const assignee = h("input", { name: "assignee", placeholder: t("review.assignee"), "aria-label": t("review.assignee"), maxlength: 128 });
      clear(detail, h("div", { class: "panel", dataset: { item: item.decision_id } },
        h("h2", {}, `${item.capability} · ${item.queue} `, statusBadge(item)),
        kv([
          [t("review.id"), h("code", {}, item.decision_id)],
          [t("review.assignee"), item.assignee], [t("review.deadline"), `${fmt.datetime(item.deadline)} (${fmt.relative(item.deadline)})`],
          [t("review.created"), fmt.datetime(item.created_at)],
          item.status === "done" ? [t("review.status"), t("review.resolved", { who: item.resolved_by, when: fmt.datetime(item.resolved_at),
            verdict: item.value ? `${t(`review.verdict.${item.verdict}`)} → ${item.value}` : t(`review.verdict.${item.verdict}`) })] : null,
        ]),
        d ? [
          kv([
            [t("review.decision"), h("strong", {}, d.decision)], [t("review.score"), d.score],
            [t("review.model"), d.model.name ? `${d.model.name} v${d.model.version}` : "—"], [t("review.arm"), d.arm],
            [t("review.fallback"), d.fallback],
          ]),
          h("h3", {}, t("review.inputs")), h("pre", { class: "json" }, JSON.stringify(d.inputs, null, 2)),
          d.output ? [h("h3", {}, t("review.output")), h("pre", { class: "json" }, JSON.stringify(d.output, null, 2))] : null,
          h("h3", {}, t("review.explanation")),
          d.explanation ? kv(Object.entries(d.explanation.features || {})) : h("p", { class: "muted" }, t("review.noexplanation")),
          ctx.can("read_audit") ? h("p", {}, h("a", { href: `#/decisions/${encodeURIComponent(item.decision_id)}` }, t("review.trace"))) : null,
        ] : null,
        pending ? h("div", { class: "verdict" },
          h("label", { for: "verdict-comment" }, t("review.comment")), comment,
          h("div", { class: "row" },
            h("button", { type: "button", class: "primary", id: "accept", onclick: () => verdict("accept") }, t("review.accept")),
            value, h("button", { type: "button", id: "correct", onclick: () => verdict("correct") }, t("review.correct"))),
          h("div", { class: "row" },
            h("button", { type: "button", id: "claim", onclick: () => act("claim", undefined, () => t("review.claimed")) }, t("review.claim")),
            assignee, h("button", { type: "button", id: "assign", onclick: () => {
              const who = assignee.value.trim();
              if (who) act("assign", { assignee: who }, () => t("review.assigned", { who }));
            } }, t("review.assignto"))),
          problem) : null));
    }

    // Shortcuts while this page is shown; typing in a field is never taken for one.
    function onKey(e) {
      if (!root.isConnected) { document.removeEventListener("keydown", onKey); return; }
      if (e.ctrlKey || e.metaKey || e.altKey || document.querySelector("dialog[open]")) return;
      const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
      if (typing) { if (e.key === "Escape") e.target.blur(); return; }
      const all = rows();
      if (e.key === "j") { e.preventDefault(); focusRow(state.focus + 1); }
      else if (e.key === "k") { e.preventDefault(); focusRow(state.focus - 1); }
      else if (e.key === "Enter" && all[state.focus] && e.target === document.body) { e.preventDefault(); openItem(all[state.focus].dataset.key); }
      else if (e.key === "a") { e.preventDefault(); verdict("accept"); }
      else if (e.key === "c") { e.preventDefault(); if (state.open && state.open.status !== "done") value.focus(); }
      else if (e.key === "?") { e.preventDefault(); help.hidden = !help.hidden; }
    }
    document.addEventListener("keydown", onKey);

    clear(root,
      h("div", { class: "row page-head" }, h("h1", {}, t("review.heading")),
        h("button", { type: "button", class: "keyhint", "aria-controls": "review-help", onclick: () => { help.hidden = !help.hidden; } }, `? ${t("review.keys")}`)),
      help,
      h("div", { class: "review-layout" }, table, detail));
    if (ctx.args[0]) openItem(ctx.args[0]);
  },
};

function statusBadge(item) {
  const overdue = item.status !== "done" && new Date(item.deadline).getTime() < Date.now();
  return h("span", {}, badge(t(`review.status.${item.status}`), TONE[item.status]),
    overdue ? [" ", badge(t("review.overdue"), "bad")] : null);
}
