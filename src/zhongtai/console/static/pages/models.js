// Models: every model and its versions, experiment runs (paged on the server, with the metric and parameter
// columns the reader picks, remembered), runs or versions side by side with only their differences, a
// version's card and review steps (submit, approve, reject: four eyes is the API's, its 403 shown as is), and
// each alias's history with rollback. Everything is the gateway's /v1/models and /v1/runs.
//   #/models                     models and runs
//   #/models/<name>              versions, aliases, alias history
//   #/models/<name>/<version>    one version: review steps, card

import { api } from "../lib/api.js";
import { fmt, t } from "../lib/i18n.js";
import { badge, clear, confirmDialog, dataTable, errorBox, h, kv, loading, show, toast } from "../lib/ui.js";

const COLUMNS_KEY = "zt.models.runColumns";
const DEFAULT_COLUMNS = ["metric:validation.auc", "param:learning_rate"];
const STATUS_TONE = { approved: "ok", pending_review: "warn", rejected: "bad", archived: "neutral", registered: "info",
  finished: "ok", running: "info", failed: "bad", died: "bad" };

export const page = {
  id: "models",
  order: 40,
  icon: "◆",
  title: { en: "Models", zh: "模型" },
  needs: ["read_models"],
  strings: {
    en: {
      "models.heading": "Models", "models.models": "Registered models", "models.model": "Model",
      "models.versions": "Versions", "models.latest": "Latest", "models.aliases": "Aliases", "models.status": "Status",
      "models.runs": "Experiment runs", "models.run": "Run", "models.principal": "By", "models.started": "Started",
      "models.duration": "Duration", "models.version": "Version", "models.allmodels": "All models",
      "models.columns": "Columns", "models.columns.hint": "Metric and parameter columns of the runs table (remembered in this browser).",
      "models.compare": "Compare selected ({count})", "models.compare.heading": "Side by side",
      "models.onlydiffs": "Only differences", "models.field": "Field", "models.nodiffs": "They do not differ in any field.",
      "models.select": "Select for comparison", "models.back": "All models", "models.created": "Created",
      "models.trainingset": "Training set", "models.code": "Code version", "models.features": "Features",
      "models.format": "Artifact format", "models.metrics": "Metrics", "models.params": "Parameters",
      "models.reviews": "Review steps", "models.noreviews": "No review step yet.", "models.comment": "Comment",
      "models.comment.hint": "Kept with the review record.", "models.act.submit": "Submit for review",
      "models.act.approve": "Approve", "models.act.reject": "Reject", "models.act.archive": "Archive",
      "models.done.submit": "Submitted {model} v{version}.", "models.done.approve": "Approved {model} v{version}.",
      "models.done.reject": "Rejected {model} v{version}.", "models.done.archive": "Archived {model} v{version}.",
      "models.confirm.archive": "Archive {model} v{version}? An archived version never serves again.",
      "models.confirm.reject": "Reject {model} v{version}? A rejected version never serves.",
      "models.noactions": "No review step is open to you for a version that is {status}.",
      "models.card": "Model card", "models.nocard": "No card: this version was registered without a training run.",
      "models.purpose": "Purpose", "models.owner": "Owner", "models.task": "Task", "models.algorithm": "Algorithm",
      "models.notfor": "Not to be used for", "models.rows": "Training rows", "models.topfeatures": "Top features",
      "models.value": "Value", "models.interval": "95% interval", "models.of": "Of",
      "models.aliases.now": "Aliases now", "models.noaliases": "No alias points at a version of this model.",
      "models.rollback": "Roll back", "models.rollback.confirm": "Move {alias} back to the version its last move took it from?",
      "models.rollback.done": "{alias} now points at v{version}.", "models.reason": "Reason",
      "models.history": "Alias history", "models.nohistory": "No alias has moved yet.", "models.from": "From",
      "models.to": "To", "models.when": "When", "models.why": "Why", "models.action": "Step",
      "models.setalias": "Point an alias", "models.alias": "Alias", "models.set": "Point it",
      "models.set.confirm": "Point {alias} at v{version}? Callers of {model}@{alias} get that version from then on.",
      "models.set.done": "{alias} now points at v{version}.", "models.rundetail": "Run {id}",
      "models.error": "Error", "models.memory": "Peak memory", "models.datasets": "Datasets", "models.candidates": "Candidates",
      "models.unset": "unset", "models.open": "Open",
      "models.section.run": "Run", "models.section.param": "Parameter", "models.section.metric": "Metric",
      "models.section.data": "Data", "models.section.code": "Code",
      "models.status.registered": "registered", "models.status.pending_review": "pending review",
      "models.status.approved": "approved", "models.status.rejected": "rejected", "models.status.archived": "archived",
      "models.status.finished": "finished", "models.status.running": "running", "models.status.failed": "failed",
      "models.status.died": "died", "models.move.set": "set", "models.move.remove": "removed",
      "models.move.rollback": "rolled back", "models.step.submit": "submitted", "models.step.approve": "approved",
      "models.step.reject": "rejected", "models.step.archive": "archived",
    },
    zh: {
      "models.heading": "模型", "models.models": "已注册的模型", "models.model": "模型",
      "models.versions": "版本数", "models.latest": "最新版本", "models.aliases": "别名", "models.status": "状态",
      "models.runs": "实验运行", "models.run": "运行", "models.principal": "发起人", "models.started": "开始时间",
      "models.duration": "耗时", "models.version": "版本", "models.allmodels": "全部模型",
      "models.columns": "列设置", "models.columns.hint": "运行表中显示哪些指标列和参数列（保存在本浏览器中）。",
      "models.compare": "对比所选（{count}）", "models.compare.heading": "并排对比",
      "models.onlydiffs": "只看差异", "models.field": "字段", "models.nodiffs": "所选各项在所有字段上都相同。",
      "models.select": "选中以对比", "models.back": "全部模型", "models.created": "创建时间",
      "models.trainingset": "训练集", "models.code": "代码版本", "models.features": "特征",
      "models.format": "制品格式", "models.metrics": "指标", "models.params": "参数",
      "models.reviews": "审核记录", "models.noreviews": "尚无审核记录。", "models.comment": "意见",
      "models.comment.hint": "将随审核记录一并保存。", "models.act.submit": "提交审核",
      "models.act.approve": "批准", "models.act.reject": "驳回", "models.act.archive": "归档",
      "models.done.submit": "已提交 {model} v{version}。", "models.done.approve": "已批准 {model} v{version}。",
      "models.done.reject": "已驳回 {model} v{version}。", "models.done.archive": "已归档 {model} v{version}。",
      "models.confirm.archive": "确定归档 {model} v{version}？归档后的版本不会再上线服务。",
      "models.confirm.reject": "确定驳回 {model} v{version}？被驳回的版本不会上线服务。",
      "models.noactions": "该版本当前为“{status}”，没有你可以执行的审核操作。",
      "models.card": "模型卡", "models.nocard": "没有模型卡：此版本注册时没有对应的训练运行。",
      "models.purpose": "用途", "models.owner": "负责人", "models.task": "任务类型", "models.algorithm": "算法",
      "models.notfor": "不适用于", "models.rows": "训练行数", "models.topfeatures": "最重要的特征",
      "models.value": "数值", "models.interval": "95% 置信区间", "models.of": "对象",
      "models.aliases.now": "当前别名", "models.noaliases": "此模型还没有任何别名指向某个版本。",
      "models.rollback": "回滚", "models.rollback.confirm": "确定将 {alias} 退回到上一次变更之前的版本？",
      "models.rollback.done": "{alias} 现在指向 v{version}。", "models.reason": "原因",
      "models.history": "别名变更历史", "models.nohistory": "别名尚未变更过。", "models.from": "原版本",
      "models.to": "新版本", "models.when": "时间", "models.why": "原因", "models.action": "操作",
      "models.setalias": "设置别名", "models.alias": "别名", "models.set": "设置",
      "models.set.confirm": "确定将 {alias} 指向 v{version}？此后调用 {model}@{alias} 将使用该版本。",
      "models.set.done": "{alias} 现在指向 v{version}。", "models.rundetail": "运行 {id}",
      "models.error": "错误", "models.memory": "内存峰值", "models.datasets": "数据集", "models.candidates": "候选模型",
      "models.unset": "未设置", "models.open": "打开",
      "models.section.run": "运行", "models.section.param": "参数", "models.section.metric": "指标",
      "models.section.data": "数据", "models.section.code": "代码",
      "models.status.registered": "已注册", "models.status.pending_review": "待审核",
      "models.status.approved": "已批准", "models.status.rejected": "已驳回", "models.status.archived": "已归档",
      "models.status.finished": "已完成", "models.status.running": "运行中", "models.status.failed": "失败",
      "models.status.died": "已中断", "models.move.set": "设置", "models.move.remove": "移除",
      "models.move.rollback": "回滚", "models.step.submit": "提交审核", "models.step.approve": "批准",
      "models.step.reject": "驳回", "models.step.archive": "归档",
    },
  },
  async render(root, ctx) {
    const [name, version] = ctx.args;
    if (name && version) return versionView(root, ctx, name, Number(version));
    if (name) return modelView(root, ctx, name);
    return overview(root, ctx);
  },
};

