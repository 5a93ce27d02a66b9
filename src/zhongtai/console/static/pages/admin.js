// Admin: API keys (create with the secret shown once, rotate with a grace period, revoke with confirmation),
// roles and grants (the policies in force, edited as a `policies` document: planned, then applied; the API
// refuses a document that would lock every admin out, and says so), and the workspaces those policies define.

import { api } from "../lib/api.js";
import { fmt, t } from "../lib/i18n.js";
import { planSteps } from "../lib/plan.js";
import { badge, clear, confirmDialog, errorBox, h, kv, loading, show, toast } from "../lib/ui.js";

const TABS = [["keys", "manage_keys"], ["grants", "manage_grants"], ["workspaces", "manage_grants"]];
const MEMBER_KINDS = ["capabilities", "datasets", "feature_views", "feature_groups", "models"];

export const page = {
  id: "admin",
  order: 90,
  icon: "⚒",
  title: { en: "Admin", zh: "管理" },
  needs: ["manage_keys", "manage_grants"],
  strings: {
    en: {
      "admin.heading": "Administration", "admin.tab.keys": "API keys", "admin.tab.grants": "Roles and grants",
      "admin.tab.workspaces": "Workspaces",
      "admin.keys.create": "Create a key", "admin.keys.name": "Name", "admin.keys.roles": "Roles",
      "admin.keys.roles.hint": "comma-separated, e.g. caller, analyst", "admin.keys.workspace": "Workspace",
      "admin.keys.owner": "Owner", "admin.keys.scopes": "Scopes", "admin.keys.scopes.hint": "comma-separated actions; empty: everything the roles grant",
      "admin.keys.expires": "Expires in", "admin.keys.expires.hint": "e.g. 90d, 12w; empty: never",
      "admin.keys.prefix": "Prefix", "admin.keys.created": "Created", "admin.keys.expiry": "Expires",
      "admin.keys.status": "Status", "admin.keys.actions": "Actions", "admin.keys.active": "active",
      "admin.keys.revoked": "revoked", "admin.keys.expired": "expired", "admin.keys.grace": "old secret until {until}",
      "admin.keys.never": "never", "admin.keys.rotate": "Rotate", "admin.keys.revoke": "Revoke",
      "admin.keys.secret": "The secret of {name}: copy it now, it is shown only this once.",
      "admin.keys.secret.note": "The gateway keeps only its hash.",
      "admin.keys.rotate.title": "Rotate {name}?", "admin.keys.rotate.body": "A new secret is made; the old one keeps working for:",
      "admin.keys.revoke.title": "Revoke {name}?", "admin.keys.revoke.body": "Every caller using this key is refused within 30 seconds. This cannot be undone.",
      "admin.keys.revoked.done": "{name} is revoked.", "admin.keys.own": "signed in with it", "admin.keys.none": "No API key yet.",
      "admin.grants.rules": "Rules in force", "admin.grants.policy": "Policy", "admin.grants.rule": "Rule",
      "admin.grants.effect": "Effect", "admin.grants.principals": "Who", "admin.grants.actions": "May", "admin.grants.objects": "On",
      "admin.grants.limits": "Rate limits", "admin.grants.limit": "Limit", "admin.grants.perminute": "Per minute", "admin.grants.burst": "Burst",
      "admin.grants.edit": "Edit the policies", "admin.grants.edit.hint": "A `policies` document: each policy it names is created or replaced; the others stay.",
      "admin.grants.plan": "Show the plan", "admin.grants.apply": "Apply", "admin.grants.apply.title": "Apply these grants?",
      "admin.grants.apply.body": "{count} policy change(s), in one transaction, recorded in the audit log under your name.",
      "admin.grants.applied": "Applied; every gateway follows within seconds.", "admin.grants.stale": "The document changed since the plan: show the plan again.",
      "admin.grants.none": "No policy is applied: only admins may act.", "admin.grants.builtin": "The built-in admin role may do everything no deny rule takes away.",
      "admin.workspaces.none": "The policies define no workspace.", "admin.workspaces.name": "Workspace",
      "admin.workspaces.members": "Members", "admin.workspaces.description": "Description",
      "admin.kind.capabilities": "capabilities", "admin.kind.datasets": "datasets", "admin.kind.feature_views": "feature views",
      "admin.kind.feature_groups": "feature groups", "admin.kind.models": "models",
    },
    zh: {
      "admin.heading": "系统管理", "admin.tab.keys": "API 密钥", "admin.tab.grants": "角色与授权",
      "admin.tab.workspaces": "工作空间",
      "admin.keys.create": "创建密钥", "admin.keys.name": "名称", "admin.keys.roles": "角色",
      "admin.keys.roles.hint": "用逗号分隔，例如 caller, analyst", "admin.keys.workspace": "工作空间",
      "admin.keys.owner": "负责人", "admin.keys.scopes": "权限范围", "admin.keys.scopes.hint": "用逗号分隔的操作；留空表示角色授予的全部操作",
      "admin.keys.expires": "有效期", "admin.keys.expires.hint": "例如 90d、12w；留空表示永不过期",
      "admin.keys.prefix": "前缀", "admin.keys.created": "创建时间", "admin.keys.expiry": "过期时间",
      "admin.keys.status": "状态", "admin.keys.actions": "操作", "admin.keys.active": "有效",
      "admin.keys.revoked": "已吊销", "admin.keys.expired": "已过期", "admin.keys.grace": "旧密钥有效至 {until}",
      "admin.keys.never": "永不", "admin.keys.rotate": "轮换", "admin.keys.revoke": "吊销",
      "admin.keys.secret": "{name} 的密钥：请立即复制，它只显示这一次。",
      "admin.keys.secret.note": "网关只保存它的哈希值。",
      "admin.keys.rotate.title": "轮换 {name}？", "admin.keys.rotate.body": "将生成新密钥；旧密钥在以下时长内仍可使用：",
      "admin.keys.revoke.title": "吊销 {name}？", "admin.keys.revoke.body": "使用此密钥的调用方将在 30 秒内被拒绝。此操作无法撤销。",
      "admin.keys.revoked.done": "{name} 已吊销。", "admin.keys.own": "当前登录所用", "admin.keys.none": "还没有 API 密钥。",
      "admin.grants.rules": "生效中的规则", "admin.grants.policy": "策略", "admin.grants.rule": "规则",
      "admin.grants.effect": "效果", "admin.grants.principals": "主体", "admin.grants.actions": "可执行", "admin.grants.objects": "对象",
      "admin.grants.limits": "限流", "admin.grants.limit": "限流规则", "admin.grants.perminute": "每分钟", "admin.grants.burst": "突发上限",
      "admin.grants.edit": "编辑策略", "admin.grants.edit.hint": "一个 `policies` 文档：其中列出的策略将被新建或替换，其余策略保持不变。",
      "admin.grants.plan": "查看变更计划", "admin.grants.apply": "应用", "admin.grants.apply.title": "应用这些授权？",
      "admin.grants.apply.body": "{count} 项策略变更将在一个事务中完成，并以你的名义记入审计日志。",
      "admin.grants.applied": "已应用，各网关将在数秒内跟进。", "admin.grants.stale": "计划生成后文档已改动，请重新查看变更计划。",
      "admin.grants.none": "尚未应用任何策略：只有管理员可以操作。", "admin.grants.builtin": "内置的 admin 角色可执行一切未被拒绝规则排除的操作。",
      "admin.workspaces.none": "策略中没有定义工作空间。", "admin.workspaces.name": "工作空间",
      "admin.workspaces.members": "成员", "admin.workspaces.description": "说明",
      "admin.kind.capabilities": "能力", "admin.kind.datasets": "数据集", "admin.kind.feature_views": "特征视图",
      "admin.kind.feature_groups": "特征组", "admin.kind.models": "模型",
    },
  },
  async render(root, ctx) {
    const allowed = TABS.filter(([, action]) => ctx.can(action)).map(([tab]) => tab);
    const tab = allowed.includes(ctx.args[0]) ? ctx.args[0] : allowed[0];
    const body = h("div", { id: `admin-${tab}` }, loading());
    clear(root, h("h1", {}, t("admin.heading")),
      h("nav", { class: "tabs", "aria-label": t("admin.heading") }, allowed.map((name) =>
        h("a", { href: `#/admin/${name}`, class: name === tab ? "active" : null, "aria-current": name === tab ? "page" : null, dataset: { tab: name } },
          t(`admin.tab.${name}`)))),
      body);
    if (tab === "keys") return keys(body, ctx.me);
    const policies = await api("/v1/policies");
    if (tab === "grants") return grants(body, policies);
    return workspaces(body, policies);
  },
};

