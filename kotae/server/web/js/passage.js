// One passage in a dialog: GET /api/chunks/{id}, with its title and place in the document.
import { api } from "./api.js";
import { h, modal } from "./dom.js";
import { t } from "./i18n.js";

export function place(p) {
  const parts = [];
  if (p.page) parts.push(t("passage.page", { n: p.page }));
  if (p.slide) parts.push(t("passage.slide", { n: p.slide }));
  if (p.sheet) parts.push(t("passage.sheet", { s: p.sheet }));
  if (p.heading_path && p.heading_path.length) parts.push(p.heading_path.join(" › "));
  return parts.length ? parts.join(" · ") : p.location || "";
}

// fallback: what the caller already has (a citation's title, location and snippet)
export async function openPassage(chunkId, fallback = {}) {
  let passage = null;
  try {
    passage = await api(`/api/chunks/${encodeURIComponent(chunkId)}`);
  } catch {
    passage = null;
  }
  const shown = passage || fallback;
  const where = place(shown);
  const body = h(
    "article",
    { class: "passage", "data-chunk": chunkId },
    h("p", { class: "passage-title" }, shown.title || ""),
    h("dl", { class: "meta" },
      where ? [h("dt", {}, t("passage.location")), h("dd", { class: "passage-location" }, where)] : null,
      passage && passage.source_name ? [h("dt", {}, t("passage.file")), h("dd", {}, passage.source_name)] : null),
    passage ? null : h("p", { class: "status info" }, t("passage.unavailable")),
    h("blockquote", { class: "passage-text" }, passage ? passage.text : shown.snippet || ""),
  );
  return modal(t("passage.title"), body);
}
