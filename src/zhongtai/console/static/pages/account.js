// Who is signed in and what the policy grants them, action by action, with the rule that decided each.

import { api } from "../lib/api.js";
import { t } from "../lib/i18n.js";
import { badge, clear, h, kv } from "../lib/ui.js";

export const page = {
  id: "account",
  order: 1000,
  icon: "☺",
  title: { en: "My access", zh: "我的权限" },
  needs: [],
  strings: {
    en: {
      "account.heading": "My access", "account.name": "Principal", "account.via": "Signed in with",
      "account.roles": "Roles", "account.workspace": "Workspace", "account.scopes": "Key scopes",
      "account.action": "Action", "account.allowed": "Allowed", "account.rule": "Deciding rule",
      "account.via.key": "API key", "account.via.oidc": "OIDC token", "account.via.cli": "CLI",
      "account.none": "none", "account.all": "all",
    },
    zh: {
      "account.heading": "我的权限", "account.name": "主体", "account.via": "登录方式",
      "account.roles": "角色", "account.workspace": "工作空间", "account.scopes": "密钥范围",
      "account.action": "操作", "account.allowed": "是否允许", "account.rule": "决定规则",
      "account.via.key": "API 密钥", "account.via.oidc": "OIDC 令牌", "account.via.cli": "命令行",
      "account.none": "无", "account.all": "全部",
    },
  },
  async render(root) {
    const me = await api("/v1/me");
    clear(root,
      h("h1", {}, t("account.heading")),
      kv([
        [t("account.name"), me.name],
        [t("account.via"), t(`account.via.${me.via}`)],
        [t("account.roles"), me.roles.join(", ")],
        [t("account.workspace"), me.workspace || t("account.none")],
        [t("account.scopes"), me.scopes.length ? me.scopes.join(", ") : t("account.all")],
      ]),
      h("table", { class: "data", id: "grants" },
        h("thead", {}, h("tr", {}, h("th", {}, t("account.action")), h("th", {}, t("account.allowed")), h("th", {}, t("account.rule")))),
        h("tbody", {}, Object.entries(me.actions).map(([action, grant]) => h("tr", { dataset: { action } },
          h("td", {}, h("code", {}, action)),
          h("td", {}, grant.allowed ? badge(t("ui.yes"), "ok") : badge(t("ui.no"), "bad")),
          h("td", {}, h("code", {}, grant.rule)))))));
  },
};
