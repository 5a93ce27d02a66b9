// Person 360°: find a OneID person by person id or by a source record (<dataset>:<key>), then their golden
// record, the rows that make them in every source system, why each record was linked to them (OneID
// explain), the tags they carry with history, their online feature values and the decisions made about
// them. Every section is one /v1 call answered as the reader may see it: PII masked by role, and a section
// the reader's roles do not grant is not asked for at all.

import { api } from "../lib/api.js";
import { fmt, t } from "../lib/i18n.js";
import { badge, clear, errorBox, h, kv, loading, show } from "../lib/ui.js";

const enc = encodeURIComponent;

function rowsTable(rows, id) {
  const cols = rows.length ? Object.keys(rows[0]) : [];
  return h("div", { class: "scroll wide" }, h("table", { class: "data", id },
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, cols.map((c) => h("td", {}, show(r[c], c))))))));
}

async function section(box, work) {
  clear(box, loading());
  try { await work(); } catch (err) { clear(box, errorBox(err)); }
}

async function finder(root, ctx) {
  const { identities } = await api("/v1/oneid");
  if (!identities.length) return clear(root, h("h1", {}, t("person.heading")), h("p", { class: "muted" }, t("person.noidentity")));
  const select = h("select", { name: "identity", "aria-label": t("person.identity") },
    identities.map((i) => h("option", { value: i.name }, `${i.name} (${fmt.list(i.sources)})`)));
  const input = h("input", { name: "who", id: "person-query", required: true, placeholder: t("person.placeholder"), "aria-label": t("person.query") });
  const message = h("div");
  const form = h("form", { class: "filters", onsubmit: async (e) => {
    e.preventDefault();
    const who = input.value.trim(), identity = select.value;
    if (!who.includes(":")) return ctx.navigate(`#/person/${enc(identity)}/${enc(who)}`);
    try {
      const found = await api(`/v1/oneid/${enc(identity)}/records/${enc(who)}`);
      ctx.navigate(`#/person/${enc(identity)}/${enc(found.person_id)}`);
    } catch (err) {
      clear(message, errorBox(err));
    }
  } }, select, input, h("button", { type: "submit", class: "primary" }, t("person.find")));
  clear(root, h("h1", {}, t("person.heading")), h("p", { class: "muted" }, t("person.intro")), form, message);
  input.focus();
}

function golden(box, identity, pid) {
  return section(box, async () => {
    const p = await api(`/v1/oneid/${enc(identity)}/persons/${enc(pid)}`);
    const g = p.golden;
    const fields = Object.entries(g).filter(([k, v]) => !["person_id", "records", "sources", "last_seen"].includes(k) && v !== null);
    clear(box,
      kv([[t("person.records"), g.records], [t("person.sources"), g.sources], [t("person.lastseen"), fmt.datetime(g.last_seen)]]),
      h("dl", { class: "kv", id: "golden" }, fields.map(([k, v]) => [h("dt", {}, t(`person.f.${k}`)), h("dd", {}, show(v))])));
  });
}

function sources(box, explainBox, identity, pid) {
  return section(box, async () => {
    const found = await api(`/v1/oneid/${enc(identity)}/persons/${enc(pid)}/records`);
    const ids = found.sources.flatMap((s) => s.keys.map((k) => `${s.dataset}:${k}`));
    clear(box, found.sources.map((s) => h("div", { class: "source", dataset: { dataset: s.dataset } },
      h("h3", {}, h("a", { href: `#/data/${enc(s.dataset)}` }, s.dataset), " ",
        badge(t("person.trust", { n: s.trust }), "info"), " ", h("span", { class: "muted" }, t("person.count", { n: fmt.number(s.records) }))),
      s.withheld ? h("p", { class: "muted" }, t("person.withheld", { keys: fmt.list(s.keys) })) : rowsTable(s.rows, `rows-${s.dataset}`))));
    explainer(explainBox, identity, ids);
  });
}

