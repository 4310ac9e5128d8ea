// Documents (editors and admins): upload with groups and follow the job, list, delete.
import { api, can, session } from "./api.js";
import { bytes, confirmAction, field, h, status, when } from "./dom.js";
import { t } from "./i18n.js";

const POLL_MS = 500;

export async function render(view) {
  const list = h("section", { class: "doc-list", "aria-labelledby": "docs-list" });
  const note = h("div", { class: "notes", "aria-live": "polite" });
  view.append(h("h1", { tabindex: "-1" }, t("docs.title")), await uploadForm(list, note), note, list);
  await refresh(list);
}

async function knownGroups() {
  if (can("admin")) {
    try {
      return (await api("/api/admin/groups")).map((g) => g.name).filter((g) => !g.startsWith("user:"));
    } catch {
      return [];
    }
  }
  return session.groups.filter((g) => !g.startsWith("user:"));
}

async function uploadForm(list, note) {
  const files = h("input", { type: "file", name: "files", multiple: true, required: true });
  const groups = await knownGroups();
  const boxes = groups.map((g) => h("input", { type: "checkbox", name: "group", value: g }));
  if (!can("admin") && boxes.length === 1) boxes[0].checked = true;
  const other = can("admin") ? h("input", { type: "text", name: "other-groups", autocomplete: "off" }) : null;
  const fieldset = h(
    "fieldset",
    { class: "groups" },
    h("legend", {}, t("docs.groups")),
    h("p", { class: "help" }, can("admin") ? t("docs.groups.public") : t("docs.groups.editor")),
    boxes.map((box, i) => h("label", { class: "check" }, box, " ", groups[i])),
    other ? field(t("docs.groups.other"), other) : null,
  );
  const progress = h("div", { class: "job" });
  const form = h(
    "form",
    { class: "upload-form", "aria-labelledby": "docs-upload" },
    h("h2", { id: "docs-upload" }, t("docs.upload")),
    field(t("docs.files"), files),
    fieldset,
    h("button", { type: "submit", class: "primary" }, t("docs.submit")),
    progress,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!files.files.length) {
      progress.replaceChildren(status(t("docs.nofiles"), "error"));
      return;
    }
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    if (other && other.value.trim()) chosen.push(...other.value.split(/[,、\s]+/).filter(Boolean));
    const body = new FormData();
    for (const file of files.files) body.append("files", file);
    body.append("groups", chosen.join(","));
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const created = await api("/api/documents", { method: "POST", form: body });
      await follow(created, progress);
      form.reset();
      await refresh(list);
    } catch (exc) {
      progress.replaceChildren(status(exc.message, "error"));
    } finally {
      button.disabled = false;
    }
    note.replaceChildren();
  });
  return form;
}

// poll the job until it ends, with a progress bar
async function follow(created, progress) {
  const bar = h("progress", { max: "1", value: "0", "aria-label": t("docs.upload") });
  const label = h("p", { class: "job-label", role: "status" }, t("docs.job.status", { status: created.status }));
  progress.replaceChildren(bar, label);
  for (;;) {
    const job = await api(created.status_url);
    bar.max = Math.max(job.total, 1);
    bar.value = job.done;
    label.textContent = job.status === "running" || job.status === "queued"
      ? t("docs.progress", { done: job.done, total: job.total })
      : t("docs.job.status", { status: job.status });
    if (job.status === "done") {
      bar.value = bar.max;
      progress.replaceChildren(bar, status(t("docs.job.done"), "ok"));
      return job;
    }
    if (["failed", "cancelled", "interrupted"].includes(job.status)) {
      const errors = job.files.filter((f) => f.error).map((f) => `${f.name}: ${f.error}`);
      progress.replaceChildren(bar, status([t("docs.job.failed"), ...errors].join(" / "), "error"));
      return job;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function refresh(list) {
  let documents;
  try {
    documents = (await api("/api/documents")).documents;
  } catch (exc) {
    list.replaceChildren(status(exc.message, "error"));
    return;
  }
  const cols = ["title", "name", "format", "groups", "size", "updated", "actions"];
  list.replaceChildren(
    h("h2", { id: "docs-list" }, t("docs.list")),
    documents.length
      ? h("div", { class: "table-wrap" }, h(
        "table",
        { class: "documents" },
        h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(`docs.col.${c}`))))),
        h("tbody", {}, documents.map((doc) => row(doc, list))),
      ))
      : h("p", { class: "empty" }, t("docs.empty")),
  );
}

function row(doc, list) {
  const title = doc.title || doc.name;
  const remove = async () => {
    if (!(await confirmAction(t("docs.confirm", { title }), t("docs.delete")))) return;
    try {
      await api(`/api/documents/${doc.id}`, { method: "DELETE" });
      await refresh(list);
      list.prepend(status(t("docs.deleted", { title }), "ok"));
    } catch (exc) {
      list.prepend(status(exc.message, "error"));
    }
  };
  return h(
    "tr",
    { "data-document": doc.id },
    h("td", { "data-label": t("docs.col.title") }, title),
    h("td", { "data-label": t("docs.col.name") }, doc.name),
    h("td", { "data-label": t("docs.col.format") }, doc.format),
    h("td", { "data-label": t("docs.col.groups") }, doc.groups.length ? doc.groups.join(", ") : t("docs.public")),
    h("td", { "data-label": t("docs.col.size") }, bytes(doc.size_bytes)),
    h("td", { "data-label": t("docs.col.updated") }, when(doc.updated_at)),
    h("td", {}, h("button", { type: "button", class: "danger small", "aria-label": t("docs.delete.label", { title }), onclick: remove }, t("docs.delete"))),
  );
}