// -- keys ----------------------------------------------------------------------------------------------------

const list = (value) => value.split(",").map((s) => s.trim()).filter(Boolean);

async function keys(root, me) {
  const secretBox = h("div", { id: "secret" });
  const tableBox = h("div", { id: "keys-table" }, loading());
  const draw = async () => {
    try {
      const { keys: found } = await api("/v1/keys");
      clear(tableBox, found.length ? keyTable(found, secretBox, draw, me) : h("p", { class: "muted" }, t("admin.keys.none")));
    } catch (err) { clear(tableBox, errorBox(err, draw)); }
  };
  clear(root, createForm(secretBox, draw), secretBox, tableBox);
  await draw();
}

function createForm(secretBox, redraw) {
  const input = (name, attrs = {}) => h("input", { id: `key-${name}`, name, ...attrs });
  const field = (label, el, hint) => h("div", { class: "field" }, h("label", { for: el.id }, label), el, hint ? h("span", { class: "hint" }, hint) : null);
  const name = input("name", { required: true, pattern: "[A-Za-z0-9][A-Za-z0-9_.@:\\-]{0,127}", maxlength: 128 });
  const roles = input("roles", { value: "caller", required: true });
  const workspace = input("workspace");
  const owner = input("owner", { maxlength: 200 });
  const scopes = input("scopes");
  const expires = input("expires", { pattern: "\\d{1,4}[smhdw]", placeholder: "90d" });
  const out = h("div");
  const form = h("form", { class: "panel", id: "create-key", onsubmit: async (e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), roles: list(roles.value) };
    if (workspace.value.trim()) body.workspace = workspace.value.trim();
    if (owner.value.trim()) body.owner = owner.value.trim();
    if (scopes.value.trim()) body.scopes = list(scopes.value);
    if (expires.value.trim()) body.expires = expires.value.trim();
    clear(out);
    try {
      const made = await api("/v1/keys", { method: "POST", body });
      showSecret(secretBox, made);
      form.reset();
      await redraw();
    } catch (err) { clear(out, errorBox(err)); }
  } },
  h("h2", {}, t("admin.keys.create")),
  h("div", { class: "grid3" },
    field(t("admin.keys.name"), name), field(t("admin.keys.roles"), roles, t("admin.keys.roles.hint")),
    field(t("admin.keys.workspace"), workspace), field(t("admin.keys.owner"), owner),
    field(t("admin.keys.scopes"), scopes, t("admin.keys.scopes.hint")), field(t("admin.keys.expires"), expires, t("admin.keys.expires.hint"))),
  h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, t("admin.keys.create"))), out);
  return form;
}

