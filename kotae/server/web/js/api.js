// Talking to kotae: the cookie session of /ui/* (HttpOnly: this script never sees it), the
// CSRF token (kept in memory, read again from /ui/session on each load), JSON errors, and the
// server-sent events of POST /api/ask (read with fetch: EventSource cannot POST).
import { lang, t } from "./i18n.js";

export const session = { user: null, role: null, groups: [], csrf: null };
const listeners = { expired: [] };

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function onExpired(fn) {
  listeners.expired.push(fn);
}

export function loggedIn() {
  return Boolean(session.user);
}

export function can(role) {
  const rank = { reader: 0, editor: 1, admin: 2 };
  return loggedIn() && (rank[session.role] ?? -1) >= rank[role];
}

function setSession(data) {
  session.user = data ? data.user : null;
  session.role = data ? data.role : null;
  session.groups = data ? data.groups || [] : [];
  session.csrf = data ? data.csrf_token || null : null;
}

async function errorOf(response) {
  let message = `${t("error.generic")} (${response.status})`;
  let code = null;
  try {
    const body = await response.json();
    if (body && body.error) {
      message = body.error.message || message;
      code = body.error.code || null;
    }
  } catch {
    // not JSON: keep the generic message
  }
  return new ApiError(response.status, message, code);
}

function headers(method, extra = {}) {
  const out = { "Accept-Language": lang(), ...extra };
  if (method !== "GET" && method !== "HEAD" && session.csrf) out["X-CSRF-Token"] = session.csrf;
  return out;
}

async function send(path, { method = "GET", json, form, signal } = {}) {
  const extra = json !== undefined ? { "Content-Type": "application/json" } : {};
  const body = json !== undefined ? JSON.stringify(json) : form;
  try {
    return await fetch(path, {
      method, body, signal, headers: headers(method, extra), credentials: "same-origin", cache: "no-store",
    });
  } catch (exc) {
    if (exc && exc.name === "AbortError") throw exc;
    throw new ApiError(0, t("error.network"));
  }
}

// a JSON call to /api/*: the parsed body, or an ApiError (a 401 ends the session)
export async function api(path, options = {}) {
  const response = await send(path, options);
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && path.startsWith("/api/")) expire();
    throw error;
  }
  if (response.status === 204) return null;
  return response.json();
}

function expire() {
  setSession(null);
  for (const fn of listeners.expired) fn();
}

export async function loadConfig() {
  try {
    const response = await send("/ui/config");
    if (response.ok) return await response.json();
  } catch {
    // no config: no SSO button
  }
  return { oidc: false, oidc_label: "" };
}

// the session behind the cookie, or null
export async function loadSession() {
  const response = await send("/ui/session");
  if (response.ok) {
    setSession(await response.json());
    return session;
  }
  setSession(null);
  return null;
}

export async function login(credentials) {
  const response = await send("/ui/login", { method: "POST", json: credentials });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401) error.message = t("login.failed");
    if (response.status === 429) error.message = t("login.throttled");
    throw error;
  }
  setSession(await response.json());
  return session;
}

export async function logout() {
  try {
    await send("/ui/logout", { method: "POST" });
  } finally {
    setSession(null);
  }
}

// POST /api/ask with stream: true; handlers.sources / token / citations / error receive
// each event's JSON data as it arrives
export async function askStream(body, handlers, signal) {
  const response = await send("/api/ask", { method: "POST", json: { ...body, stream: true }, signal });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401) expire();
    throw error;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
      dispatch(block, handlers);
    }
    if (done) break;
  }
  if (buffer.trim()) dispatch(buffer, handlers);
}

function dispatch(block, handlers) {
  let name = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!data.length || !handlers[name]) return;
  handlers[name](JSON.parse(data.join("\n")));
}
