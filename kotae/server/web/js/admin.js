// Admin: users (groups and roles), API keys (create: shown once; revoke), the query log,
// the latest PoC report.
import { api } from "./api.js";
import { confirmAction, field, h, status, when } from "./dom.js";
import { lang, t } from "./i18n.js";
import { logTable } from "./log.js";

const TABS = ["users", "keys", "log", "report"];
const ROLES = ["reader", "editor", "admin"];

export async function render(view, sub) {
  const tab = TABS.includes(sub) ? sub : "users";
  const panel = h("section", { class: "panel", "aria-labelledby": `tab-${tab}` });
  view.append(
    h("h1", { tabindex: "-1" }, t("admin.title")),
    h("nav", { class: "tabs", "aria-label": t("admin.tabs") }, TABS.map((name) => h(
      "a",
      { href: `#/admin/${name}`, id: `tab-${name}`, "aria-current": name === tab ? "page" : null },
      t(`admin.${name}`),
    ))),
    panel,
  );
  try {
    await { users, keys, log, report }[tab](panel);
  } catch (exc) {
    panel.replaceChildren(status(exc.message, "error"));
  }
}

function table(cols, rows, cls) {
  return h("div", { class: "table-wrap" }, h(
    "table",
    { class: cls },
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows),
  ));
}

function groupsOf(text) {
  return text.split(/[,、\s]+/).map((g) => g.trim()).filter(Boolean);
}

function roleSelect(value) {
  return h("select", { name: "role" }, ROLES.map((r) => h("option", { value: r, selected: r === value }, t(`role.${r}`))));
}

// -- users
async function users(panel) {
  const list = await api("/api/admin/users");
  const note = h("div", { "aria-live": "polite" });
  const rows = list.map((user) => {
    const role = roleSelect(user.role);
    role.setAttribute("aria-label", `${t("admin.role")}: ${user.name}`);
    const groups = h("input", { type: "text", name: "groups", value: user.groups.filter((g) => !g.startsWith("user:")).join(", "), "aria-label": `${t("admin.groups")}: ${user.name}` });
    const save = async () => {
      try {
        await api(`/api/admin/users/${encodeURIComponent(user.name)}`, { method: "PUT", json: { role: role.value, groups: groupsOf(groups.value) } });
        note.replaceChildren(status(t("admin.saved"), "ok"));
      } catch (exc) {
        note.replaceChildren(status(exc.message, "error"));
      }
    };
    const remove = async () => {
      if (!(await confirmAction(t("admin.user.confirm", { name: user.name }), t("admin.delete")))) return;
      try {
        await api(`/api/admin/users/${encodeURIComponent(user.name)}`, { method: "DELETE" });
        await users(panel);
        panel.prepend(status(t("admin.user.deleted", { name: user.name }), "ok"));
      } catch (exc) {
        note.replaceChildren(status(exc.message, "error"));
      }
    };
    return h(
      "tr",
      { "data-user": user.name },
      h("td", {}, user.name),
      h("td", {}, role),
      h("td", {}, groups),
      h("td", {}, String(user.valid_keys ?? "")),
      h("td", {}, h("div", { class: "row-actions" },
        h("button", { type: "button", class: "small", onclick: save }, t("admin.save")),
        h("button", { type: "button", class: "small danger", onclick: remove }, t("admin.delete")))),
    );
  });
  const name = h("input", { type: "text", name: "name", required: true, autocomplete: "off" });
  const role = roleSelect("reader");
  const groups = h("input", { type: "text", name: "groups", autocomplete: "off" });
  const form = h(
    "form",
    { class: "inline-form" },
    h("h2", {}, t("admin.user.add")),
    field(t("admin.name"), name),
    field(t("admin.role"), role),
    field(t("admin.groups"), groups),
    h("button", { type: "submit", class: "primary" }, t("admin.save")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`/api/admin/users/${encodeURIComponent(name.value.trim())}`, { method: "PUT", json: { role: role.value, groups: groupsOf(groups.value) } });
      await users(panel);
      panel.prepend(status(t("admin.saved"), "ok"));
    } catch (exc) {
      note.replaceChildren(status(exc.message, "error"));
    }
  });
  panel.replaceChildren(
    note,
    table([t("admin.name"), t("admin.role"), t("admin.groups"), t("admin.validkeys"), ""], rows, "users"),
    form,
  );
}

