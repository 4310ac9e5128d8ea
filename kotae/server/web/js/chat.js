// Chat: questions answered from the documents, streamed, with clickable citations [n],
// follow-ups in one session, "don't know" shown as such, and feedback on each answer.
import { api, askStream } from "./api.js";
import { field, fillWith, h, status } from "./dom.js";
import { t } from "./i18n.js";
import { openPassage } from "./passage.js";

const MAX_HISTORY = 20;

function newSession() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const chat = { session: newSession(), turns: [], busy: false, controller: null, draft: "" };
let conversation = null;
let input = null;
let sendButton = null;

export function render(view) {
  input = h("textarea", { name: "question", rows: "2", placeholder: t("chat.placeholder"), autocomplete: "off" });
  input.value = chat.draft;
  input.addEventListener("input", () => { chat.draft = input.value; });
  input.addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter is a new line; Enter that ends an IME conversion does neither
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  sendButton = h("button", { type: "submit", class: "primary", disabled: chat.busy }, t("chat.send"));
  const form = h("form", { class: "ask-form" }, field(t("chat.question"), input), h("div", { class: "actions" }, sendButton));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (question && !chat.busy) ask(question);
  });
  const reset = h("button", { type: "button", onclick: () => newConversation(view) }, t("chat.new"));
  conversation = h("section", { class: "conversation", "aria-label": t("chat.conversation") });
  view.append(h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, t("chat.title")), reset), conversation, form);
  draw();
}

export function focusInput() {
  if (input) input.focus();
}

function newConversation(view) {
  if (chat.controller) chat.controller.abort();
  Object.assign(chat, { session: newSession(), turns: [], busy: false, controller: null, draft: "" });
  view.replaceChildren();
  render(view);
  input.focus();
}

function draw() {
  if (!conversation) return;
  if (!chat.turns.length) {
    conversation.replaceChildren(h("p", { class: "empty" }, t("chat.empty")));
    return;
  }
  conversation.replaceChildren(...chat.turns.map(turnView));
}

function turnView(turn) {
  const answer = h("div", { class: "answer", "aria-live": "polite", "aria-busy": turn.streaming ? "true" : "false", "data-tokens": turn.tokens || 0 });
  turn.el = answer;
  fill(turn);
  return h(
    "article",
    { class: "turn" },
    h("div", { class: "question" }, h("span", { class: "who" }, t("chat.you")), h("p", {}, turn.question)),
    answer,
  );
}

function fill(turn) {
  const el = turn.el;
  if (!el) return;
  el.setAttribute("aria-busy", turn.streaming ? "true" : "false");
  const who = h("span", { class: "who" }, t("chat.answer"));
  if (turn.error) {
    el.className = "answer failed";
    el.replaceChildren(who, status(turn.error, "error"));
    return;
  }
  if (turn.streaming) {
    el.className = "answer streaming";
    el.replaceChildren(who, h("p", { class: "answer-text" }, turn.text || t("chat.thinking")));
    return;
  }
  const result = turn.result;
  const none = result.status === "no_evidence";
  el.className = none ? "answer no-evidence" : "answer";
  el.dataset.status = result.status;
  fillWith(
    el,
    who,
    none ? h("p", { class: "badge" }, t("chat.noevidence")) : null,
    h("p", { class: "answer-text" }, cited(result.answer, result.citations)),
    result.notice ? h("p", { class: "notice" }, result.notice) : null,
    sources(result.citations),
    result.log_id ? feedback(turn) : null,
  );
}

function citeButton(citation) {
  return h(
    "button",
    {
      type: "button",
      class: "cite",
      "data-number": citation.number,
      "aria-label": t("chat.cite", { n: citation.number, title: citation.title }),
      onclick: () => openPassage(citation.chunk_id, citation),
    },
    `[${citation.number}]`,
  );
}