function showSecret(box, made) {
  clear(box, h("section", { class: "panel", role: "status" },
    h("p", {}, h("strong", {}, t("admin.keys.secret", { name: made.key.name }))),
    h("code", { class: "secret", id: "secret-value" }, made.secret),
    h("p", { class: "hint" }, t("admin.keys.secret.note"))));
}

function status(key) {
  if (key.revoked_at) return badge(t("admin.keys.revoked"), "bad");
  if (key.expires_at && new Date(key.expires_at) < new Date()) return badge(t("admin.keys.expired"), "warn");
  if (key.previous_until && new Date(key.previous_until) > new Date()) {
    return badge(t("admin.keys.grace", { until: fmt.datetime(key.previous_until) }), "warn");
  }
  return badge(t("admin.keys.active"), "ok");
}

function keyTable(found, secretBox, redraw, me) {
  // The key signed in here may not rotate or revoke itself (the API refuses: its caller could be locked out).
  const own = (key) => me.via === "key" && me.name === key.name;
  const columns = [t("admin.keys.name"), t("admin.keys.prefix"), t("admin.keys.roles"), t("admin.keys.workspace"),
    t("admin.keys.owner"), t("admin.keys.scopes"), t("admin.keys.created"), t("admin.keys.expiry"), t("admin.keys.status"), t("admin.keys.actions")];
  const out = h("div");
  const act = async (work) => { clear(out); try { await work(); await redraw(); } catch (err) { clear(out, errorBox(err)); } };
  return h("div", {}, out, h("div", { class: "scroll" }, h("table", { class: "data", id: "keys" },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, found.map((key) => h("tr", { dataset: { key: key.name } },
      h("td", {}, key.name), h("td", {}, h("code", {}, key.prefix)), h("td", {}, key.roles.join(", ")),
      h("td", {}, show(key.workspace)), h("td", {}, show(key.owner)), h("td", {}, key.scopes.length ? key.scopes.join(", ") : "—"),
      h("td", { title: key.created_at }, fmt.datetime(key.created_at)),
      h("td", {}, key.expires_at ? fmt.datetime(key.expires_at) : t("admin.keys.never")),
      h("td", {}, status(key)),
      h("td", {}, key.revoked_at ? null : own(key) ? h("span", { class: "muted" }, t("admin.keys.own")) : h("div", { class: "row" },
        h("button", { type: "button", class: "rotate", onclick: () => act(async () => {
          const grace = h("input", { value: "24h", pattern: "\\d{1,4}[smhdw]", "aria-label": t("admin.keys.rotate.body"), class: "narrow" });
          const ok = await confirmDialog(t("admin.keys.rotate.title", { name: key.name }),
            h("p", {}, t("admin.keys.rotate.body"), " ", grace), { confirmLabel: t("admin.keys.rotate") });
          if (!ok) return;
          showSecret(secretBox, await api(`/v1/keys/${encodeURIComponent(key.name)}/rotate`, { method: "POST", body: { grace: grace.value.trim() } }));
        }) }, t("admin.keys.rotate")),
        h("button", { type: "button", class: "revoke danger", onclick: () => act(async () => {
          const ok = await confirmDialog(t("admin.keys.revoke.title", { name: key.name }), t("admin.keys.revoke.body"),
            { confirmLabel: t("admin.keys.revoke"), danger: true });
          if (!ok) return;
          await api(`/v1/keys/${encodeURIComponent(key.name)}`, { method: "DELETE" });
          toast(t("admin.keys.revoked.done", { name: key.name }));
        }) }, t("admin.keys.revoke"))))))))));
}