// Why a record belongs to this person: each record compared with the first, on demand (explain scores the
// pair with the run's model, so it is asked for when wanted, not for every pair up front).
function explainer(box, identity, ids) {
  if (ids.length < 2) return clear(box, h("p", { class: "muted" }, t("person.single")));
  const [first, ...others] = ids;
  const result = h("div", { id: "explanation" });
  clear(box, h("p", {}, t("person.explainwith", { record: first })),
    h("div", { class: "row" }, others.map((b) => h("button", { type: "button", dataset: { record: b }, onclick: () => section(result, async () => {
      const x = await api(`/v1/oneid/${enc(identity)}/explain`, { query: { a: first, b } });
      const prob = x.probabilistic || {};
      clear(result,
        h("h3", {}, `${first} ↔ ${b} `, badge(x.same_person ? t("person.same") : t("person.apart"), x.same_person ? "ok" : "warn")),
        kv([[t("person.probability"), fmt.percent(prob.match_probability, 2)], [t("person.weight"), prob.match_weight]]),
        x.deterministic.length ? h("ul", { id: "shared-keys" }, x.deterministic.map((k) => h("li", {}, h("code", {}, k.rule), " ", show(k.value))))
          : h("p", { class: "muted" }, t("person.nokeys")),
        (prob.comparisons || []).length ? h("table", { class: "data" },
          h("thead", {}, h("tr", {}, [t("person.comparison"), t("person.level"), t("person.factor")].map((l) => h("th", {}, l)))),
          h("tbody", {}, prob.comparisons.map((c) => h("tr", {}, h("td", {}, c.comparison), h("td", {}, show(c.level)),
            h("td", { class: "num" }, fmt.number(c.bayes_factor, 2)))))) : null);
    }) }, t("person.why", { record: b })))), result);
}

function tags(box, identity, pid) {
  return section(box, async () => {
    const found = await api(`/v1/oneid/${enc(identity)}/persons/${enc(pid)}/tags`);
    if (!found.tags.length) return clear(box, h("p", { class: "muted" }, t("person.notags")));
    clear(box, h("table", { class: "data", id: "tags" },
      h("thead", {}, h("tr", {}, [t("person.tag"), t("person.now"), t("person.history")].map((l) => h("th", {}, l)))),
      h("tbody", {}, found.tags.map((tag) => h("tr", { dataset: { tag: tag.tag } },
        h("td", {}, h("code", {}, tag.tag), tag.description ? h("div", { class: "hint" }, tag.description) : null),
        h("td", {}, tag.carried ? badge(t("person.carried"), "ok") : badge(t("person.notcarried"))),
        h("td", {}, tag.events.length ? h("ul", { class: "plain" }, tag.events.map((e) =>
          h("li", {}, badge(t(`person.ev.${e.event}`), e.event === "gained" ? "info" : "neutral"), " ", fmt.datetime(e.at)))) : "—"))))));
  });
}

// Feature values: the online views that describe the identity's entity, each read on its own so a view
// the policy does not let the reader see costs that view only.
function features(box, entity, pid) {
  return section(box, async () => {
    const found = await api("/v1/catalog/search", { query: { kind: "feature_view", limit: 200 } });
    const views = found.results.filter((v) => v.entity === entity).map((v) => v.name);
    if (!views.length) return clear(box, h("p", { class: "muted" }, t("person.noviews")));
    const answers = await Promise.allSettled(views.map((v) => api("/v1/features/online", { method: "POST", body: { entities: [pid], views: [v] } })));
    const rows = [];
    answers.forEach((a, i) => {
      if (a.status === "rejected") { rows.push(h("tr", {}, h("td", {}, views[i]), h("td", { colspan: 2 }, errorBox(a.reason)))); return; }
      const values = a.value.results[0].values[views[i]];
      if (!values) { rows.push(h("tr", {}, h("td", {}, views[i]), h("td", { colspan: 2, class: "muted" }, t("person.novalue")))); return; }
      for (const [k, v] of Object.entries(values)) rows.push(h("tr", {}, h("td", {}, views[i]), h("td", {}, h("code", {}, k)), h("td", {}, show(v))));
    });
    clear(box, h("table", { class: "data", id: "features" },
      h("thead", {}, h("tr", {}, [t("person.view"), t("person.feature"), t("person.value")].map((l) => h("th", {}, l)))), h("tbody", {}, rows)));
  });
}