function statusBadge(status) { return badge(t(`models.status.${status}`), STATUS_TONE[status] || "neutral"); }
function v(n) { return `v${fmt.number(n, 0)}`; }

// A value as the comparison and the detail tables show it: numbers and times per locale, null as a dash.
function cell(value, label) {
  if (value === null || value === undefined) return "—";
  if (label === "started_at") return fmt.datetime(value);
  if (label === "duration_s") return `${fmt.number(value, 1)} s`;
  return show(value);
}

// -- the overview: models and runs ------------------------------------------------------------------------

async function overview(root, ctx) {
  clear(root, h("h1", {}, t("models.heading")), loading());
  const { versions } = await api("/v1/models");
  const models = new Map();
  for (const found of versions) {
    if (!models.has(found.model)) models.set(found.model, []);
    models.get(found.model).push(found);
  }
  const modelsTable = h("table", { class: "data", id: "model-list" },
    h("thead", {}, h("tr", {}, [t("models.model"), t("models.versions"), t("models.latest"), t("models.status"),
      t("models.aliases")].map((label) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, [...models.entries()].map(([model, found]) => {
      const latest = found[found.length - 1];
      const aliases = found.flatMap((x) => x.aliases.map((a) => `${a} → ${v(x.version)}`));
      const tr = h("tr", { class: "link", tabindex: "0", dataset: { model } },
        h("td", {}, h("a", { href: `#/models/${encodeURIComponent(model)}` }, model)),
        h("td", { class: "num" }, fmt.number(found.length)),
        h("td", {}, v(latest.version)), h("td", {}, statusBadge(latest.status)),
        h("td", {}, aliases.length ? fmt.list(aliases) : "—"));
      tr.addEventListener("click", (e) => { if (e.target.tagName !== "A") ctx.navigate(`#/models/${encodeURIComponent(model)}`); });
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") ctx.navigate(`#/models/${encodeURIComponent(model)}`); });
      return tr;
    })));
  const runs = h("div", { id: "runs" });
  clear(root, h("h1", {}, t("models.heading")),
    h("h2", {}, t("models.models")),
    models.size ? h("div", { class: "datatable" }, h("div", { class: "scroll" }, modelsTable)) : h("p", { class: "muted" }, t("ui.empty")),
    h("h2", {}, t("models.runs")), runs);
  runsTable(runs, [...models.keys()]);
}

function chosenColumns() {
  try {
    const saved = JSON.parse(localStorage.getItem(COLUMNS_KEY));
    return Array.isArray(saved) ? saved.filter((c) => typeof c === "string") : DEFAULT_COLUMNS;
  } catch { return DEFAULT_COLUMNS; }
}

function flatMetrics(metrics) {
  const out = {};
  for (const [k, value] of Object.entries(metrics || {})) {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [inner, x] of Object.entries(value)) if (typeof x !== "object") out[`${k}.${inner}`] = x;
    } else out[k] = value;
  }
  return out;
}