// -- roles and grants ----------------------------------------------------------------------------------------

function grants(root, policies) {
  const rules = policies.policies.flatMap((p) => (p.rules || []).map((r) => ({ policy: p.name, ...r })));
  const limits = policies.policies.flatMap((p) => (p.limits || []).map((l) => ({ policy: p.name, ...l })));
  const text = h("textarea", { id: "policies-document", rows: 18, spellcheck: false, "aria-label": t("admin.grants.edit") });
  text.value = policies.document;
  const result = h("div", { id: "grants-plan" });
  let planned = null;
  const send = (verb) => api(`/v1/policies/${verb}`, { method: "POST", body: { document: text.value, source: "policies.yaml" } });
  text.addEventListener("input", () => { if (planned !== null) { planned = null; clear(result, h("p", { class: "muted" }, t("admin.grants.stale"))); } });
  const plan = async () => {
    clear(result, loading());
    try {
      const answer = await send("plan");
      planned = text.value;
      clear(result, planSteps(answer.steps), answer.steps.length
        ? h("button", { type: "button", class: "primary", id: "apply-grants", onclick: () => apply(answer.steps) }, t("admin.grants.apply")) : null);
    } catch (err) { planned = null; clear(result, errorBox(err)); }
  };
  const apply = async (steps) => {
    if (planned !== text.value) return clear(result, h("p", { class: "muted" }, t("admin.grants.stale")));
    if (!await confirmDialog(t("admin.grants.apply.title"), t("admin.grants.apply.body", { count: fmt.number(steps.length) }),
      { confirmLabel: t("admin.grants.apply") })) return;
    try {
      await send("apply");
      toast(t("admin.grants.applied"));
      grants(root, await api("/v1/policies"));
    } catch (err) { clear(result, errorBox(err)); }
  };
  clear(root,
    h("p", { class: "hint" }, t("admin.grants.builtin")),
    h("h2", {}, t("admin.grants.rules")),
    rules.length ? h("table", { class: "data", id: "rules" },
      h("thead", {}, h("tr", {}, [t("admin.grants.policy"), t("admin.grants.rule"), t("admin.grants.effect"), t("admin.grants.principals"),
        t("admin.grants.actions"), t("admin.grants.objects")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rules.map((r) => h("tr", { dataset: { rule: `${r.policy}.${r.name}` } },
        h("td", {}, r.policy), h("td", {}, r.name), h("td", {}, badge(r.effect || "allow", r.effect === "deny" ? "bad" : "ok")),
        h("td", {}, r.principals.join(", ")), h("td", {}, r.actions.join(", ")), h("td", {}, (r.objects || ["*"]).join(", "))))))
      : h("p", { class: "muted" }, t("admin.grants.none")),
    limits.length ? [h("h2", {}, t("admin.grants.limits")), h("table", { class: "data" },
      h("thead", {}, h("tr", {}, [t("admin.grants.policy"), t("admin.grants.limit"), t("admin.grants.principals"), t("admin.grants.perminute"),
        t("admin.grants.burst")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, limits.map((l) => h("tr", {}, h("td", {}, l.policy), h("td", {}, l.name), h("td", {}, l.principals.join(", ")),
        h("td", { class: "num" }, fmt.number(l.per_minute)), h("td", { class: "num" }, show(l.burst))))))] : null,
    h("section", { class: "panel" }, h("h2", {}, t("admin.grants.edit")), h("p", { class: "hint" }, t("admin.grants.edit.hint")), text,
      h("div", { class: "row" }, h("button", { type: "button", id: "plan-grants", onclick: plan }, t("admin.grants.plan"))), result));
}

// -- workspaces ----------------------------------------------------------------------------------------------

function workspaces(root, policies) {
  const found = policies.policies.flatMap((p) => (p.workspaces || []).map((w) => ({ policy: p.name, ...w })));
  if (!found.length) return clear(root, h("p", { class: "muted" }, t("admin.workspaces.none")));
  clear(root, h("table", { class: "data", id: "workspaces" },
    h("thead", {}, h("tr", {}, [t("admin.workspaces.name"), t("admin.grants.policy"), t("admin.workspaces.members"), t("admin.workspaces.description")]
      .map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, found.map((w) => h("tr", { dataset: { workspace: w.name } },
      h("td", {}, h("strong", {}, w.name)), h("td", {}, w.policy),
      h("td", {}, kv(MEMBER_KINDS.filter((k) => (w[k] || []).length).map((k) => [t(`admin.kind.${k}`), w[k].join(", ")]))),
      h("td", {}, show(w.description)))))));
}
