// Capabilities: what each serves and under which traffic split (changed live), a try-it form built from the
// capability's OpenAPI request schema, and the low-code composer: a form that writes the capability's spec,
// shows the plan `zhongtai plan` would show and the impact replayed from logged decisions, then applies it
// (audited) through /v1/specs; the registered spec downloads as the YAML the repository of specs holds.

import { api } from "../lib/api.js";
import { fmt, t } from "../lib/i18n.js";
import { planSteps } from "../lib/plan.js";
import { badge, clear, confirmDialog, errorBox, h, kv, loading, show, toast } from "../lib/ui.js";

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const NAME_PATTERN = "[a-z][a-z0-9_\\-]{0,62}"; // the same, as an input's pattern (the v flag wants - escaped)

export const page = {
  id: "capabilities",
  order: 45,
  icon: "⚙",
  title: { en: "Capabilities", zh: "能力" },
  needs: ["read_models", "call", "apply_specs"],
  strings: {
    en: {
      "capabilities.heading": "Capabilities", "capabilities.compose": "Compose a capability",
      "capabilities.name": "Name", "capabilities.model": "Model", "capabilities.alias": "Alias",
      "capabilities.description": "Description", "capabilities.serving": "Serving", "capabilities.bands": "Answers",
      "capabilities.notloaded": "not loaded", "capabilities.back": "All capabilities",
      "capabilities.traffic": "Traffic", "capabilities.origin.live": "live split", "capabilities.origin.spec": "from the spec",
      "capabilities.origin.alias": "alias alone", "capabilities.arm": "Arm", "capabilities.serves": "Serves",
      "capabilities.weight": "Weight", "capabilities.share": "Share", "capabilities.shadows": "Shadows",
      "capabilities.sample": "Sample", "capabilities.canary": "Canary",
      "capabilities.canary.none": "No canary ramp.",
      "capabilities.canary.ramping": "ramping", "capabilities.canary.awaiting_approval": "awaiting promotion",
      "capabilities.canary.rolled_back": "rolled back", "capabilities.canary.promoted": "promoted",
      "capabilities.canary.step": "step {step} of {steps} ({percent} %) since {since}", "capabilities.canary.of": "Arm {arm} ramps through {steps} % every {every}, then {complete}.",
      "capabilities.history": "Recent traffic changes", "capabilities.when": "When", "capabilities.who": "Who",
      "capabilities.what": "Change", "capabilities.reason": "Reason", "capabilities.history.none": "No change yet.",
      "capabilities.split": "Change the split", "capabilities.split.add": "Add an arm", "capabilities.split.remove": "Remove",
      "capabilities.split.apply": "Apply the split", "capabilities.split.done": "The split is live; every gateway follows within seconds.",
      "capabilities.split.reset": "Back to the spec's traffic", "capabilities.split.reset.title": "Drop the live split?",
      "capabilities.split.reset.body": "The capability serves its spec's traffic (or its alias alone) again.",
      "capabilities.split.reset.done": "The live split was dropped.", "capabilities.split.serves.hint": "an alias (champion) or a version (v3)",
      "capabilities.try": "Try it", "capabilities.try.context": "Context (JSON object, optional)", "capabilities.try.send": "Decide",
      "capabilities.try.answer": "Answer", "capabilities.try.decision": "Decision", "capabilities.try.score": "Score",
      "capabilities.try.version": "Model version", "capabilities.try.arm": "Arm", "capabilities.try.fallback": "Fallback",
      "capabilities.try.latency": "Latency", "capabilities.try.raw": "The whole answer (JSON)", "capabilities.try.id": "Decision id", "capabilities.try.badjson": "The context is not a JSON object.",
      "capabilities.try.unloaded": "This capability does not serve on this gateway yet.",
      "capabilities.spec": "Spec", "capabilities.export": "Download YAML", "capabilities.edit": "Edit in the composer",
      "capabilities.composer.new": "Compose a new capability", "capabilities.composer.edit": "Edit {name}",
      "capabilities.composer.intro": "The form writes the capability's spec; nothing changes until you apply its plan.",
      "capabilities.input": "Request field holding the entity key", "capabilities.input.hint": "e.g. customer_id",
      "capabilities.band.decision": "Answer", "capabilities.band.min": "From score", "capabilities.band.add": "Add a score band",
      "capabilities.bands.hint": "Scores at or above a band's floor get its answer; the highest floor is tried first.",
      "capabilities.fallback": "Fallback answer (no features)", "capabilities.fallback.score": "Fallback score",
      "capabilities.explain": "Top factors returned", "capabilities.arms": "Traffic split (optional)",
      "capabilities.arms.hint": "Without arms, the alias takes all the traffic.", "capabilities.arms.kept": "Its shadows and canary are kept as they are.",
      "capabilities.valuebands": "Its value bands are kept as they are.", "capabilities.plan": "Show the plan",
      "capabilities.plan.heading": "Plan",
      "capabilities.document": "Spec document", "capabilities.document.hint": "What was planned, as JSON (which YAML reads as is); once applied, download it as YAML from the capability's page.", "capabilities.apply": "Apply", "capabilities.apply.title": "Apply this plan?",
      "capabilities.apply.body": "{count} change(s) to {name}, in one transaction, recorded in the audit log under your name.",
      "capabilities.apply.done": "Applied: {name} serves within seconds.", "capabilities.stale": "The form changed since the plan: show the plan again.",
      "capabilities.impact": "Impact on logged decisions", "capabilities.impact.new": "A new capability: no decisions were logged, so nothing to replay.",
      "capabilities.impact.unsupported": "No replay: {message}", "capabilities.impact.since": "Decisions since {since}, replayed with {model} ({alias}) and the new bands.",
      "capabilities.impact.decisions": "Decisions logged", "capabilities.impact.replayed": "Replayed", "capabilities.impact.fallbacks": "Fallbacks (not replayed)",
      "capabilities.impact.agreement": "Same answer", "capabilities.impact.shift": "Mean score shift", "capabilities.impact.psi": "Score PSI",
      "capabilities.impact.flips": "Answers that change", "capabilities.impact.flip": "From → to", "capabilities.impact.count": "Decisions",
      "capabilities.impact.noflips": "No answer changes.", "capabilities.required": "{field} is required.",
      "capabilities.badname": "A name is lowercase letters, digits, - and _, starting with a letter.",
      "capabilities.none": "No capability is registered yet.",
    },
    zh: {
      "capabilities.heading": "能力", "capabilities.compose": "编排新能力",
      "capabilities.name": "名称", "capabilities.model": "模型", "capabilities.alias": "别名",
      "capabilities.description": "说明", "capabilities.serving": "在线版本", "capabilities.bands": "决策结果",
      "capabilities.notloaded": "未加载", "capabilities.back": "全部能力",
      "capabilities.traffic": "流量", "capabilities.origin.live": "实时分流", "capabilities.origin.spec": "来自规格",
      "capabilities.origin.alias": "仅别名", "capabilities.arm": "分支", "capabilities.serves": "服务版本",
      "capabilities.weight": "权重", "capabilities.share": "占比", "capabilities.shadows": "影子分支",
      "capabilities.sample": "采样比例", "capabilities.canary": "金丝雀",
      "capabilities.canary.none": "没有金丝雀放量。",
      "capabilities.canary.ramping": "放量中", "capabilities.canary.awaiting_approval": "等待晋升",
      "capabilities.canary.rolled_back": "已回滚", "capabilities.canary.promoted": "已晋升",
      "capabilities.canary.step": "第 {step}/{steps} 级（{percent} %），自 {since} 起", "capabilities.canary.of": "分支 {arm} 按 {steps} % 逐级放量，每级 {every}，完成后{complete}。",
      "capabilities.history": "最近的流量变更", "capabilities.when": "时间", "capabilities.who": "操作人",
      "capabilities.what": "变更", "capabilities.reason": "原因", "capabilities.history.none": "尚无变更。",
      "capabilities.split": "调整分流", "capabilities.split.add": "添加分支", "capabilities.split.remove": "移除",
      "capabilities.split.apply": "应用分流", "capabilities.split.done": "分流已生效，各网关将在数秒内跟进。",
      "capabilities.split.reset": "恢复规格中的流量", "capabilities.split.reset.title": "撤销实时分流？",
      "capabilities.split.reset.body": "能力将重新按规格中的流量（或仅按别名）提供服务。",
      "capabilities.split.reset.done": "实时分流已撤销。", "capabilities.split.serves.hint": "别名（如 champion）或版本（如 v3）",
      "capabilities.try": "在线试用", "capabilities.try.context": "上下文（JSON 对象，可选）", "capabilities.try.send": "请求决策",
      "capabilities.try.answer": "返回结果", "capabilities.try.decision": "决策", "capabilities.try.score": "分数",
      "capabilities.try.version": "模型版本", "capabilities.try.arm": "分支", "capabilities.try.fallback": "兜底",
      "capabilities.try.latency": "耗时", "capabilities.try.raw": "完整返回（JSON）", "capabilities.try.id": "决策编号", "capabilities.try.badjson": "上下文不是 JSON 对象。",
      "capabilities.try.unloaded": "此能力尚未在本网关上提供服务。",
      "capabilities.spec": "规格", "capabilities.export": "下载 YAML", "capabilities.edit": "在编排器中修改",
      "capabilities.composer.new": "编排新能力", "capabilities.composer.edit": "修改 {name}",
      "capabilities.composer.intro": "表单生成能力的规格；在应用其变更计划之前不会有任何改动。",
      "capabilities.input": "请求中承载实体键的字段", "capabilities.input.hint": "例如 customer_id",
      "capabilities.band.decision": "决策结果", "capabilities.band.min": "分数下限", "capabilities.band.add": "添加分数段",
      "capabilities.bands.hint": "分数不低于某段下限即得到该段结果；从下限最高的段开始匹配。",
      "capabilities.fallback": "兜底结果（无特征时）", "capabilities.fallback.score": "兜底分数",
      "capabilities.explain": "返回的主要因素个数", "capabilities.arms": "流量分配（可选）",
      "capabilities.arms.hint": "不设分支时，全部流量走该别名。", "capabilities.arms.kept": "其影子分支和金丝雀设置保持不变。",
      "capabilities.valuebands": "其数值区间保持不变。", "capabilities.plan": "查看变更计划",
      "capabilities.plan.heading": "变更计划",
      "capabilities.document": "规格文档", "capabilities.document.hint": "这是生成计划所用的规格，格式为 JSON（YAML 可直接读取）；应用后可在该能力页面下载 YAML。", "capabilities.apply": "应用", "capabilities.apply.title": "应用此变更计划？",
      "capabilities.apply.body": "对 {name} 的 {count} 项变更将在一个事务中完成，并以你的名义记入审计日志。",
      "capabilities.apply.done": "已应用：{name} 将在数秒内开始服务。", "capabilities.stale": "计划生成后表单已改动，请重新查看变更计划。",
      "capabilities.impact": "对已记录决策的影响", "capabilities.impact.new": "这是新能力：尚无已记录的决策，无可回放。",
      "capabilities.impact.unsupported": "无法回放：{message}", "capabilities.impact.since": "回放 {since} 以来的决策，使用 {model}（{alias}）和新的分数段。",
      "capabilities.impact.decisions": "已记录决策", "capabilities.impact.replayed": "已回放", "capabilities.impact.fallbacks": "兜底（未回放）",
      "capabilities.impact.agreement": "结果不变", "capabilities.impact.shift": "平均分数变化", "capabilities.impact.psi": "分数 PSI",
      "capabilities.impact.flips": "会改变的结果", "capabilities.impact.flip": "原结果 → 新结果", "capabilities.impact.count": "决策数",
      "capabilities.impact.noflips": "没有结果发生变化。", "capabilities.required": "{field}为必填项。",
      "capabilities.badname": "名称只能包含小写字母、数字、- 和 _，且以字母开头。",
      "capabilities.none": "尚未注册任何能力。",
    },
  },
  async render(root, ctx) {
    const [name, sub] = ctx.args;
    const composing = name === "new" || sub === "edit";
    // Composing needs apply_specs: without it the composer is not drawn and asks the API nothing.
    if (composing && !ctx.can("apply_specs")) return clear(root, h("p", { class: "error", role: "alert" }, t("app.denied")));
    if (composing) return composer(root, ctx, name === "new" ? null : name);
    if (name) return detail(root, ctx, name);
    return list(root, ctx);
  },
};

