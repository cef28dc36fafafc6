// Review page: one pair at a time, decided with the keyboard; every decision is saved by the server at once.
"use strict";

const FLAG_TEXT = {
  exact_duplicate: "duplicate question",
  too_short: "too short",
  too_long: "too long",
  copies_chunk: "copies the passage",
  near_duplicate: "near duplicate",
};
const FLAG_HELP = {
  fails: "the course's quality filter (default setting) removes this pair",
  borderline: "a stricter setting of the quality filter would remove this pair",
};
const DECISION_TEXT = { accept: "accepted", reject: "rejected", fix: "edited", pending: "pending" };

const params = new URLSearchParams(location.search);
const state = {
  status: params.get("status") || "all",
  generator: params.get("generator") || "",
  q: params.get("q") || "",
  items: [],
  matching: 0,
  counts: null,
  generators: [],
  revision: "",
  idx: 0,
  editing: false,
  undo: [],
  busy: false,
  file: "",
};

const root = document.getElementById("page");
const ui = {};

function build() {
  ui.status = el(
    "select",
    { id: "status", "aria-label": "Show", onchange: () => setFilter({ status: ui.status.value }) },
    ["all", "pending", "decided", "flagged", "invalid"].map((s) => el("option", { value: s }, s === "all" ? "all pairs" : s)),
  );
  ui.generator = el("select", { id: "generator", "aria-label": "Generator", onchange: () => setFilter({ generator: ui.generator.value }) });
  ui.search = el("input", { type: "search", id: "q", placeholder: "Search questions and passages  ( / )", value: state.q });
  let timer;
  ui.search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => setFilter({ q: ui.search.value }), 250);
  });
  ui.progressText = el("div", { class: "small", id: "progress" });
  ui.bar = el("div", { class: "bar" });
  ui.list = el("div", { class: "card list", id: "list", role: "listbox", "aria-label": "Pairs" });
  ui.detail = el("div", { class: "card detail", id: "detail" });
  ui.file = el("div", { class: "small muted", id: "file" });
  fill(
    root,
    el(
      "div",
      { class: "card" },
      el("div", { class: "row" }, ui.status, ui.generator, ui.search, el("div", { class: "progress" }, ui.progressText, ui.bar)),
      ui.file,
    ),
    el("div", { class: "review-grid" }, ui.list, ui.detail),
  );
  ui.status.value = state.status;
}

function setFilter(change) {
  Object.assign(state, change);
  const p = new URLSearchParams();
  if (state.status !== "all") p.set("status", state.status);
  if (state.generator) p.set("generator", state.generator);
  if (state.q) p.set("q", state.q);
  history.replaceState(null, "", `${location.pathname}${p.toString() ? `?${p}` : ""}${location.hash}`);
  load({ keep: false });
}

function query(offset, limit) {
  const p = new URLSearchParams({ status: state.status, offset: String(offset), limit: String(limit) });
  if (state.generator) p.set("generator", state.generator);
  if (state.q) p.set("q", state.q);
  return `/api/review?${p}`;
}

/** Loads the first page of the current filter; keeps the current pair selected when it is still listed. */
async function load({ keep = true, wantId } = {}) {
  const current = wantId || (keep && state.items[state.idx] ? state.items[state.idx].id : decodeURIComponent(location.hash.slice(1)));
  let page;
  try {
    page = await api(query(0, 500));
  } catch (err) {
    fill(ui.detail, el("div", { class: "empty" }, err.message));
    fill(ui.list);
    if (err.status === 404 || err.status === 422) banner("error", err.message);
    return;
  }
  take(page, false);
  const at = current ? state.items.findIndex((i) => i.id === current) : -1;
  state.idx = at >= 0 ? at : 0;
  render();
}

function take(page, append) {
  state.items = append ? state.items.concat(page.items) : page.items;
  state.matching = page.matching;
  state.counts = page.counts;
  state.generators = page.generators;
  state.revision = page.revision;
  state.file = page.file;
}

