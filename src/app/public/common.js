// Shared by the three pages. Every text from the server goes into the page with textContent (el() below),
// never as HTML, so a question or passage holding <script> or <img onerror> shows as the characters it is.
"use strict";

/** An element: el("div", {class: "x", onclick: f}, "text", child, ...). Strings become text nodes. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat(Number.POSITIVE_INFINITY)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return node;
}

/** Replaces a node's children. */
function fill(node, ...children) {
  node.replaceChildren();
  for (const c of children.flat(Number.POSITIVE_INFINITY)) if (c !== undefined && c !== null && c !== false) node.append(typeof c === "string" ? document.createTextNode(c) : c);
  return node;
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** JSON request to the app's API; throws ApiError with the server's message. */
async function api(path, options = {}) {
  const init = { method: options.method || "GET", headers: { accept: "application/json" } };
  if (options.body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, { error: `The app does not answer (${err.message}); is it still running?` });
  }
  let body;
  try {
    body = await res.json();
  } catch {
    body = { error: `HTTP ${res.status} without a JSON body` };
  }
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

/** A message at the top of the page; kind: error | warn | info. Returns a function that removes it. */
function banner(kind, text, { timeout } = {}) {
  const box = document.getElementById("banners");
  const node = el("div", { class: `banner ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  box.append(node);
  if (timeout) setTimeout(() => node.remove(), timeout);
  return () => node.remove();
}

function fmt(x, digits = 3) {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "";
}

// The tab of this page.
for (const a of document.querySelectorAll("header.top nav a"))
  if (a.getAttribute("href") === `/${document.body.dataset.page}`) {
    a.classList.add("active");
    a.setAttribute("aria-current", "page");
  }

/** Fills the top bar's right-hand side with what the app serves. */
async function showWhere() {
  try {
    const info = await api("/api/info");
    const parts = [];
    if (info.explore && info.explore.dataset) parts.push(`dataset ${info.explore.dataset}`);
    if (info.review && info.review.file) parts.push(`sheet ${info.review.file}`);
    fill(document.getElementById("where"), parts.join(" · "));
    return info;
  } catch {
    return undefined;
  }
}