// -- keys
async function keys(panel) {
  const [list, people] = await Promise.all([api("/api/admin/keys"), api("/api/admin/users")]);
  const note = h("div", { "aria-live": "polite" });
  const rows = list.map((key) => {
    const revoke = async () => {
      if (!(await confirmAction(t("admin.key.confirm", { prefix: key.prefix }), t("admin.key.revoke")))) return;
      try {
        await api(`/api/admin/keys/${key.id}`, { method: "DELETE" });
        await keys(panel);
      } catch (exc) {
        note.replaceChildren(status(exc.message, "error"));
      }
    };
    return h(
      "tr",
      { "data-key": key.prefix },
      h("td", {}, h("code", {}, key.prefix)),
      h("td", {}, key.user),
      h("td", {}, key.name || ""),
      h("td", {}, key.state),
      h("td", {}, when(key.created_at)),
      h("td", {}, when(key.expires_at)),
      h("td", {}, when(key.last_used_at)),
      h("td", {}, key.state === "valid" ? h("button", { type: "button", class: "small danger", onclick: revoke }, t("admin.key.revoke")) : ""),
    );
  });
  const user = h("select", { name: "user", required: true }, people.map((p) => h("option", { value: p.name }, p.name)));
  const name = h("input", { type: "text", name: "name", autocomplete: "off" });
  const expires = h("input", { type: "text", name: "expires", autocomplete: "off" });
  const form = h(
    "form",
    { class: "inline-form" },
    h("h2", {}, t("admin.key.create")),
    field(t("admin.key.user"), user),
    field(t("admin.key.name"), name),
    field(t("admin.key.expires"), expires),
    h("button", { type: "submit", class: "primary" }, t("admin.key.create")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { user: user.value };
    if (name.value.trim()) body.name = name.value.trim();
    if (expires.value.trim()) body.expires = expires.value.trim();
    try {
      const created = await api("/api/admin/keys", { method: "POST", json: body });
      await keys(panel);
      panel.prepend(createdKey(created.key));
      panel.querySelector(".new-key input").focus();
    } catch (exc) {
      note.replaceChildren(status(exc.message, "error"));
    }
  });
  panel.replaceChildren(
    note,
    table([t("admin.key.prefix"), t("admin.key.user"), t("admin.key.name"), t("admin.key.state"), t("admin.key.createdat"), t("admin.key.expiresat"), t("admin.key.lastused"), ""], rows, "keys"),
    form,
  );
}

function createdKey(secret) {
  const box = h("input", { type: "text", readonly: true, value: secret, "aria-label": t("admin.key.created"), class: "secret" });
  const done = h("span", { role: "status", class: "copied" });
  const copy = async () => {
    box.select();
    try {
      await navigator.clipboard.writeText(secret);
    } catch {
      document.execCommand("copy"); // no clipboard API outside a secure context
    }
    done.textContent = t("admin.key.copied");
  };
  return h(
    "div",
    { class: "new-key", role: "region", "aria-label": t("admin.key.created") },
    h("p", {}, t("admin.key.created")),
    h("div", { class: "copy-row" }, box, h("button", { type: "button", onclick: copy }, t("admin.key.copy")), done),
  );
}

// -- query log
async function log(panel) {
  panel.replaceChildren(await logTable());
}

// -- report: its own page (it is sent with a sandbox policy and may not be framed)
async function report(panel) {
  const url = `/api/admin/report?lang=${lang()}`;
  const response = await fetch(url, { method: "GET", credentials: "same-origin", cache: "no-store" });
  panel.replaceChildren(response.ok
    ? h("p", {}, h("a", { href: url, target: "_blank", rel: "noopener", class: "button" }, t("admin.report.open")))
    : h("p", { class: "empty" }, t("admin.report.none")));
}