async function loadMore() {
  if (state.items.length >= state.matching) return false;
  const page = await api(query(state.items.length, 500));
  take(page, true);
  return true;
}

function render() {
  renderToolbar();
  renderList();
  renderDetail();
}

function renderToolbar() {
  const c = state.counts;
  if (!c) return;
  const decided = c.accept + c.fix + c.reject;
  fill(
    ui.progressText,
    el("strong", {}, `${decided} of ${c.total} decided`),
    ` (${c.total ? Math.round((100 * decided) / c.total) : 0}%) · ${c.accept} accepted · ${c.fix} edited · ${c.reject} rejected · ${c.pending} pending`,
    c.flagged ? ` · ${c.flagged} flagged` : "",
    c.invalid ? ` · ${c.invalid} invalid` : "",
  );
  const pct = (n) => `${c.total ? (100 * n) / c.total : 0}%`;
  fill(
    ui.bar,
    el("span", { class: "accept", style: `width:${pct(c.accept)}` }),
    el("span", { class: "fix", style: `width:${pct(c.fix)}` }),
    el("span", { class: "reject", style: `width:${pct(c.reject)}` }),
  );
  const label = { all: `all pairs (${c.total})`, pending: `pending (${c.pending})`, decided: `decided (${decided})`, flagged: `flagged (${c.flagged})`, invalid: `invalid (${c.invalid})` };
  for (const option of ui.status.options) option.textContent = label[option.value];
  const value = state.generator;
  fill(
    ui.generator,
    el("option", { value: "" }, "every generator"),
    state.generators.map((g) => el("option", { value: g.name }, `${g.name || "(none)"} (${g.count})`)),
  );
  ui.generator.value = value;
  fill(
    ui.file,
    `Decisions are saved at once to ${state.file} (the sheet notebook 01 reads back). `,
    state.matching !== c.total ? `${state.matching} pairs match the filter.` : "",
  );
}

function renderList() {
  if (state.items.length === 0) {
    fill(ui.list, el("div", { class: "empty" }, state.counts && state.counts.total ? "No pair matches the filter." : "The sheet has no pairs."));
    return;
  }
  const rows = state.items.map((item, i) =>
    el(
      "div",
      {
        class: `item${i === state.idx ? " current" : ""}`,
        role: "option",
        "aria-selected": i === state.idx ? "true" : "false",
        dataset: { id: item.id },
        onclick: () => select(i),
      },
      el("span", { class: `dot ${item.decision}`, title: DECISION_TEXT[item.decision] }),
      el("span", { class: "q" }, item.decision === "fix" ? item.editedAnchor : item.anchor),
      item.flags.length ? el("span", { class: `badge ${item.flags[0].level}` }, "flag") : null,
    ),
  );
  if (state.items.length < state.matching)
    rows.push(el("div", { class: "empty" }, el("button", { onclick: async () => (await loadMore()) && render() }, `Load more (${state.matching - state.items.length} left)`)));
  fill(ui.list, rows);
  const cur = ui.list.querySelector(".item.current");
  if (cur) cur.scrollIntoView({ block: "nearest" });
}

