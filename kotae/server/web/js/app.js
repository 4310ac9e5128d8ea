// The single page: the header (menu by role, language, logout) and hash routes
// #/login, #/search, #/chat, #/documents, #/admin/<tab>.
import { can, loadSession, loggedIn, logout, onExpired, session } from "./api.js";
import { h } from "./dom.js";
import { lang, setLang, t } from "./i18n.js";
import * as admin from "./admin.js";
import * as chat from "./chat.js";
import * as documents from "./documents.js";
import * as historyPage from "./log.js";
import * as login from "./login.js";
import * as search from "./search.js";

const PAGES = {
  search: { role: "reader", module: search },
  chat: { role: "reader", module: chat },
  history: { role: "reader", module: historyPage },
  documents: { role: "editor", module: documents },
  admin: { role: "admin", module: admin },
};

const header = document.getElementById("top");
const view = document.getElementById("view");
let notice = null;

function route() {
  const [name, sub] = location.hash.replace(/^#\/?/, "").split("/");
  return { name: name || "", sub: sub || "" };
}

function go(name) {
  if (location.hash === `#/${name}`) render();
  else location.hash = `#/${name}`;
}

function drawHeader(current) {
  const langButton = h("button", {
    type: "button", class: "ghost lang", lang: lang() === "ja" ? "en" : "ja",
    "aria-label": t("lang.switch.label"),
    onclick: () => { setLang(lang() === "ja" ? "en" : "ja"); render(); },
  }, t("lang.switch"));
  const nav = loggedIn()
    ? h("nav", { class: "menu", "aria-label": t("nav.label") }, Object.entries(PAGES)
      .filter(([, page]) => can(page.role))
      .map(([name]) => h("a", { href: `#/${name}`, "aria-current": name === current ? "page" : null }, t(`nav.${name}`))))
    : null;
  const who = loggedIn()
    ? h("div", { class: "who" },
      h("span", { class: "user" }, session.user, " ", h("span", { class: "role" }, `(${t(`role.${session.role}`)})`)),
      h("button", { type: "button", class: "ghost", onclick: async () => { await logout(); go("login"); } }, t("logout")))
    : null;
  header.replaceChildren(
    h("a", { class: "skip", href: "#view", onclick: (e) => { e.preventDefault(); view.focus(); } }, t("skip")),
    h("div", { class: "bar" }, h("a", { class: "brand", href: loggedIn() ? "#/search" : "#/login" }, "kotae"), nav, h("div", { class: "tools" }, who, langButton)),
  );
}

let renders = 0;
async function render() {
  const mine = ++renders;
  document.documentElement.lang = lang();
  document.title = "kotae";
  let { name, sub } = route();
  if (!loggedIn() && name !== "login") return go("login");
  if (loggedIn() && (name === "login" || !PAGES[name] || !can(PAGES[name].role))) return go("search");
  drawHeader(name);
  view.replaceChildren();
  delete view.dataset.page; // set again once the page has its data (tests wait for it)
  if (notice) {
    view.append(h("p", { class: "status error", role: "alert" }, notice));
    notice = null;
  }
  const page = name === "login" ? null : PAGES[name];
  document.title = `${t(name === "login" ? "login.title" : `nav.${name}`)} — kotae`;
  if (page) await page.module.render(view, sub);
  else await login.render(view, () => go("search"));
  if (mine !== renders) return;
  view.dataset.page = name === "admin" ? `admin/${sub || "users"}` : name;
  const heading = view.querySelector("h1");
  if (heading && document.activeElement === document.body) heading.focus({ preventScroll: true });
}

onExpired(() => {
  notice = t("error.session");
  go("login");
});

async function start() {
  setLang(lang());
  try {
    await loadSession();
  } catch {
    // the server is not reachable: the login page says so when used
  }
  window.addEventListener("hashchange", () => {
    document.activeElement?.blur?.();
    render();
  });
  await render();
  document.body.dataset.ready = "true";
  // the first page is usable: benchmarks/web_ui.py reads this mark
  performance.mark("kotae:interactive");
}

start();
