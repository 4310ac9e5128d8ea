// The query log as the caller may see it (GET /api/log): admins every entry, others their
// own; an entry whose text the caller may not read is shown redacted.
import { api } from "./api.js";
import { h, when } from "./dom.js";
import { t } from "./i18n.js";

export async function logTable(limit = 100) {
  const { entries } = await api(`/api/log?limit=${limit}`);
  if (!entries.length) return h("p", { class: "empty" }, t("admin.log.empty"));
  const cols = ["time", "user", "kind", "status", "question"];
  return h("div", { class: "table-wrap" }, h(
    "table",
    { class: "log" },
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(`admin.log.${c}`))))),
    h("tbody", {}, entries.map((e) => h(
      "tr",
      { "data-log": e.id },
      h("td", {}, when(e.created_at)),
      h("td", {}, e.user || "—"),
      h("td", {}, e.kind),
      h("td", {}, e.status),
      h("td", { class: e.redacted ? "redacted" : null }, e.redacted ? t("admin.log.redacted") : e.question),
    ))),
  ));
}

// the History page: the caller's own questions and searches
export async function render(view) {
  view.append(h("h1", { tabindex: "-1" }, t("history.title")));
  try {
    view.append(await logTable());
  } catch (exc) {
    view.append(h("p", { class: "status error", role: "alert" }, exc.message));
  }
}