function renderDetail() {
  const item = state.items[state.idx];
  if (!item) {
    fill(ui.detail, el("div", { class: "empty" }, "Nothing to show."));
    return;
  }
  if (location.hash.slice(1) !== item.id) history.replaceState(null, "", `${location.pathname}${location.search}#${item.id}`);
  const badges = [
    el("span", { class: `badge ${item.decision}`, id: "decision" }, DECISION_TEXT[item.decision]),
    item.generator ? el("span", { class: "badge", title: "generator" }, item.generator) : null,
    item.flags.map((f) => el("span", { class: `badge ${f.level}`, title: FLAG_HELP[f.level] }, `${FLAG_TEXT[f.filter] || f.filter}${f.level === "borderline" ? " (borderline)" : ""}`)),
    item.problem ? el("span", { class: "badge invalid", title: "importReview would report this line" }, `invalid: ${item.problem}`) : null,
  ];
  const details = [`line ${item.line}`];
  if (item.positiveId) details.push(`passage ${item.positiveId}`);
  if (item.docId) details.push(`document ${item.docId}`);
  for (const [k, v] of Object.entries(item.extra)) details.push(`${k}: ${v}`);
  const question =
    item.decision === "fix"
      ? [el("h2", { id: "question" }, item.editedAnchor), el("div", { class: "struck small", id: "original" }, item.anchor)]
      : [el("h2", { id: "question" }, item.anchor)];
  ui.editBox = el(
    "div",
    { class: `edit-box${state.editing ? "" : " hidden"}` },
    el("textarea", { id: "edit", "aria-label": "Corrected question" }),
    el(
      "div",
      { class: "row small muted" },
      el("button", { class: "fix", onclick: saveEdit }, "Save edit"),
      el("button", { onclick: cancelEdit }, "Cancel"),
      el("span", {}, el("kbd", {}, "Enter"), " saves, ", el("kbd", {}, "Esc"), " cancels"),
    ),
  );
  fill(
    ui.detail,
    el("div", { class: "row small muted" }, `${state.idx + 1} of ${state.matching}`, badges),
    question,
    ui.editBox,
    el("div", { class: "passage", id: "passage" }, item.title ? el("span", { class: "title" }, item.title) : null, item.passage),
    el("div", { class: "small muted" }, details.join(" · ")),
    el(
      "div",
      { class: "actions" },
      el("button", { class: "accept", id: "btn-accept", onclick: () => decide("accept") }, "Accept ", el("kbd", {}, "a")),
      el("button", { class: "reject", id: "btn-reject", onclick: () => decide("reject") }, "Reject ", el("kbd", {}, "r")),
      el("button", { class: "fix", id: "btn-edit", onclick: startEdit }, "Edit question ", el("kbd", {}, "e")),
      el("button", { onclick: undo, disabled: state.undo.length === 0 ? "disabled" : undefined }, "Undo ", el("kbd", {}, "u")),
      el("button", { onclick: () => move(-1) }, "Previous ", el("kbd", {}, "k")),
      el("button", { onclick: () => move(1) }, "Next ", el("kbd", {}, "j")),
    ),
    el(
      "div",
      { class: "keys small muted" },
      "Keys: ",
      el("kbd", {}, "a"), " accept · ", el("kbd", {}, "r"), " reject · ", el("kbd", {}, "e"), " edit · ",
      el("kbd", {}, "j"), "/", el("kbd", {}, "k"), " next / previous · ", el("kbd", {}, "u"), " undo · ",
      el("kbd", {}, "/"), " search",
    ),
  );
  if (state.editing) {
    const box = ui.editBox.querySelector("textarea");
    box.value = item.decision === "fix" ? item.editedAnchor : item.anchor;
    box.focus();
    box.select();
  }
}

function select(i) {
  if (i < 0 || i >= state.items.length) return;
  state.idx = i;
  state.editing = false;
  renderList();
  renderDetail();
}

async function move(step) {
  const next = state.idx + step;
  if (next >= state.items.length && (await loadMore())) renderList();
  select(Math.max(0, Math.min(state.items.length - 1, next)));
}

function startEdit() {
  if (!state.items[state.idx]) return;
  state.editing = true;
  renderDetail();
}

function cancelEdit() {
  state.editing = false;
  renderDetail();
}

function saveEdit() {
  const text = ui.editBox.querySelector("textarea").value.trim();
  if (!text) {
    banner("warn", "The edited question is empty; write the corrected question, or press Esc.", { timeout: 4000 });
    return;
  }
  state.editing = false;
  decide("edit", text);
}

function replaceItem(item) {
  const i = state.items.findIndex((x) => x.id === item.id);
  if (i >= 0) state.items[i] = item;
}

/**
 * Actions run one after another, in the order the keys were pressed: a fast reviewer's "a a r" decides three
 * pairs, none is dropped while the previous one is being saved.
 */