// -- the list ------------------------------------------------------------------------------------------------

async function serving(ctx) {
  // What serves on this gateway, for callers; readers of models see every registered one besides.
  if (!ctx.can("call")) return null;
  const answer = await api("/v1/capabilities");
  const loaded = new Map(answer.capabilities.map((c) => [c.name, c]));
  return { loaded, errors: answer.not_loaded };
}

async function list(root, ctx) {
  clear(root, loading());
  const [registered, live] = await Promise.all([
    ctx.can("read_models") ? api("/v1/specs/capabilities") : null, serving(ctx)]);
  const rows = registered
    ? registered.capabilities.map((c) => ({ name: c.name, ...c.spec }))
    : live === null ? [] : [...live.loaded.values()].map((c) => ({ name: c.name, description: c.description, model: c.model.name, alias: c.model.alias }));
  const servingCell = (row) => {
    if (!live) return "—";
    const c = live.loaded.get(row.name);
    if (!c) return h("span", { title: live.errors[row.name] || "" }, badge(t("capabilities.notloaded"), "bad"));
    return h("span", {}, c.traffic.filter((a) => a.arm).map((a) => badge(`${a.arm} v${a.version}`, "info")));
  };
  clear(root,
    h("div", { class: "row spread" }, h("h1", {}, t("capabilities.heading")),
      ctx.can("apply_specs") ? h("a", { class: "button primary", href: "#/capabilities/new", id: "compose" }, t("capabilities.compose")) : null),
    rows.length ? h("table", { class: "data", id: "capability-list" },
      h("thead", {}, h("tr", {}, [t("capabilities.name"), t("capabilities.model"), t("capabilities.alias"),
        t("capabilities.bands"), t("capabilities.serving"), t("capabilities.description")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows.map((row) => {
        const open = () => ctx.navigate(`#/capabilities/${encodeURIComponent(row.name)}`);
        const tr = h("tr", { class: "link", tabindex: "0", dataset: { key: row.name }, onclick: open },
          h("td", {}, h("a", { href: `#/capabilities/${encodeURIComponent(row.name)}` }, row.name)),
          h("td", {}, show(row.model)), h("td", {}, show(row.alias)),
          h("td", {}, bandsText(row)), h("td", {}, servingCell(row)), h("td", { class: "wrap" }, show(row.description)));
        tr.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
        return tr;
      })))
      : h("p", { class: "muted" }, t("capabilities.none")));
}

function bandsText(spec) {
  const bands = (spec.decisions || []).slice().sort((a, b) => b.min_score - a.min_score);
  if (!bands.length) return "—";
  return bands.map((b) => `≥ ${fmt.number(b.min_score)} → ${b.decision}`).join(" · ");
}

// -- one capability ------------------------------------------------------------------------------------------

async function detail(root, ctx, name) {
  clear(root, loading());
  const head = h("div", { class: "row spread" },
    h("h1", {}, h("a", { href: "#/capabilities", class: "muted" }, t("capabilities.back")), " / ", name),
    h("div", { class: "row" },
      ctx.can("apply_specs") ? h("a", { class: "button", id: "edit", href: `#/capabilities/${encodeURIComponent(name)}/edit` }, t("capabilities.edit")) : null));
  const sections = [];
  if (ctx.can("read_models")) sections.push(trafficPanel(ctx, name));
  if (ctx.can("call")) sections.push(tryPanel(name));
  if (ctx.can("read_models")) sections.push(specPanel(name));
  clear(root, head, ...(await Promise.all(sections)));
}

async function trafficPanel(ctx, name) {
  const panel = h("section", { class: "panel", id: "traffic" });
  const draw = (state) => {
    const policy = state.policy;
    const total = policy.arms.reduce((sum, a) => sum + a.weight, 0) || 1;
    clear(panel,
      h("h2", {}, t("capabilities.traffic"), " ", badge(t(`capabilities.origin.${state.origin}`), state.origin === "live" ? "warn" : "info")),
      h("table", { class: "data", id: "arms" },
        h("thead", {}, h("tr", {}, [t("capabilities.arm"), t("capabilities.serves"), t("capabilities.weight"), t("capabilities.share")]
          .map((c, i) => h("th", { scope: "col", class: i > 1 ? "num" : null }, c)))),
        h("tbody", {}, policy.arms.map((a) => h("tr", { dataset: { arm: a.name } },
          h("td", {}, a.name), h("td", {}, serves(a)), h("td", { class: "num" }, fmt.number(a.weight)),
          h("td", { class: "num" }, fmt.percent(a.weight / total)))))),
      policy.shadows.length ? [h("h3", {}, t("capabilities.shadows")), h("ul", {}, policy.shadows.map((s) =>
        h("li", {}, `${s.name}: ${serves(s)} · ${t("capabilities.sample")} ${fmt.percent(s.sample)}`)))] : null,
      h("h3", {}, t("capabilities.canary")),
      h("p", { class: "muted" }, policy.canary ? t("capabilities.canary.of", { arm: policy.canary.arm,
        steps: policy.canary.steps.map((s) => fmt.number(s)).join(" → "), every: policy.canary.step_every, complete: policy.canary.complete })
        : t("capabilities.canary.none")),
      policy.canary && state.canary_state ? canaryState(policy.canary, state.canary_state) : null,
      ctx.can("change_traffic") ? splitForm(name, state, draw) : null,
      h("h3", {}, t("capabilities.history")),
      state.history.length ? h("table", { class: "data", id: "traffic-history" },
        h("thead", {}, h("tr", {}, [t("capabilities.when"), t("capabilities.who"), t("capabilities.what"), t("capabilities.reason")].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, state.history.map((c) => h("tr", {},
          h("td", { title: c.at }, fmt.datetime(c.at)), h("td", {}, c.actor),
          h("td", {}, c.action === "reset" ? c.action : armsText(c.to)), h("td", {}, show(c.reason))))))
        : h("p", { class: "muted" }, t("capabilities.history.none")));
  };
  try {
    draw(await api(`/v1/capabilities/${encodeURIComponent(name)}/traffic`));
  } catch (err) {
    clear(panel, h("h2", {}, t("capabilities.traffic")), errorBox(err));
  }
  return panel;
}

const CANARY_TONE = { ramping: "info", awaiting_approval: "warn", rolled_back: "bad", promoted: "ok" };

function canaryState(canary, at) {
  const step = Math.min(at.step, canary.steps.length - 1);
  return h("p", { id: "canary-state" }, badge(t(`capabilities.canary.${at.status}`), CANARY_TONE[at.status] || "neutral"), " ",
    t("capabilities.canary.step", { step: fmt.number(step + 1), steps: fmt.number(canary.steps.length),
      percent: fmt.number(canary.steps[step]), since: fmt.datetime(at.since) }),
    at.reason ? h("span", { class: "muted" }, ` · ${at.reason}`) : null);
}

function serves(arm) { return arm.version ? `v${arm.version}` : arm.alias || arm.name; }

function armsText(policy) {
  if (!policy || !policy.arms) return "—";
  return policy.arms.map((a) => `${a.name}=${fmt.number(a.weight)}`).join(", ");
}

function splitForm(name, state, redraw) {
  const body = h("tbody");
  const addRow = (arm) => {
    const tr = h("tr", { class: "arm-row" },
      h("td", {}, h("input", { name: "arm", value: arm.name || "", required: true, pattern: NAME_PATTERN, "aria-label": t("capabilities.arm"), size: 12 })),
      h("td", {}, h("input", { name: "serves", value: arm.name ? serves(arm) : "", "aria-label": t("capabilities.serves"),
        placeholder: t("capabilities.split.serves.hint"), size: 16 })),
      h("td", {}, h("input", { name: "weight", type: "number", min: "0", max: "100", step: "any", value: String(arm.weight ?? 0), required: true,
        "aria-label": t("capabilities.weight"), class: "narrow" })),
      h("td", {}, h("button", { type: "button", onclick: () => tr.remove() }, t("capabilities.split.remove"))));
    body.append(tr);
  };
  state.policy.arms.forEach(addRow);
  const reason = h("input", { name: "reason", "aria-label": t("capabilities.reason"), placeholder: t("capabilities.reason"), maxlength: 2000, size: 40 });
  const out = h("div");
  const form = h("form", { class: "split", id: "split", onsubmit: async (e) => {
    e.preventDefault();
    const arms = [...body.querySelectorAll("tr.arm-row")].map((tr) => armOf(tr));
    try {
      const next = await api(`/v1/capabilities/${encodeURIComponent(name)}/traffic`, { method: "PUT",
        body: { arms, shadows: state.policy.shadows, reason: reason.value.trim() } });
      toast(t("capabilities.split.done"));
      redraw(next);
    } catch (err) { clear(out, errorBox(err)); }
  } },
  h("h3", {}, t("capabilities.split")),
  h("table", { class: "data compact" },
    h("thead", {}, h("tr", {}, [t("capabilities.arm"), t("capabilities.serves"), t("capabilities.weight"), ""].map((c) => h("th", { scope: "col" }, c)))),
    body),
  h("div", { class: "row" },
    h("button", { type: "button", onclick: () => addRow({ weight: 0 }) }, t("capabilities.split.add")), reason,
    h("button", { type: "submit", class: "primary" }, t("capabilities.split.apply")),
    state.origin === "live" ? h("button", { type: "button", id: "reset-split", onclick: async () => {
      if (!await confirmDialog(t("capabilities.split.reset.title"), t("capabilities.split.reset.body"), { danger: true })) return;
      try {
        const next = await api(`/v1/capabilities/${encodeURIComponent(name)}/traffic`, { method: "DELETE", body: { reason: reason.value.trim() } });
        toast(t("capabilities.split.reset.done"));
        redraw(next);
      } catch (err) { clear(out, errorBox(err)); }
    } }, t("capabilities.split.reset")) : null),
  out);
  return form;
}

function armOf(tr) {
  const value = (field) => tr.querySelector(`[name=${field}]`).value.trim();
  const arm = { name: value("arm"), weight: Number(value("weight")) };
  const target = value("serves");
  const pinned = /^v(\d+)$/.exec(target);
  if (pinned) arm.version = Number(pinned[1]);
  else if (target) arm.alias = target;
  return arm;
}

async function tryPanel(name) {
  const panel = h("section", { class: "panel", id: "try" }, h("h2", {}, t("capabilities.try")));
  let schema;
  try {
    const doc = await api("/openapi.json");
    const operation = doc.paths[`/v1/capabilities/${name}/decide`];
    schema = operation && operation.post.requestBody.content["application/json"].schema;
  } catch (err) {
    panel.append(errorBox(err));
    return panel;
  }
  if (!schema) { panel.append(h("p", { class: "muted" }, t("capabilities.try.unloaded"))); return panel; }
  const required = new Set(schema.required || []);
  const fields = Object.entries(schema.properties || {}).filter(([key]) => key !== "context");
  const inputs = fields.map(([key, prop]) => {
    const type = prop.type || (prop.anyOf && prop.anyOf[0].type) || "string";
    const input = h("input", { name: key, id: `try-${key}`, required: required.has(key),
      type: type === "integer" || type === "number" ? "number" : "text", step: type === "number" ? "any" : null,
      placeholder: prop.example !== undefined ? String(prop.example) : type === "array" ? "a, b" : "" });
    return { key, type, input, label: h("label", { for: `try-${key}` }, key, prop.description ? h("span", { class: "hint" }, ` ${prop.description}`) : null) };
  });
  const context = h("textarea", { name: "context", id: "try-context", rows: 2, placeholder: '{"channel": "console"}' });
  const out = h("div", { id: "try-answer" });
  const form = h("form", { class: "stack", onsubmit: async (e) => {
    e.preventDefault();
    const body = {};
    for (const f of inputs) {
      const raw = f.input.value.trim();
      if (!raw) continue;
      body[f.key] = f.type === "array" ? raw.split(",").map((s) => s.trim()) : f.type === "integer" || f.type === "number" ? Number(raw) : raw;
    }
    if (context.value.trim()) {
      let parsed;
      try { parsed = JSON.parse(context.value); } catch { parsed = null; }
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return clear(out, h("p", { class: "error", role: "alert" }, t("capabilities.try.badjson")));
      body.context = parsed;
    }
    clear(out, loading());
    try {
      const answer = await api(`/v1/capabilities/${encodeURIComponent(name)}/decide`, { method: "POST", body });
      clear(out, h("h3", {}, t("capabilities.try.answer")), kv([
        [t("capabilities.try.decision"), h("strong", { class: "decision" }, show(answer.decision))],
        [t("capabilities.try.score"), answer.score === undefined || answer.score === null ? "—" : fmt.number(answer.score, 4)],
        [t("capabilities.try.version"), answer.model ? `${answer.model.name} v${answer.model.version}` : "—"],
        [t("capabilities.try.arm"), show(answer.arm)],
        [t("capabilities.try.fallback"), show(Boolean(answer.fallback))],
        [t("capabilities.try.latency"), fmt.ms(answer.latency_ms)],
        [t("capabilities.try.id"), show(answer.decision_id)],
      ]), h("details", {}, h("summary", {}, t("capabilities.try.raw")), h("pre", {}, JSON.stringify(answer, null, 2))));
    } catch (err) { clear(out, errorBox(err)); }
  } },
  inputs.map((f) => h("div", { class: "field" }, f.label, f.input)),
  h("div", { class: "field" }, h("label", { for: "try-context" }, t("capabilities.try.context")), context),
  h("div", {}, h("button", { type: "submit", class: "primary" }, t("capabilities.try.send"))));
  panel.append(form, out);
  return panel;
}

async function specPanel(name) {
  const panel = h("section", { class: "panel", id: "spec" }, h("h2", {}, t("capabilities.spec")));
  try {
    const exported = await api(`/v1/specs/capabilities/${encodeURIComponent(name)}`);
    panel.append(h("div", { class: "row" }, downloadLink(exported.yaml, `${name}.yaml`)), h("pre", { id: "spec-yaml" }, exported.yaml));
  } catch (err) { panel.append(errorBox(err)); }
  return panel;
}

function downloadLink(text, filename) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/yaml" }));
  return h("a", { class: "button", href: url, download: filename, id: "export-yaml" }, t("capabilities.export"));
}

// -- the composer --------------------------------------------------------------------------------------------

async function composer(root, ctx, name) {
  clear(root, loading());
  const [models, existing] = await Promise.all([
    ctx.can("read_models") ? api("/v1/models") : { versions: [] },
    name ? api(`/v1/specs/capabilities/${encodeURIComponent(name)}`) : null]);
  const base = existing ? structuredClone(existing.spec) : {};
  const aliases = new Map();
  for (const v of models.versions) {
    if (!aliases.has(v.model)) aliases.set(v.model, new Set());
    for (const a of v.aliases || []) aliases.get(v.model).add(a);
  }
  const field = (label, input, hint) => h("div", { class: "field" }, h("label", { for: input.id }, label), input, hint ? h("div", { class: "hint" }, hint) : null);
  const nameInput = h("input", { id: "c-name", name: "name", value: base.name || "", required: true, disabled: Boolean(name), pattern: NAME_PATTERN, maxlength: 63 });
  const description = h("input", { id: "c-description", name: "description", value: base.description || "", size: 60 });
  const modelSelect = h("select", { id: "c-model", name: "model", required: true },
    h("option", { value: "" }, "—"), [...aliases.keys()].sort().map((m) => h("option", { value: m, selected: m === base.model }, m)));
  if (base.model && !aliases.has(base.model)) modelSelect.append(h("option", { value: base.model, selected: true }, base.model));
  const aliasList = h("datalist", { id: "c-aliases" });
  const alias = h("input", { id: "c-alias", name: "alias", value: base.alias || "champion", list: "c-aliases", required: true });
  const fillAliases = () => clear(aliasList, [...(aliases.get(modelSelect.value) || [])].sort().map((a) => h("option", { value: a })));
  modelSelect.addEventListener("change", fillAliases);
  fillAliases();
  const input = h("input", { id: "c-input", name: "input", value: base.input || "", required: true, placeholder: t("capabilities.input.hint") });
  const bands = h("tbody");
  const addBand = (band) => {
    const tr = h("tr", { class: "band-row" },
      h("td", {}, h("input", { name: "decision", value: band.decision || "", required: true, "aria-label": t("capabilities.band.decision") })),
      h("td", {}, h("input", { name: "min_score", type: "number", min: "0", max: "1", step: "any", value: String(band.min_score ?? 0),
        required: true, class: "narrow", "aria-label": t("capabilities.band.min") })),
      h("td", {}, h("button", { type: "button", onclick: () => tr.remove() }, t("capabilities.split.remove"))));
    bands.append(tr);
  };
  // In the registered order: a reordering alone would show in the plan as a change.
  (base.decisions || []).forEach(addBand);
  if (!base.decisions) addBand({ min_score: 0.5 });
  const fallback = h("input", { id: "c-fallback", name: "fallback", value: (base.fallback && base.fallback.decision) || "", required: true });
  const fallbackScore = h("input", { id: "c-fallback-score", name: "fallback_score", type: "number", min: "0", max: "1", step: "any", class: "narrow",
    value: base.fallback && base.fallback.score !== undefined && base.fallback.score !== null ? String(base.fallback.score) : "" });
  const explain = h("input", { id: "c-explain", name: "explain_top", type: "number", min: "0", max: "50", step: "1", class: "narrow", value: String(base.explain_top ?? 5) });
  const arms = h("tbody");
  const addArm = (arm) => {
    const tr = h("tr", { class: "arm-row" },
      h("td", {}, h("input", { name: "arm", value: arm.name || "", required: true, pattern: NAME_PATTERN, "aria-label": t("capabilities.arm"), size: 12 })),
      h("td", {}, h("input", { name: "serves", value: arm.name ? serves(arm) : "", placeholder: t("capabilities.split.serves.hint"), "aria-label": t("capabilities.serves") })),
      h("td", {}, h("input", { name: "weight", type: "number", min: "0", max: "100", step: "any", value: String(arm.weight ?? 0), class: "narrow", "aria-label": t("capabilities.weight") })),
      h("td", {}, h("button", { type: "button", onclick: () => tr.remove() }, t("capabilities.split.remove"))));
    arms.append(tr);
  };
  ((base.traffic && base.traffic.arms) || []).forEach(addArm);
  const result = h("div", { id: "composed" });
  let planned = null; // the document the plan on screen is of: Apply sends exactly that

  const form = h("form", { class: "composer stack", id: "composer", onsubmit: async (e) => {
    e.preventDefault();
    const spec = composed();
    if (typeof spec === "string") return clear(result, h("p", { class: "error", role: "alert" }, spec));
    const document = JSON.stringify({ capabilities: [spec] }, null, 2);
    clear(result, loading());
    try {
      const [plan, impact] = await Promise.all([
        api("/v1/specs/plan", { method: "POST", body: { document, source: `${spec.name}.yaml` } }),
        api("/v1/specs/impact", { method: "POST", body: { document, source: `${spec.name}.yaml` } }).catch((err) => err)]);
      planned = document;
      showPlan(plan, impact, spec, document);
    } catch (err) { planned = null; clear(result, errorBox(err)); }
  } },
  h("p", { class: "muted" }, t("capabilities.composer.intro")),
  h("div", { class: "grid2" },
    field(t("capabilities.name"), nameInput), field(t("capabilities.description"), description),
    field(t("capabilities.model"), modelSelect), h("div", { class: "field" }, h("label", { for: "c-alias" }, t("capabilities.alias")), alias, aliasList),
    field(t("capabilities.input"), input), field(t("capabilities.explain"), explain)),
  h("h3", {}, t("capabilities.bands")), h("p", { class: "hint" }, t("capabilities.bands.hint")),
  base.value_bands && base.value_bands.length ? h("p", { class: "hint" }, t("capabilities.valuebands")) : null,
  h("table", { class: "data compact", id: "bands" },
    h("thead", {}, h("tr", {}, [t("capabilities.band.decision"), t("capabilities.band.min"), ""].map((c) => h("th", { scope: "col" }, c)))), bands),
  h("div", {}, h("button", { type: "button", id: "add-band", onclick: () => addBand({ min_score: 0 }) }, t("capabilities.band.add"))),
  h("div", { class: "grid2" }, field(t("capabilities.fallback"), fallback), field(t("capabilities.fallback.score"), fallbackScore)),
  h("h3", {}, t("capabilities.arms")), h("p", { class: "hint" }, t("capabilities.arms.hint"),
    base.traffic && (base.traffic.shadows?.length || base.traffic.canary) ? ` ${t("capabilities.arms.kept")}` : ""),
  h("table", { class: "data compact", id: "composer-arms" },
    h("thead", {}, h("tr", {}, [t("capabilities.arm"), t("capabilities.serves"), t("capabilities.weight"), ""].map((c) => h("th", { scope: "col" }, c)))), arms),
  h("div", {}, h("button", { type: "button", id: "add-arm", onclick: () => addArm({ weight: 0 }) }, t("capabilities.split.add"))),
  h("div", { class: "row" }, h("button", { type: "submit", class: "primary", id: "plan" }, t("capabilities.plan"))));
  form.addEventListener("input", () => { if (planned) { planned = null; clear(result, h("p", { class: "muted" }, t("capabilities.stale"))); } });

  // The spec the form says: the fields it edits over the registered spec, every other field kept as is.
  function composed() {
    const spec = { ...base };
    spec.name = name || nameInput.value.trim();
    if (!NAME.test(spec.name)) return t("capabilities.badname");
    for (const [label, el] of [[t("capabilities.model"), modelSelect], [t("capabilities.alias"), alias], [t("capabilities.input"), input], [t("capabilities.fallback"), fallback]]) {
      if (!el.value.trim()) return t("capabilities.required", { field: label });
    }
    spec.model = modelSelect.value;
    spec.alias = alias.value.trim();
    spec.input = input.value.trim();
    spec.description = description.value.trim();
    spec.explain_top = Number(explain.value || 0);
    spec.decisions = [...bands.querySelectorAll("tr.band-row")].map((tr) => ({
      decision: tr.querySelector("[name=decision]").value.trim(), min_score: Number(tr.querySelector("[name=min_score]").value) }));
    spec.fallback = { decision: fallback.value.trim() };
    if (fallbackScore.value.trim()) spec.fallback.score = Number(fallbackScore.value);
    const armList = [...arms.querySelectorAll("tr.arm-row")].map(armOf);
    if (armList.length) spec.traffic = { ...(base.traffic || {}), arms: armList };
    else delete spec.traffic;
    return spec;
  }

  function showPlan(plan, impact, spec, document) {
    const steps = plan.steps;
    clear(result,
      h("section", { class: "panel", id: "plan-result" },
        h("h2", {}, t("capabilities.plan.heading")),
        planSteps(steps),
        steps.length ? h("button", { type: "button", class: "primary", id: "apply", onclick: () => apply(spec, steps, document) }, t("capabilities.apply")) : null),
      impactPanel(impact, spec),
      h("section", { class: "panel" }, h("h2", {}, t("capabilities.document")), h("p", { class: "hint" }, t("capabilities.document.hint")),
        h("pre", { id: "document" }, document)));
  }

  async function apply(spec, steps, document) {
    if (planned !== document) return clear(result, h("p", { class: "muted" }, t("capabilities.stale")));
    const count = steps.reduce((n, s) => n + Math.max(1, s.changes.length), 0);
    if (!await confirmDialog(t("capabilities.apply.title"), t("capabilities.apply.body", { count: fmt.number(count), name: spec.name }), { confirmLabel: t("capabilities.apply") })) return;
    try {
      await api("/v1/specs/apply", { method: "POST", body: { document, source: `${spec.name}.yaml` } });
      toast(t("capabilities.apply.done", { name: spec.name }));
      ctx.navigate(`#/capabilities/${encodeURIComponent(spec.name)}`);
    } catch (err) { result.prepend(errorBox(err)); }
  }

  clear(root,
    h("h1", {}, h("a", { href: "#/capabilities", class: "muted" }, t("capabilities.back")), " / ",
      name ? t("capabilities.composer.edit", { name }) : t("capabilities.composer.new")),
    form, result);
}

function impactPanel(impact, spec) {
  const panel = h("section", { class: "panel", id: "impact" }, h("h2", {}, t("capabilities.impact")));
  if (impact instanceof Error) { panel.append(errorBox(impact)); return panel; }
  for (const item of impact.impacts) {
    if (item.status === "new") { panel.append(h("p", { class: "muted" }, t("capabilities.impact.new"))); continue; }
    if (item.status !== "replayed") { panel.append(h("p", { class: "muted" }, t("capabilities.impact.unsupported", { message: item.message }))); continue; }
    const r = item.report;
    const flips = Object.entries(r.flips || {});
    panel.append(
      h("p", { class: "muted" }, t("capabilities.impact.since", { since: fmt.datetime(r.since), model: spec.model, alias: spec.alias })),
      kv([
        [t("capabilities.impact.decisions"), r.decisions], [t("capabilities.impact.replayed"), r.replayed],
        [t("capabilities.impact.fallbacks"), r.fallbacks],
        [t("capabilities.impact.agreement"), r.agreement === null ? "—" : fmt.percent(r.agreement)],
        [t("capabilities.impact.shift"), r.mean_shift === null ? "—" : fmt.number(Math.abs(r.mean_shift) < 5e-5 ? 0 : r.mean_shift, 4)],
        [t("capabilities.impact.psi"), r.psi === null ? "—" : fmt.number(r.psi, 3)],
      ]),
      h("h3", {}, t("capabilities.impact.flips")),
      flips.length ? h("table", { class: "data", id: "flips" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("capabilities.impact.flip")), h("th", { scope: "col", class: "num" }, t("capabilities.impact.count")))),
        h("tbody", {}, flips.map(([flip, count]) => h("tr", {}, h("td", {}, flip.replace(" -> ", " → ")), h("td", { class: "num" }, fmt.number(count))))))
        : h("p", { class: "muted" }, t("capabilities.impact.noflips")));
  }
  return panel;
}
