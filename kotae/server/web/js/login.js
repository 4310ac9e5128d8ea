// Login: user + password or an API key, and SSO when the server has OIDC on.
import { loadConfig, login } from "./api.js";
import { field, h, status } from "./dom.js";
import { t } from "./i18n.js";

export async function render(view, done) {
  const note = h("div", { class: "login-note", "aria-live": "assertive" });
  const submit = (form, credentials) => async (event) => {
    event.preventDefault();
    const values = credentials();
    if (Object.values(values).some((v) => !v)) {
      note.replaceChildren(status(t("login.missing"), "error"));
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await login(values);
      note.replaceChildren();
      done();
    } catch (exc) {
      note.replaceChildren(status(exc.message, "error"));
    } finally {
      button.disabled = false;
    }
  };
  const user = h("input", { type: "text", name: "user", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const byPassword = h(
    "form",
    { class: "login-form", "aria-labelledby": "login-password" },
    h("h2", { id: "login-password" }, t("login.password")),
    field(t("login.user"), user),
    field(t("login.pass"), password),
    h("button", { type: "submit", class: "primary" }, t("login.submit")),
  );
  byPassword.addEventListener("submit", submit(byPassword, () => ({ user: user.value.trim(), password: password.value })));
  const key = h("input", { type: "password", name: "api_key", autocomplete: "off", required: true, spellcheck: "false" });
  const byKey = h(
    "form",
    { class: "login-form", "aria-labelledby": "login-key" },
    h("h2", { id: "login-key" }, t("login.key")),
    field(t("login.key"), key, t("login.key.help")),
    h("button", { type: "submit" }, t("login.submit.key")),
  );
  byKey.addEventListener("submit", submit(byKey, () => ({ api_key: key.value.trim() })));
  const sso = h("div", { class: "sso" });
  view.append(
    h("div", { class: "login" },
      h("h1", { tabindex: "-1" }, t("login.title")),
      h("p", { class: "intro" }, t("login.intro")),
      note, sso, byPassword, h("p", { class: "or" }, t("login.or")), byKey),
  );
  const config = await loadConfig();
  if (config.oidc) {
    sso.append(h("a", { class: "button primary", href: "/ui/oidc/login" }, t("login.sso", { label: config.oidc_label || "SSO" })));
  }
}