function columnValue(run, key) {
  const [kind, name] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
  return kind === "param" ? (run.params || {})[name] : flatMetrics(run.metrics)[name];
}

// The runs table: a page at a time from the server; its extra columns are the reader's choice.
function runsTable(box, modelNames) {
  const selected = new Map();
  const seenKeys = new Set(chosenColumns());
  const compareBox = h("div", { id: "run-compare" });
  const detailBox = h("div", { id: "run-detail" });
  const compareButton = h("button", { type: "button", class: "primary", id: "compare-runs", disabled: true,
    onclick: () => compare(compareBox, "/v1/runs/compare", { run: [...selected.keys()] },
      [...selected.values()].map((r) => r.short_id)) }, t("models.compare", { count: 0 }));
  const settings = h("details", { class: "panel column-settings" });
  let table;

  function refreshButton() {
    compareButton.textContent = t("models.compare", { count: fmt.number(selected.size) });
    compareButton.disabled = selected.size < 2;
  }

  function drawSettings() {
    const chosen = new Set(chosenColumns());
    clear(settings, h("summary", {}, t("models.columns")), h("p", { class: "hint" }, t("models.columns.hint")),
      h("div", { class: "row" }, [...seenKeys].sort().map((key) => h("label", { class: "check" },
        h("input", { type: "checkbox", name: key, checked: chosen.has(key), onchange: (e) => {
          const next = new Set(chosenColumns());
          if (e.target.checked) next.add(key); else next.delete(key);
          localStorage.setItem(COLUMNS_KEY, JSON.stringify([...next]));
          draw();
        } }), key))));
  }

  function draw() {
    const extra = chosenColumns().map((key) => ({ label: key.replace(/^metric:|^param:/, ""), numeric: true,
      render: (run) => cell(columnValue(run, key)), key }));
    const columns = [
      { label: "", render: (run) => h("input", { type: "checkbox", "aria-label": t("models.select"),
        checked: selected.has(run.id), onclick: (e) => e.stopPropagation(),
        onchange: (e) => { if (e.target.checked) selected.set(run.id, run); else selected.delete(run.id); refreshButton(); } }) },
      { label: t("models.run"), render: (run) => h("code", {}, run.short_id) },
      { label: t("models.model"), key: "model" },
      { label: t("models.status"), render: (run) => statusBadge(run.status) },
      { label: t("models.principal"), key: "principal" },
      { label: t("models.started"), render: (run) => fmt.datetime(run.started_at) },
      { label: t("models.duration"), numeric: true, render: (run) => cell(run.duration_s, "duration_s") },
      { label: t("models.version"), render: (run) => (run.version ? v(run.version) : "—") },
      ...extra,
    ];
    const next = dataTable({
      columns, pageSize: 20, rowKey: (run) => run.id,
      filters: [{ key: "model", label: t("models.allmodels"), options: modelNames }],
      load: async ({ offset, limit, filters }) => {
        const body = await api("/v1/runs", { query: { offset, limit, model: filters.model } });
        let added = false;
        for (const run of body.runs) {
          for (const key of Object.keys(run.params || {})) if (!seenKeys.has(`param:${key}`)) { seenKeys.add(`param:${key}`); added = true; }
          for (const key of Object.keys(flatMetrics(run.metrics))) if (!seenKeys.has(`metric:${key}`)) { seenKeys.add(`metric:${key}`); added = true; }
        }
        if (added) drawSettings();
        return { rows: body.runs, total: body.total };
      },
      onRow: (run) => runDetail(detailBox, run.id),
    });
    if (table) table.replaceWith(next); else box.append(next);
    table = next;
    table.id = "run-table";
  }

  clear(box, settings, h("div", { class: "row toolbar" }, compareButton));
  drawSettings();
  draw();
  refreshButton();
  box.append(compareBox, detailBox);
}

