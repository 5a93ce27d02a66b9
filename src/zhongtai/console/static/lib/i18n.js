// Chinese and English strings, the chosen locale (remembered in localStorage), and locale-aware formats.
// Each page module brings its own strings; t() looks a key up in the locale, then in English, and records a
// key missing from the locale so the tests can list every untranslated string.

export const LOCALES = ["zh", "en"];
const dicts = { zh: {}, en: {} };
const missing = new Set();
let locale = localStorage.getItem("zt.locale") || (navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en");
if (!LOCALES.includes(locale)) locale = "en";

export function addStrings(strings) {
  for (const l of LOCALES) Object.assign(dicts[l], (strings && strings[l]) || {});
}

export function t(key, vars) {
  let s = dicts[locale][key];
  if (s === undefined) {
    missing.add(`${locale}:${key}`);
    s = dicts.en[key] ?? key;
  }
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  return s;
}

export function getLocale() { return locale; }

export function setLocale(next) {
  locale = LOCALES.includes(next) ? next : "en";
  localStorage.setItem("zt.locale", locale);
  document.documentElement.lang = tag();
}

export function missingStrings() { return [...missing].sort(); }

function tag() { return locale === "zh" ? "zh-CN" : "en-GB"; }

function asDate(value) {
  if (value === null || value === undefined || value === "") return null;
  const d = value instanceof Date ? value : new Date(typeof value === "number" && value < 1e12 ? value * 1000 : value);
  return Number.isNaN(d.getTime()) ? null : d;
}

export const fmt = {
  number(n, digits) {
    if (n === null || n === undefined || Number.isNaN(Number(n))) return "—";
    const opts = digits === undefined ? { maximumFractionDigits: 3 } : { minimumFractionDigits: digits, maximumFractionDigits: digits };
    return new Intl.NumberFormat(tag(), opts).format(Number(n));
  },
  percent(x, digits = 1) {
    if (x === null || x === undefined) return "—";
    return new Intl.NumberFormat(tag(), { style: "percent", maximumFractionDigits: digits }).format(Number(x));
  },
  ms(x) { return x === null || x === undefined ? "—" : `${fmt.number(x, x < 10 ? 2 : 0)} ms`; },
  date(value) {
    const d = asDate(value);
    return d ? new Intl.DateTimeFormat(tag(), { dateStyle: "medium" }).format(d) : "—";
  },
  datetime(value) {
    const d = asDate(value);
    return d ? new Intl.DateTimeFormat(tag(), { dateStyle: "medium", timeStyle: "medium" }).format(d) : "—";
  },
  relative(value) {
    const d = asDate(value);
    if (!d) return "—";
    const seconds = Math.round((d.getTime() - Date.now()) / 1000);
    const rtf = new Intl.RelativeTimeFormat(tag(), { numeric: "auto" });
    for (const [unit, size] of [["day", 86400], ["hour", 3600], ["minute", 60]]) {
      if (Math.abs(seconds) >= size) return rtf.format(Math.round(seconds / size), unit);
    }
    return rtf.format(seconds, "second");
  },
  list(items) { return new Intl.ListFormat(tag(), { type: "conjunction" }).format(items.map(String)); },
};

addStrings({
  en: {
    "app.title": "Zhongtai console", "app.login": "Sign in", "app.logout": "Sign out",
    "app.credential": "API key or OIDC token", "app.credential.hint": "Kept for this tab only; every page calls the gateway's API with it.",
    "app.signedin": "Signed in as {name}", "app.loading": "Loading…", "app.notfound": "No such page.",
    "app.denied": "Your roles do not grant this page.", "app.error": "The gateway answered {status}: {message}",
    "app.unreachable": "The gateway could not be reached.", "app.locale": "中文", "app.retry": "Retry",
    "app.badcredential": "The gateway did not accept this credential: {message}",
    "app.tour": "What the console does", "app.nokey": "No key yet? On the platform's machine (the demo prints one):",
    "app.tour.overview": "Overview", "app.tour.overview.what": "calls, latency, fallbacks, drift and quality of every capability; what needs attention",
    "app.tour.data": "Data", "app.tour.data.what": "catalog, schemas with owners and PII classes, freshness, quality, lineage",
    "app.tour.person": "Person 360°", "app.tour.person.what": "a OneID person's golden record, source records, tags and decisions, masked by role",
    "app.tour.models": "Models", "app.tour.models.what": "runs compared, versions, model cards, four-eyes approval, rollback",
    "app.tour.capabilities": "Capabilities", "app.tour.capabilities.what": "compose from a form, preview the impact, apply as a spec; traffic splits; try it",
    "app.tour.decisions": "Decisions", "app.tour.decisions.what": "the live decision log with explanations and full traces",
    "app.tour.monitoring": "Monitoring", "app.tour.monitoring.what": "drift and live quality over time, the flywheel timeline, alerts",
    "app.tour.review": "Review queue", "app.tour.review.what": "accept or correct routed decisions from the keyboard",
    "app.tour.audit": "Audit and admin", "app.tour.audit.what": "the verified audit chain; keys, roles, grants and workspaces",
    "ui.prev": "Previous", "ui.next": "Next", "ui.rows": "{from}–{to} of {total}", "ui.rowsopen": "{from}–{to}",
    "ui.filter": "Filter", "ui.apply": "Apply", "ui.empty": "Nothing to show.", "ui.cancel": "Cancel",
    "ui.confirm": "Confirm", "ui.close": "Close", "ui.columns": "Columns", "ui.yes": "yes", "ui.no": "no",
  },
  zh: {
    "app.title": "中台控制台", "app.login": "登录", "app.logout": "退出",
    "app.credential": "API 密钥或 OIDC 令牌", "app.credential.hint": "仅在本标签页内保存；每个页面都用它调用网关的 API。",
    "app.signedin": "当前用户：{name}", "app.loading": "加载中…", "app.notfound": "没有这个页面。",
    "app.denied": "你的角色无权使用此页面。", "app.error": "网关返回 {status}：{message}",
    "app.unreachable": "无法连接网关。", "app.locale": "English", "app.retry": "重试",
    "app.badcredential": "网关未接受此凭据：{message}",
    "app.tour": "控制台能做什么", "app.nokey": "还没有密钥？在平台所在机器上执行（演示会打印一个）：",
    "app.tour.overview": "总览", "app.tour.overview.what": "每个能力的调用量、延迟、降级、漂移与效果；需要处理的事项",
    "app.tour.data": "数据", "app.tour.data.what": "数据目录、字段与负责人及 PII 分类、新鲜度、质量、血缘",
    "app.tour.person": "客户 360°", "app.tour.person.what": "OneID 客户的黄金记录、来源记录、标签与决策，按角色脱敏",
    "app.tour.models": "模型", "app.tour.models.what": "实验对比、版本、模型卡、双人审批、回滚",
    "app.tour.capabilities": "能力", "app.tour.capabilities.what": "表单编排、影响预览、以规格发布；流量分配；在线试用",
    "app.tour.decisions": "决策", "app.tour.decisions.what": "实时决策日志，含解释与完整链路",
    "app.tour.monitoring": "监控", "app.tour.monitoring.what": "漂移与线上效果趋势、数据飞轮时间线、告警",
    "app.tour.review": "复核队列", "app.tour.review.what": "用键盘采纳或更正转人工的决策",
    "app.tour.audit": "审计与管理", "app.tour.audit.what": "可验证的审计链；密钥、角色、授权与工作空间",
    "ui.prev": "上一页", "ui.next": "下一页", "ui.rows": "第 {from}–{to} 条，共 {total} 条", "ui.rowsopen": "第 {from}–{to} 条",
    "ui.filter": "筛选", "ui.apply": "应用", "ui.empty": "暂无数据。", "ui.cancel": "取消",
    "ui.confirm": "确认", "ui.close": "关闭", "ui.columns": "列", "ui.yes": "是", "ui.no": "否",
  },
});
