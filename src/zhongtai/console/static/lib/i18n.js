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
    "ui.prev": "上一页", "ui.next": "下一页", "ui.rows": "第 {from}–{to} 条，共 {total} 条", "ui.rowsopen": "第 {from}–{to} 条",
    "ui.filter": "筛选", "ui.apply": "应用", "ui.empty": "暂无数据。", "ui.cancel": "取消",
    "ui.confirm": "确认", "ui.close": "关闭", "ui.columns": "列", "ui.yes": "是", "ui.no": "否",
  },
});