async function runDetail(box, id) {
  clear(box, loading());
  try {
    const run = await api(`/v1/runs/${encodeURIComponent(id)}`);
    const metrics = flatMetrics(run.metrics);
    clear(box, h("div", { class: "panel" },
      h("h3", {}, t("models.rundetail", { id: run.short_id })),
      kv([
        [t("models.model"), run.model], [t("models.status"), statusBadge(run.status)],
        [t("models.principal"), run.principal], [t("models.started"), fmt.datetime(run.started_at)],
        [t("models.duration"), cell(run.duration_s, "duration_s")],
        [t("models.memory"), run.peak_memory_kb ? `${fmt.number(run.peak_memory_kb / 1024, 0)} MiB` : "—"],
        [t("models.version"), run.version ? h("a", { href: `#/models/${encodeURIComponent(run.model)}/${run.version}` }, v(run.version)) : "—"],
        [t("models.trainingset"), run.training_set_id], [t("models.code"), run.code_version],
        [t("models.candidates"), fmt.number((run.candidates || []).length)],
        run.error_code ? [t("models.error"), `${run.error_code}: ${run.error_message || ""}`] : null,
      ]),
      h("div", { class: "grid2" },
        h("div", {}, h("h3", {}, t("models.params")), kv(Object.entries(run.params || {}))),
        h("div", {}, h("h3", {}, t("models.metrics")), kv(Object.entries(metrics)))),
      h("h3", {}, t("models.datasets")), kv(Object.entries(run.datasets || {}))));
  } catch (err) { clear(box, errorBox(err)); }
}

