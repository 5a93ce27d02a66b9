// The shell: sign-in, the navigation drawn from the page modules the caller's grants allow, the hash
// router (#/page/arg?query) and the language switch. Pages are modules in pages/, each exporting `page`:
//   { id, order, icon, title: {en, zh}, needs: [actions, any of which shows it], strings: {en, zh},
//     render(root, ctx) }  with ctx = { args, query, me, navigate, can(action) }.

import { api, ApiError, credential, setCredential, whenUnauthorized } from "./lib/api.js";
import { addStrings, getLocale, missingStrings, setLocale, t } from "./lib/i18n.js";
import { clear, errorBox, h, loading } from "./lib/ui.js";

const root = document.getElementById("app");
// What the sign-in page promises, one line per area: a newcomer sees what is inside before having a key.
const TOUR = ["overview", "data", "person", "models", "capabilities", "decisions", "monitoring", "review", "audit"];
const state = { me: null, pages: [], current: null };

// For the tests and the curious: which strings a locale lacks, and which pages loaded.
window.zt = { missingStrings, pages: () => state.pages.map((p) => p.id) };

whenUnauthorized(() => { setCredential(null); state.me = null; start(); });
window.addEventListener("hashchange", () => { if (state.me) route(); });

async function loadPages() {
  const { pages } = await api("/console/pages.json");
  const modules = await Promise.all(pages.map((file) => import(`./pages/${file}`)));
  const found = modules.map((m) => m.page).filter(Boolean);
  for (const p of found) addStrings(p.strings);
  return found.sort((a, b) => (a.order ?? 99) - (b.order ?? 99));
}

function can(action) { return Boolean(state.me && state.me.actions[action] && state.me.actions[action].allowed); }
function visible(page) { return !page.needs || page.needs.length === 0 || page.needs.some(can); }
export function navigate(hash) { location.hash = hash; }

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, search = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { id: parts[0], args: parts.slice(1), query: new URLSearchParams(search) };
}

function title(page) { return page.title[getLocale()] || page.title.en; }

function localeButton() {
  return h("button", { type: "button", class: "locale", id: "locale", lang: getLocale() === "zh" ? "en" : "zh",
    onclick: () => { setLocale(getLocale() === "zh" ? "en" : "zh"); state.me ? shell() : start(); } }, t("app.locale"));
}

function loginView(message) {
  document.title = t("app.title");
  const input = h("input", { type: "password", name: "credential", id: "credential", autocomplete: "off", required: true,
    "aria-describedby": "credential-hint" });
  const form = h("form", { class: "login", onsubmit: async (e) => {
    e.preventDefault();
    setCredential(input.value.trim());
    await start();
  } },
  h("h1", {}, t("app.title")),
  h("label", { for: "credential" }, t("app.credential")), input,
  h("p", { class: "muted", id: "credential-hint" }, t("app.credential.hint")),
  message ? h("div", { class: "error", role: "alert" }, message) : null,
  h("button", { type: "submit", class: "primary" }, t("app.login")));
  const tour = h("aside", { class: "tour" },
    h("h2", {}, t("app.tour")),
    h("ul", {}, TOUR.map((k) => h("li", {}, h("strong", {}, t(`app.tour.${k}`)), " — ", t(`app.tour.${k}.what`)))),
    h("p", { class: "muted" }, t("app.nokey"), " ", h("code", {}, "zhongtai keys create --name NAME --role admin")));
  clear(root, h("div", { class: "login-wrap" }, h("div", { class: "topright" }, localeButton()),
    h("div", { class: "login-box" }, form, tour)));
  input.focus();
}

async function start() {
  setLocale(getLocale());
  if (!credential()) return loginView();
  clear(root, loading());
  try {
    const [me, pages] = await Promise.all([api("/v1/me"), state.pages.length ? state.pages : loadPages()]);
    state.me = me;
    state.pages = pages;
  } catch (err) {
    setCredential(null);
    state.me = null;
    return loginView(err instanceof ApiError && err.status ? t("app.badcredential", { message: err.message }) : t("app.unreachable"));
  }
  shell();
}

function shell() {
  document.title = t("app.title");
  const pages = state.pages.filter(visible);
  const nav = h("nav", { class: "side", "aria-label": t("app.title") },
    h("a", { class: "brand", href: "#/" }, t("app.title")),
    h("ul", {}, pages.map((p) => h("li", {}, h("a", { href: `#/${p.id}`, dataset: { page: p.id } },
      h("span", { class: "icon", "aria-hidden": "true" }, p.icon || "•"), title(p))))));
  const top = h("header", { class: "top" },
    h("span", { class: "who" }, t("app.signedin", { name: state.me.name }),
      state.me.workspace ? h("span", { class: "muted" }, ` · ${state.me.workspace}`) : null,
      h("span", { class: "muted" }, ` · ${state.me.roles.join(", ")}`)),
    localeButton(),
    h("button", { type: "button", id: "logout", onclick: () => { setCredential(null); state.me = null; start(); } }, t("app.logout")));
  const main = h("main", { id: "main", tabindex: "-1" });
  clear(root, h("div", { class: "layout" }, nav, h("div", { class: "body" }, top, main)));
  route();
}

async function route() {
  const main = document.getElementById("main");
  if (!main) return;
  const { id, args, query } = parseHash();
  const pages = state.pages.filter(visible);
  const page = id ? state.pages.find((p) => p.id === id) : pages[0];
  for (const a of document.querySelectorAll("nav.side a[data-page]")) a.classList.toggle("active", page && a.dataset.page === page.id);
  if (!page) return clear(main, h("p", {}, t("app.notfound")));
  // A page the grants do not allow is never rendered: its module does not run, so it asks nothing.
  if (!visible(page)) return clear(main, h("p", { class: "error", role: "alert" }, t("app.denied")));
  document.title = `${title(page)} · ${t("app.title")}`;
  const view = h("section", { class: "page", dataset: { page: page.id } });
  clear(main, view);
  state.current = page;
  try {
    await page.render(view, { args, query, me: state.me, navigate, can });
  } catch (err) {
    if (state.current === page) clear(view, errorBox(err, () => route()));
  }
}

start();
