// A tiny DOM builder: text is always set as text (never parsed as HTML).
import { lang, t } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "value") el.value = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// replace an element's children (null, undefined and false are left out, where the DOM's
// own replaceChildren would write "null")
export function fillWith(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let uid = 0;
export function id(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// a labelled control: <div class="field"><label for=…>…</label>control</div>
export function field(label, control, help) {
  control.id = control.id || id("f");
  const helpEl = help ? h("p", { class: "help", id: `${control.id}-help` }, help) : null;
  if (helpEl) control.setAttribute("aria-describedby", helpEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, helpEl);
}

export function status(text, kind = "info") {
  return h("p", { class: `status ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

export function when(value) {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(lang() === "ja" ? "ja-JP" : "en-GB", { dateStyle: "short", timeStyle: "short" });
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

// a modal <dialog>: Escape and the close button close it; focus returns where it was
export function modal(title, body, actions = []) {
  const opener = document.activeElement;
  const titleId = id("dlg");
  const dialog = h(
    "dialog",
    { class: "modal", "aria-labelledby": titleId },
    h("div", { class: "modal-head" },
      h("h2", { id: titleId }, title),
      h("button", { type: "button", class: "ghost", onclick: () => dialog.close() }, t("close"))),
    h("div", { class: "modal-body" }, body),
    actions.length ? h("div", { class: "modal-actions" }, actions) : null,
  );
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

// a confirmation: resolves true when confirmed
export function confirmAction(message, label) {
  return new Promise((resolve) => {
    let answer = false;
    const yes = h("button", { type: "button", class: "danger", onclick: () => { answer = true; dialog.close(); } }, label);
    const no = h("button", { type: "button", onclick: () => dialog.close() }, t("cancel"));
    const dialog = modal(label, h("p", {}, message), [no, yes]);
    dialog.addEventListener("close", () => resolve(answer));
    no.focus();
  });
}
