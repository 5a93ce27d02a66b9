// A plan as `zhongtai plan` shows it: per object its action (create, update, delete), the fields that change
// from what to what, and what it breaks, adds or leaves behind. Used by every page that applies specs.

import { addStrings, t } from "./i18n.js";
import { badge, h } from "./ui.js";

addStrings({
  en: {
    "plan.create": "create", "plan.update": "update", "plan.delete": "delete", "plan.path": "Field",
    "plan.old": "Now", "plan.new": "After", "plan.breaking": "Breaking", "plan.additive": "Additive", "plan.note": "Note",
    "plan.none": "No change: the registry already holds this.",
  },
  zh: {
    "plan.create": "新建", "plan.update": "修改", "plan.delete": "删除", "plan.path": "字段",
    "plan.old": "当前", "plan.new": "变更后", "plan.breaking": "不兼容", "plan.additive": "新增", "plan.note": "说明",
    "plan.none": "无变更：注册表中已是如此。",
  },
});

const TONE = { create: "ok", update: "warn", delete: "bad" };

export function planSteps(steps) {
  if (!steps.length) return h("p", { class: "muted" }, t("plan.none"));
  return steps.map((step) => h("div", { class: "plan-step", dataset: { action: step.action, name: step.name } },
    h("p", {}, badge(t(`plan.${step.action}`), TONE[step.action] || "info"), " ", h("code", {}, step.kind), " ", h("strong", {}, step.name)),
    step.changes.length ? h("table", { class: "data diff" },
      h("thead", {}, h("tr", {}, [t("plan.path"), t("plan.old"), t("plan.new")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, step.changes.map((c) => h("tr", {}, h("td", {}, h("code", {}, c.path)),
        h("td", { class: "del" }, h("code", {}, JSON.stringify(c.old ?? null))),
        h("td", { class: "add" }, h("code", {}, JSON.stringify(c.new ?? null)))))))
      : null,
    [["breaking", "bad", "plan.breaking"], ["additive", "ok", "plan.additive"], ["notes", "info", "plan.note"]].map(([key, tone, label]) =>
      step[key].map((note) => h("p", {}, badge(t(label), tone), " ", note)))));
}