// Side by side: the server marks which rows differ; the toggle shows them all.
async function compare(box, path, query, heads) {
  clear(box, loading());
  let body;
  try { body = await api(path, { query }); } catch (err) { return clear(box, errorBox(err)); }
  const only = h("input", { type: "checkbox", id: "only-diffs", checked: true, onchange: () => draw() });
  const tableBox = h("div", { class: "datatable" });
  function draw() {
    const rows = body.rows.filter((r) => !only.checked || r.differs);
    if (!rows.length) return clear(tableBox, h("p", { class: "muted" }, t("models.nodiffs")));
    const head = h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("models.field")),
      heads.map((x) => h("th", { scope: "col" }, x))));
    const lines = rows.map((r) => h("tr", { class: r.differs ? "differs" : null, dataset: { field: r.label } },
      h("th", { scope: "row" }, h("span", { class: "muted" }, `${t(`models.section.${r.section}`)} · `), r.label),
      r.values.map((x) => h("td", { class: typeof x === "number" ? "num" : null }, cell(x, r.label)))));
    clear(tableBox, h("div", { class: "scroll" },
      h("table", { class: "data compare", id: "compare-table" }, head, h("tbody", {}, lines))));
  }
  clear(box, h("div", { class: "panel" }, h("h3", {}, t("models.compare.heading")),
    h("label", { class: "check" }, only, t("models.onlydiffs")), tableBox));
  draw();
}

// -- one model: versions, aliases, history ------------------------------------------------------------------