function decisions(box, identity, pid) {
  return section(box, async () => {
    const found = await api(`/v1/oneid/${enc(identity)}/persons/${enc(pid)}/decisions`, { query: { limit: 20 } });
    if (!found.decisions.length) return clear(box, h("p", { class: "muted" }, t("person.nodecisions")));
    clear(box, h("table", { class: "data", id: "decisions" },
      h("thead", {}, h("tr", {}, [t("person.at"), t("person.capability"), t("person.decision"), t("person.score"), t("person.fallback")]
        .map((l, i) => h("th", { class: i === 3 ? "num" : null }, l)))),
      h("tbody", {}, found.decisions.map((d) => h("tr", { dataset: { key: d.id } },
        h("td", {}, h("a", { href: `#/decisions/${enc(d.id)}` }, fmt.datetime(d.at))), h("td", {}, d.capability),
        h("td", {}, badge(d.decision, "info")), h("td", { class: "num" }, fmt.number(d.score, 3)),
        h("td", {}, d.fallback ? badge(t("ui.yes"), "warn") : t("ui.no")))))));
  });
}

async function person(root, ctx, identity, pid) {
  const { identities } = await api("/v1/oneid");
  const config = identities.find((i) => i.name === identity);
  if (!config) return clear(root, h("p", { class: "error", role: "alert" }, t("person.unknown", { name: identity })));
  const panel = (id, title) => { const body = h("div"); return [h("section", { class: "panel", id }, h("h2", {}, title), body), body]; };
  const [goldenPanel, goldenBox] = panel("golden-panel", t("person.golden"));
  const [sourcesPanel, sourcesBox] = panel("sources-panel", t("person.sourcerecords"));
  const [explainPanel, explainBox] = panel("explain-panel", t("person.explain"));
  const [tagsPanel, tagsBox] = panel("tags-panel", t("person.tags"));
  const [featuresPanel, featuresBox] = panel("features-panel", t("person.features"));
  const [decisionsPanel, decisionsBox] = panel("decisions-panel", t("person.decisions"));
  clear(root,
    h("p", {}, h("a", { href: "#/person" }, `← ${t("person.another")}`)),
    h("h1", {}, t("person.title", { id: pid }), " ", h("span", { class: "muted" }, identity)),
    h("div", { class: "grid2" }, goldenPanel, tagsPanel),
    sourcesPanel, explainPanel,
    h("div", { class: "grid2" }, featuresPanel, decisionsPanel));
  const work = [golden(goldenBox, identity, pid), sources(sourcesBox, explainBox, identity, pid), tags(tagsBox, identity, pid)];
  // Sections whose action the reader's roles never grant are not asked for: nothing to mask, nothing sent.
  if (ctx.can("read_features") && ctx.can("read_catalog")) work.push(features(featuresBox, config.entity, pid));
  else clear(featuresBox, h("p", { class: "muted" }, t("person.notgranted", { action: "read_features" })));
  if (ctx.can("read_audit")) work.push(decisions(decisionsBox, identity, pid));
  else clear(decisionsBox, h("p", { class: "muted" }, t("person.notgranted", { action: "read_audit" })));
  await Promise.all(work);
}

const FIELDS_EN = {
  name: "Name", name_pinyin: "Name (pinyin)", gender: "Gender", birth_date: "Birth date", phone: "Phone", email: "E-mail",
  id_card: "ID card", national_id: "National ID", member_id: "Member id", account_id: "Account id", city: "City",
  address_key: "Address", postcode: "Postcode",
};
const FIELDS_ZH = {
  name: "姓名", name_pinyin: "姓名拼音", gender: "性别", birth_date: "出生日期", phone: "手机号", email: "邮箱",
  id_card: "身份证号", national_id: "证件号", member_id: "会员号", account_id: "账户号", city: "城市",
  address_key: "地址", postcode: "邮编",
};
const prefixed = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [`person.f.${k}`, v]));