let queue = Promise.resolve();
function enqueue(f) {
  queue = queue.then(f, f);
  return queue;
}

/** Saves a decision for the current pair (or `target`), then moves on to the next pending pair. */
function decide(action, anchor, target, options) {
  return enqueue(() => save(action, anchor, target, options));
}

async function save(action, anchor, target, { advance = true, record = true } = {}) {
  const item = target || state.items[state.idx];
  if (!item) return;
  state.busy = true;
  try {
    const res = await api(`/api/review/${encodeURIComponent(item.id)}`, {
      method: "POST",
      body: { decision: action, anchor, version: item.version },
    });
    if (record) state.undo.push({ id: item.id, decision: item.decision, editedAnchor: item.editedAnchor });
    replaceItem(res.item);
    state.counts = res.counts;
    state.revision = res.revision;
    if (advance) {
      const after = state.items.findIndex((x, i) => i > state.idx && x.decision === "pending" && !x.problem);
      if (after >= 0) state.idx = after;
      else if (state.idx < state.items.length - 1) state.idx++;
    }
    render();
  } catch (err) {
    if (err.status === 409 && err.body && err.body.current) {
      replaceItem(err.body.current);
      render();
      banner("warn", err.message, { timeout: 12000 });
    } else banner("error", `Not saved: ${err.message}`, { timeout: 12000 });
  } finally {
    state.busy = false;
  }
}

/** Puts the last decided pair back to what it was before (the server writes that too). */
function undo() {
  return enqueue(undoNow);
}

async function undoNow() {
  const last = state.undo.pop();
  if (!last) {
    banner("info", "Nothing to undo.", { timeout: 2500 });
    return;
  }
  let i = state.items.findIndex((x) => x.id === last.id);
  let item = state.items[i];
  if (!item) {
    try {
      item = await api(`/api/review/${encodeURIComponent(last.id)}`);
    } catch (err) {
      banner("error", `Cannot undo: ${err.message}`);
      return;
    }
  } else state.idx = i;
  const action = last.decision === "fix" ? "edit" : last.decision;
  await save(action, last.decision === "fix" ? last.editedAnchor : undefined, item, { advance: false, record: false });
  i = state.items.findIndex((x) => x.id === last.id);
  if (i >= 0) select(i);
}

document.addEventListener("keydown", (ev) => {
  const t = ev.target;
  const typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT");
  if (state.editing && t && t.tagName === "TEXTAREA") {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      saveEdit();
    } else if (ev.key === "Escape") {
      ev.preventDefault();
      cancelEdit();
    }
    return;
  }
  if (typing) {
    if (ev.key === "Escape") t.blur();
    return;
  }
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const keys = {
    a: () => decide("accept"),
    r: () => decide("reject"),
    e: () => enqueue(startEdit),
    j: () => enqueue(() => move(1)),
    ArrowDown: () => enqueue(() => move(1)),
    k: () => enqueue(() => move(-1)),
    ArrowUp: () => enqueue(() => move(-1)),
    u: undo,
    "/": () => ui.search.focus(),
  };
  const f = keys[ev.key];
  if (f) {
    ev.preventDefault();
    f();
  }
});

/** Another tab, another app or a spreadsheet changed the sheet: show the change (the server already reloaded it). */
async function poll() {
  if (state.busy || state.editing || document.hidden) return;
  const seen = state.revision;
  try {
    const page = await api(query(0, 1));
    if (state.revision !== seen) return; // this tab wrote meanwhile: its own answer has the newer revision
    if (state.revision && page.revision !== state.revision) {
      await load({ keep: true });
      banner("info", "The sheet changed outside this tab (another tab, or the file on disk); the list was reloaded.", { timeout: 6000 });
    }
  } catch {
    // the next poll tries again; errors show when the person acts
  }
}

build();
showWhere().then((info) => {
  if (info && info.review && info.review.notice) banner("warn", info.review.notice);
});
load({ keep: false }).then(() => setInterval(poll, 2500));