async function modelView(root, ctx, name) {
  clear(root, loading());
  const path = `/v1/models/${encodeURIComponent(name)}`;
  const [{ versions }, { moves }] = await Promise.all([
    api("/v1/models", { query: { model: name } }), api(`${path}/history`)]);
  const selected = new Set();
  const compareBox = h("div", { id: "version-compare" });
  const compareButton = h("button", { type: "button", class: "primary", id: "compare-versions", disabled: true,
    onclick: () => compare(compareBox, `${path}/compare`, { version: [...selected].sort((a, b) => a - b) },
      [...selected].sort((a, b) => a - b).map(v)) }, t("models.compare", { count: 0 }));
  const refresh = () => { compareButton.textContent = t("models.compare", { count: fmt.number(selected.size) }); compareButton.disabled = selected.size < 2; };
  const aliases = {};
  for (const found of versions) for (const a of found.aliases) aliases[a] = found.version;

  const versionRows = [...versions].reverse().map((found) => h("tr", { dataset: { version: String(found.version) } },
    h("td", {}, h("input", { type: "checkbox", "aria-label": t("models.select"), onchange: (e) => {
      if (e.target.checked) selected.add(found.version); else selected.delete(found.version); refresh(); } })),
    h("td", {}, h("a", { href: `#/models/${encodeURIComponent(name)}/${found.version}` }, v(found.version))),
    h("td", {}, statusBadge(found.status)), h("td", {}, fmt.datetime(found.created_at)),
    h("td", {}, found.aliases.length ? found.aliases.map((a) => badge(a, "info")) : "—"),
    h("td", {}, show(found.training_set_id)), h("td", {}, h("code", {}, found.code_version))));

  clear(root,
    h("p", {}, h("a", { href: "#/models" }, `← ${t("models.back")}`)),
    h("h1", {}, name),
    h("h2", {}, t("models.versions")),
    h("div", { class: "datatable" }, h("div", { class: "scroll" }, h("table", { class: "data", id: "versions" },
      h("thead", {}, h("tr", {}, ["", t("models.version"), t("models.status"), t("models.created"), t("models.aliases"),
        t("models.trainingset"), t("models.code")].map((label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, versionRows)))),
    h("div", { class: "row toolbar" }, compareButton), compareBox,
    h("h2", {}, t("models.aliases.now")), aliasPanel(ctx, name, aliases, versions),
    h("h2", {}, t("models.history")), historyTable(moves));
}

function aliasPanel(ctx, name, aliases, versions) {
  const path = `/v1/models/${encodeURIComponent(name)}`;
  const mayPromote = ctx.can("promote");
  const current = Object.entries(aliases).sort();
  const list = current.length
    ? h("table", { class: "data", id: "aliases" }, h("tbody", {}, current.map(([alias, version]) => h("tr", { dataset: { alias } },
        h("td", {}, badge(alias, "info")), h("td", {}, v(version)),
        h("td", {}, mayPromote ? h("button", { type: "button", class: "rollback", onclick: async () => {
          const reason = h("input", { name: "reason", placeholder: t("models.reason"), "aria-label": t("models.reason") });
          const body = h("div", {}, h("p", {}, t("models.rollback.confirm", { alias })), reason);
          if (!(await confirmDialog(t("models.rollback"), body, { confirmLabel: t("models.rollback"), danger: true }))) return;
          try {
            const move = await api(`${path}/aliases/${encodeURIComponent(alias)}/rollback`, { method: "POST", body: { reason: reason.value.trim() } });
            toast(t("models.rollback.done", { alias, version: move.to_version }));
            ctx.navigate(`#/models/${encodeURIComponent(name)}?moved=${Date.now()}`);
          } catch (err) { toast(err.message, "bad"); }
        } }, t("models.rollback")) : null)))))
    : h("p", { class: "muted" }, t("models.noaliases"));
  if (!mayPromote) return h("div", { class: "panel" }, list);
  const alias = h("input", { name: "alias", required: true, list: "alias-names", pattern: "[a-z][a-z0-9_\\-]*", "aria-label": t("models.alias"), placeholder: t("models.alias") });
  const version = h("select", { name: "version", "aria-label": t("models.version") },
    [...versions].reverse().map((x) => h("option", { value: String(x.version) }, `${v(x.version)} · ${t(`models.status.${x.status}`)}`)));
  const reason = h("input", { name: "reason", placeholder: t("models.reason"), "aria-label": t("models.reason") });
  const problem = h("div");
  const form = h("form", { class: "filters", id: "set-alias", onsubmit: async (e) => {
    e.preventDefault();
    const vars = { alias: alias.value.trim(), version: version.value, model: name };
    if (!(await confirmDialog(t("models.setalias"), t("models.set.confirm", vars)))) return;
    try {
      await api(`${path}/aliases/${encodeURIComponent(vars.alias)}`, { method: "PUT", body: { version: Number(vars.version), reason: reason.value.trim() } });
      toast(t("models.set.done", vars));
      ctx.navigate(`#/models/${encodeURIComponent(name)}?moved=${Date.now()}`);
    } catch (err) { clear(problem, errorBox(err)); }
  } }, alias, h("datalist", { id: "alias-names" }, h("option", { value: "champion" }), h("option", { value: "challenger" })),
  version, reason, h("button", { type: "submit" }, t("models.set")));
  return h("div", { class: "panel" }, list, h("h3", {}, t("models.setalias")), form, problem);
}

function historyTable(moves) {
  if (!moves.length) return h("p", { class: "muted" }, t("models.nohistory"));
  return h("div", { class: "datatable" }, h("div", { class: "scroll" }, h("table", { class: "data", id: "alias-history" },
    h("thead", {}, h("tr", {}, [t("models.when"), t("models.alias"), t("models.action"), t("models.from"), t("models.to"),
      t("models.principal"), t("models.why")].map((label) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, [...moves].reverse().map((m) => h("tr", {},
      h("td", {}, fmt.datetime(m.at)), h("td", {}, badge(m.alias, "info")), h("td", {}, t(`models.move.${m.action}`)),
      h("td", {}, m.from_version ? v(m.from_version) : t("models.unset")),
      h("td", {}, m.to_version ? v(m.to_version) : t("models.unset")),
      h("td", {}, m.principal), h("td", {}, show(m.reason))))))));
}

// -- one version: review steps and card ---------------------------------------------------------------------

const STEPS = [
  { action: "submit", needs: "submit", from: ["registered"] },
  { action: "approve", needs: "approve", from: ["pending_review"] },
  { action: "reject", needs: "approve", from: ["pending_review"], confirm: true },
  { action: "archive", needs: "promote", from: ["registered", "pending_review", "approved", "rejected"], confirm: true },
];

async function versionView(root, ctx, name, number) {
  clear(root, loading());
  const path = `/v1/models/${encodeURIComponent(name)}/versions/${number}`;
  const found = await api(path);
  const cardBox = h("div", { id: "card" }, loading());
  const vars = { model: name, version: number };
  const comment = h("textarea", { name: "comment", id: "review-comment", maxlength: 2000, "aria-describedby": "comment-hint" });
  const problem = h("div", { id: "review-problem" });
  const open = STEPS.filter((s) => s.from.includes(found.status) && ctx.can(s.needs));
  const actions = open.length
    ? h("div", { class: "panel", id: "review-actions" },
        h("label", { for: "review-comment" }, t("models.comment")), comment,
        h("p", { class: "hint", id: "comment-hint" }, t("models.comment.hint")),
        h("div", { class: "row" }, open.map((s) => h("button", {
          type: "button", class: s.action === "approve" ? "primary" : s.confirm ? "danger" : null, dataset: { step: s.action },
          onclick: async () => {
            if (s.confirm && !(await confirmDialog(t(`models.act.${s.action}`), t(`models.confirm.${s.action}`, vars), { danger: true }))) return;
            clear(problem);
            try {
              await api(`${path}/${s.action}`, { method: "POST", body: { comment: comment.value.trim() } });
              toast(t(`models.done.${s.action}`, vars));
              ctx.navigate(`#/models/${encodeURIComponent(name)}/${number}?step=${Date.now()}`);
            } catch (err) { clear(problem, errorBox(err)); }
          } }, t(`models.act.${s.action}`)))), problem)
    : h("p", { class: "muted" }, t("models.noactions", { status: t(`models.status.${found.status}`) }));
  const reviews = found.reviews.length
    ? h("ol", { class: "timeline", id: "reviews" }, found.reviews.map((r) => h("li", {},
        h("strong", {}, r.principal), " · ", t(`models.step.${r.action}`), " · ", statusBadge(r.from_status), " → ", statusBadge(r.to_status),
        h("span", { class: "muted" }, ` · ${fmt.datetime(r.at)}`), r.comment ? h("div", {}, r.comment) : null)))
    : h("p", { class: "muted" }, t("models.noreviews"));
  clear(root,
    h("p", {}, h("a", { href: `#/models/${encodeURIComponent(name)}` }, `← ${name}`)),
    h("h1", {}, `${name} ${v(number)} `, statusBadge(found.status)),
    kv([
      [t("models.created"), fmt.datetime(found.created_at)],
      [t("models.aliases"), found.aliases.length ? h("span", {}, found.aliases.map((a) => badge(a, "info"))) : "—"],
      [t("models.format"), found.artifact_format], [t("models.trainingset"), found.training_set_id],
      [t("models.code"), found.code_version], [t("models.features"), fmt.list(found.features)],
      found.run ? [t("models.run"), h("code", {}, found.run.slice(0, 12))] : null,
    ]),
    h("div", { class: "grid2" },
      h("div", {}, h("h2", {}, t("models.params")), kv(Object.entries(found.params || {}))),
      h("div", {}, h("h2", {}, t("models.metrics")), kv(Object.entries(flatMetrics(found.metrics))))),
    h("h2", {}, t("models.reviews")), reviews, actions,
    h("h2", {}, t("models.card")), cardBox);
  if (!found.has_card) return clear(cardBox, h("p", { class: "muted" }, t("models.nocard")));
  try {
    const { card } = await api(`${path}/card`);
    clear(cardBox, cardView(card));
  } catch (err) { clear(cardBox, errorBox(err)); }
}

function cardView(card) {
  const data = card.training_data || {};
  const metrics = Object.entries(card.metrics || {}).flatMap(([of, values]) =>
    Object.entries(values || {}).map(([metric, x]) => ({ of, metric, ...x })));
  return h("div", { class: "panel" },
    kv([
      [t("models.purpose"), card.purpose || card.description], [t("models.owner"), card.owner],
      [t("models.task"), card.task || card.kind], [t("models.algorithm"), card.algorithm],
      [t("models.trainingset"), data.training_set], [t("models.rows"), data.rows],
      [t("models.notfor"), (card.not_for || []).length ? fmt.list(card.not_for) : "—"],
    ]),
    metrics.length ? h("table", { class: "data", id: "card-metrics" },
      h("thead", {}, h("tr", {}, [t("models.of"), t("models.metrics"), t("models.value"), t("models.interval")]
        .map((label) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, metrics.map((m) => h("tr", {}, h("td", {}, m.of), h("td", {}, m.metric),
        h("td", { class: "num" }, fmt.number(m.value, 4)),
        h("td", { class: "num" }, m.low === undefined ? "—" : `${fmt.number(m.low, 4)} – ${fmt.number(m.high, 4)}`))))) : null,
    (card.top_features || []).length ? [h("h3", {}, t("models.topfeatures")),
      h("ol", {}, card.top_features.map((f) => h("li", {}, h("code", {}, f.feature), ` ${fmt.number(f.mean_abs_contribution, 4)}`)))] : null);
}