// the answer's text with each [n] that has a citation made a button
function cited(text, citations) {
  const byNumber = new Map((citations || []).map((c) => [c.number, c]));
  return String(text || "").split(/(\[\d{1,3}\])/).map((part) => {
    const match = /^\[(\d{1,3})\]$/.exec(part);
    const citation = match && byNumber.get(Number(match[1]));
    return citation ? citeButton(citation) : part;
  });
}

function sources(citations) {
  if (!citations || !citations.length) return null;
  return h(
    "div",
    { class: "sources" },
    h("h2", {}, t("chat.sources")),
    h("ol", {}, citations.map((c) => h("li", {}, citeButton(c), " ", h("span", { class: "source-title" }, c.title), c.location ? h("span", { class: "source-location" }, ` — ${c.location}`) : null))),
  );
}

function feedback(turn) {
  const fb = turn.feedback;
  if (fb.sent) return h("div", { class: "feedback" }, status(t("feedback.thanks"), "ok"));
  const choose = (rating) => () => {
    fb.rating = rating;
    fill(turn);
    const box = turn.el.querySelector(".feedback textarea");
    if (box) box.focus();
  };
  const thumb = (rating, label) =>
    h("button", { type: "button", class: `thumb ${rating}`, "aria-pressed": fb.rating === rating ? "true" : "false", onclick: choose(rating) }, label);
  const comment = h("textarea", { rows: "2", name: "comment", maxlength: "4000" });
  comment.value = fb.comment || "";
  comment.addEventListener("input", () => { fb.comment = comment.value; });
  const form = h(
    "form",
    { class: "feedback-form" },
    field(t("feedback.comment"), comment),
    h("button", { type: "submit" }, t("feedback.send")),
    fb.error ? status(fb.error, "error") : null,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("/api/feedback", { method: "POST", json: { log_id: turn.result.log_id, rating: fb.rating, comment: fb.comment || "" } });
      fb.sent = true;
      fb.error = null;
    } catch (exc) {
      fb.error = exc.message;
    }
    fill(turn);
    const done = turn.el.querySelector(".feedback");
    if (done) done.setAttribute("tabindex", "-1");
  });
  return h(
    "div",
    { class: "feedback", role: "group", "aria-label": t("feedback.label") },
    h("span", { class: "feedback-label" }, t("feedback.label")),
    thumb("up", t("feedback.up")),
    thumb("down", t("feedback.down")),
    fb.rating ? form : null,
  );
}

async function ask(question) {
  const history = chat.turns
    .filter((turn) => turn.result && turn.result.status === "ok")
    .slice(-MAX_HISTORY)
    .map((turn) => ({ question: turn.question, answer: String(turn.result.answer).slice(0, 20000) }));
  const turn = { question, text: "", streaming: true, result: null, error: null, feedback: {}, el: null };
  chat.turns.push(turn);
  chat.busy = true;
  chat.draft = "";
  input.value = "";
  sendButton.disabled = true;
  draw();
  turn.el.scrollIntoView({ block: "nearest" });
  const controller = new AbortController();
  chat.controller = controller;
  try {
    await askStream(
      { question, session: chat.session, history },
      {
        sources: () => {},
        token: (data) => {
          turn.text += data.text;
          turn.tokens = (turn.tokens || 0) + 1;
          if (turn.el) turn.el.dataset.tokens = String(turn.tokens);
          const text = turn.el && turn.el.querySelector(".answer-text");
          if (text) text.textContent = turn.text;
        },
        citations: (data) => {
          turn.result = data;
        },
        error: (data) => {
          turn.error = (data.error && data.error.message) || t("error.generic");
        },
      },
      controller.signal,
    );
    if (!turn.result && !turn.error) turn.error = t("error.generic");
  } catch (exc) {
    if (exc.name === "AbortError") return;
    turn.error = exc.message;
  } finally {
    if (chat.controller === controller) {
      chat.busy = false;
      chat.controller = null;
      if (sendButton) sendButton.disabled = false;
    }
  }
  turn.streaming = false;
  fill(turn);
}