export const page = {
  id: "person",
  order: 30,
  icon: "☉",
  title: { en: "Person 360°", zh: "客户 360°" },
  needs: ["read_dataset"],
  strings: {
    en: {
      ...prefixed(FIELDS_EN),
      "person.heading": "Person 360°", "person.intro": "Find a person by OneID person id, or by a source record as <dataset>:<key>.",
      "person.identity": "Identity", "person.query": "Person id or source record", "person.placeholder": "P0000000001 or crm_customers:C0",
      "person.find": "Find", "person.noidentity": "No OneID identity you may read is registered.",
      "person.unknown": "No identity named {name} that you may read.", "person.another": "Find another person",
      "person.title": "Person {id}", "person.golden": "Golden record", "person.records": "Records", "person.sources": "Source systems",
      "person.lastseen": "Last seen", "person.sourcerecords": "Records in every source system", "person.trust": "trust {n}",
      "person.count": "records: {n}", "person.withheld": "Records {keys}: your roles do not grant reading this dataset.",
      "person.explain": "Why linked", "person.single": "One record only: nothing was linked.",
      "person.explainwith": "Compare with {record}:", "person.why": "Why {record}?", "person.same": "same person",
      "person.apart": "different persons", "person.probability": "Match probability", "person.weight": "Match weight",
      "person.nokeys": "No shared deterministic key.", "person.comparison": "Comparison", "person.level": "Level",
      "person.factor": "Bayes factor", "person.tags": "Tags", "person.notags": "No tag describes this entity.",
      "person.tag": "Tag", "person.now": "Now", "person.history": "History", "person.carried": "carried",
      "person.notcarried": "not carried", "person.ev.gained": "gained", "person.ev.lost": "lost",
      "person.features": "Feature values (online)", "person.noviews": "No online feature view describes this entity.",
      "person.view": "View", "person.feature": "Feature", "person.value": "Value", "person.novalue": "No value online.",
      "person.decisions": "Recent decisions", "person.nodecisions": "No decision about this person is logged.",
      "person.at": "When", "person.capability": "Capability", "person.decision": "Decision", "person.score": "Score",
      "person.fallback": "Fallback", "person.notgranted": "Your roles do not grant {action}: not shown.",
    },
    zh: {
      ...prefixed(FIELDS_ZH),
      "person.heading": "客户 360°", "person.intro": "按 OneID 人员编号查找，或按源系统记录（<数据集>:<主键>）查找。",
      "person.identity": "身份", "person.query": "人员编号或源记录", "person.placeholder": "P0000000001 或 crm_customers:C0",
      "person.find": "查找", "person.noidentity": "没有你可读取的 OneID 身份。",
      "person.unknown": "没有你可读取的名为 {name} 的身份。", "person.another": "查找其他人",
      "person.title": "人员 {id}", "person.golden": "黄金记录", "person.records": "记录数", "person.sources": "来源系统数",
      "person.lastseen": "最近出现", "person.sourcerecords": "各源系统中的记录", "person.trust": "可信度 {n}",
      "person.count": "{n} 条记录", "person.withheld": "记录 {keys}：你的角色无权读取此数据集。",
      "person.explain": "关联原因", "person.single": "只有一条记录，没有关联。",
      "person.explainwith": "与 {record} 比较：", "person.why": "为何关联 {record}？", "person.same": "同一人",
      "person.apart": "不同的人", "person.probability": "匹配概率", "person.weight": "匹配权重",
      "person.nokeys": "没有共同的确定性键。", "person.comparison": "比较项", "person.level": "匹配程度",
      "person.factor": "贝叶斯因子", "person.tags": "标签", "person.notags": "没有描述此实体的标签。",
      "person.tag": "标签", "person.now": "当前", "person.history": "历史", "person.carried": "已拥有",
      "person.notcarried": "未拥有", "person.ev.gained": "获得", "person.ev.lost": "失去",
      "person.features": "特征值（在线）", "person.noviews": "没有描述此实体的在线特征视图。",
      "person.view": "视图", "person.feature": "特征", "person.value": "值", "person.novalue": "在线存储中没有值。",
      "person.decisions": "最近的决策", "person.nodecisions": "日志中没有关于此人的决策。",
      "person.at": "时间", "person.capability": "能力", "person.decision": "决策", "person.score": "分数",
      "person.fallback": "兜底", "person.notgranted": "你的角色没有 {action} 权限：不显示。",
    },
  },
  async render(root, ctx) {
    if (ctx.args.length >= 2) return person(root, ctx, ctx.args[0], ctx.args[1]);
    return finder(root, ctx);
  },
};
