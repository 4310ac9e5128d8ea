// Search: a query, filters by document and format, and the hits with their highlights.
import { api } from "./api.js";
import { field, h, status } from "./dom.js";
import { t } from "./i18n.js";
import { openPassage, place } from "./passage.js";

const state = { q: "", document: "", format: "", results: null, error: null };

// the snippet with its highlighted spans (offsets count code points, as Python does)
export function highlighted(snippet, spans) {
  const chars = Array.from(snippet || "");
  const out = [];
  let at = 0;
  for (const [start, end] of [...(spans || [])].sort((a, b) => a[0] - b[0])) {
    if (start < at) continue;
    out.push(chars.slice(at, start).join(""), h("mark", {}, chars.slice(start, end).join("")));
    at = end;
  }
  out.push(chars.slice(at).join(""));
  return out;
}

export async function render(view) {
  const query = h("input", { type: "search", name: "q", value: state.q, placeholder: t("search.placeholder"), required: true, autocomplete: "off" });
  const docSelect = h("select", { name: "document" }, h("option", { value: "" }, t("search.all")));
  const formatSelect = h("select", { name: "format" }, h("option", { value: "" }, t("search.all")));
  const results = h("section", { class: "results", "aria-live": "polite", "aria-label": t("search.results") });
  const form = h(
    "form",
    { class: "search-form", role: "search" },
    field(t("search.query"), query),
    h("div", { class: "filters" }, field(t("search.document"), docSelect), field(t("search.format"), formatSelect)),
    h("button", { type: "submit", class: "primary" }, t("search.submit")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    state.q = query.value.trim();
    state.document = docSelect.value;
    state.format = formatSelect.value;
    if (!state.q) return;
    await run(results);
  });
  view.append(h("h1", { tabindex: "-1" }, t("search.title")), form, results);
  if (state.results || state.error) show(results);
  try {
    const { documents } = await api("/api/documents");
    for (const doc of documents) docSelect.append(h("option", { value: String(doc.id) }, doc.title || doc.name));
    for (const format of [...new Set(documents.map((d) => d.format))].sort()) formatSelect.append(h("option", { value: format }, format));
    docSelect.value = state.document;
    formatSelect.value = state.format;
  } catch {
    // the filters stay at "all"
  }
}

async function run(results) {
  const params = new URLSearchParams({ q: state.q, k: "10" });
  if (state.document) params.set("document", state.document);
  if (state.format) params.set("format", state.format);
  results.setAttribute("aria-busy", "true");
  try {
    state.results = (await api(`/api/search?${params}`)).results;
    state.error = null;
  } catch (exc) {
    state.results = null;
    state.error = exc.message;
  }
  results.removeAttribute("aria-busy");
  show(results);
}

function show(results) {
  if (state.error) {
    results.replaceChildren(status(state.error, "error"));
    return;
  }
  const hits = state.results || [];
  results.replaceChildren(
    h("p", { class: "count" }, hits.length ? t("search.count", { n: hits.length }) : t("search.none")),
    h("ol", { class: "hits" }, hits.map((hit) => h(
      "li",
      { class: "hit", "data-document": hit.document_id },
      h("h2", { class: "hit-title" }, hit.title),
      h("p", { class: "hit-location" }, place(hit)),
      h("p", { class: "snippet" }, highlighted(hit.snippet, hit.highlights)),
      h("button", { type: "button", class: "link", onclick: () => openPassage(hit.chunk_id, hit) }, t("search.open")),
    ))),
  );
}
