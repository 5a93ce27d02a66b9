// Lineage: the graph from source tables through datasets, OneID, tags, feature views and models to the
// capabilities that make decisions, drawn on a canvas (lib/graph.js). With an object in the URL only its
// chain is drawn, that object focused. Click (or Enter on) a node to open it: a dataset's Data page, any
// other object's own chain. The graph holds only what the reader may read (GET /v1/lineage).

import { api } from "../lib/api.js";
import { COLORS, drawGraph } from "../lib/graph.js";
import { fmt, t } from "../lib/i18n.js";
import { clear, dataTable, h, loading } from "../lib/ui.js";

const slug = (kind) => kind.replace(/ /g, "_");
const idOf = (n) => `${slug(n.kind)}:${n.name}`;

// Where a node leads: a dataset to its Data page, any other object to its own chain.
function target(n) {
  const [kind, ...rest] = n.id.split(":");
  return kind === "dataset" ? `#/data/${encodeURIComponent(rest.join(":"))}` : `#/lineage/${encodeURIComponent(n.id)}`;
}

// The same graph as a table, for screen readers and keyboards: built only when opened, a page at a time.
function listing(nodes, edges) {
  const ins = new Map(), outs = new Map();
  for (const e of edges) { outs.set(e.from, (outs.get(e.from) || 0) + 1); ins.set(e.to, (ins.get(e.to) || 0) + 1); }
  const details = h("details", { id: "graph-list" }, h("summary", {}, t("lineage.list")));
  details.addEventListener("toggle", () => {
    if (!details.open || details.querySelector(".datatable")) return;
    details.append(dataTable({
      columns: [
        { label: t("lineage.name"), render: (n) => h("a", { href: target(n) }, n.label) },
        { label: t("lineage.kind"), render: (n) => t(`lineage.kind.${n.kind}`) },
        { label: t("lineage.upstream"), numeric: true, render: (n) => fmt.number(ins.get(n.id) || 0) },
        { label: t("lineage.downstream"), numeric: true, render: (n) => fmt.number(outs.get(n.id) || 0) },
      ],
      rowKey: (n) => n.id,
      pageSize: 50,
      load: async ({ offset, limit }) => ({ rows: nodes.slice(offset, offset + limit), total: nodes.length }),
    }));
  });
  return details;
}

function legend(nodes) {
  const kinds = [...new Set(nodes.map((n) => n.kind))].filter((k) => COLORS[k]);
  return h("ul", { class: "legend", "aria-label": t("lineage.legend") }, kinds.map((k) => h("li", {},
    h("span", { class: "swatch", style: { background: COLORS[k] }, "aria-hidden": "true" }), t(`lineage.kind.${k}`))));
}

export const page = {
  id: "lineage",
  order: 25,
  icon: "⇶",
  title: { en: "Lineage", zh: "血缘" },
  needs: ["read_catalog"],
  strings: {
    en: {
      "lineage.heading": "Lineage", "lineage.of": "Lineage of {name}", "lineage.all": "Whole graph",
      "lineage.counts": "{nodes} objects, {edges} links", "lineage.help": "Drag to pan, wheel to zoom, click a node to open it. Keyboard: focus the graph, arrows move between nodes, Enter opens, + and − zoom.",
      "lineage.canvas": "Lineage graph", "lineage.focused": "Focused: {kind} {name}", "lineage.root": "Object",
      "lineage.show": "Show", "lineage.legend": "Kinds of object", "lineage.list": "The objects as a list",
      "lineage.name": "Object", "lineage.kind": "Kind", "lineage.upstream": "Inputs", "lineage.downstream": "Outputs", "lineage.empty": "No object you may read has lineage yet.",
      "lineage.kind.source": "source", "lineage.kind.dataset": "dataset", "lineage.kind.identity": "identity",
      "lineage.kind.tag": "tag", "lineage.kind.feature view": "feature view", "lineage.kind.on-demand view": "on-demand view",
      "lineage.kind.feature group": "feature group", "lineage.kind.model": "model", "lineage.kind.capability": "capability",
    },
    zh: {
      "lineage.heading": "数据血缘", "lineage.of": "{name} 的血缘", "lineage.all": "完整血缘图",
      "lineage.counts": "{nodes} 个对象，{edges} 条关系", "lineage.help": "拖动平移，滚轮缩放，点击节点打开。键盘：聚焦图后用方向键在节点间移动，回车打开，+ 和 − 缩放。",
      "lineage.canvas": "血缘图", "lineage.focused": "当前节点：{kind} {name}", "lineage.root": "对象",
      "lineage.show": "查看", "lineage.legend": "对象类型", "lineage.list": "以列表查看对象",
      "lineage.name": "对象", "lineage.kind": "类型", "lineage.upstream": "输入", "lineage.downstream": "输出", "lineage.empty": "你可读取的对象还没有血缘关系。",
      "lineage.kind.source": "数据源", "lineage.kind.dataset": "数据集", "lineage.kind.identity": "身份",
      "lineage.kind.tag": "标签", "lineage.kind.feature view": "特征视图", "lineage.kind.on-demand view": "实时特征视图",
      "lineage.kind.feature group": "特征组", "lineage.kind.model": "模型", "lineage.kind.capability": "能力",
    },
  },
  async render(root, ctx) {
    const rootName = ctx.args[0];
    clear(root, loading());
    const found = await api("/v1/lineage", { query: { root: rootName } });
    const input = h("input", { name: "root", value: rootName || "", placeholder: "dataset:crm_customers", "aria-label": t("lineage.root") });
    const form = h("form", { class: "filters", onsubmit: (e) => {
      e.preventDefault();
      ctx.navigate(input.value.trim() ? `#/lineage/${encodeURIComponent(input.value.trim())}` : "#/lineage");
    } }, input, h("button", { type: "submit" }, t("lineage.show")), rootName ? h("a", { href: "#/lineage" }, t("lineage.all")) : null);
    const live = h("p", { class: "muted", id: "graph-focus", "aria-live": "polite" });
    const canvas = h("canvas", { class: "graph", id: "lineage-graph", tabindex: "0", role: "img",
      "aria-label": t("lineage.canvas"), "aria-describedby": "graph-help" });
    clear(root,
      h("h1", {}, rootName ? t("lineage.of", { name: rootName }) : t("lineage.heading")),
      form,
      h("p", { class: "muted", id: "graph-help" }, t("lineage.help")),
      h("p", { id: "graph-counts" }, t("lineage.counts", { nodes: fmt.number(found.nodes.length), edges: fmt.number(found.edges.length) })),
      found.nodes.length ? [legend(found.nodes), canvas, live] : h("p", { class: "muted" }, t("lineage.empty")));
    if (!found.nodes.length) return;
    const nodes = found.nodes.map((n) => ({ id: idOf(n), label: n.name, kind: n.kind }));
    const edges = found.edges.map((e) => ({ from: idOf(e.from), to: idOf(e.to) }));
    const open = (n) => ctx.navigate(target(n));
    root.append(listing(nodes, edges));
    const graph = drawGraph(canvas, { nodes, edges }, {
      onOpen: open,
      focus: found.root ? idOf(found.root) : null,
      onFocus: (n) => { live.textContent = t("lineage.focused", { kind: t(`lineage.kind.${n.kind}`), name: n.label }); },
    });
    canvas.graph = graph; // for the tests: frame statistics and the layout, read back
  },
};
