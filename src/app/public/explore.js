// Explore page: one query, every system's top passages side by side; the relevant passage marked for the
// dataset's own questions, with the rank each system gave it.
"use strict";

const root = document.getElementById("page");
const ui = {};
const state = { query: "", k: 10, results: null, examples: null };

function build() {
  ui.input = el("input", { type: "search", id: "query", placeholder: "Ask a question about the documents", "aria-label": "Question" });
  ui.form = el(
    "form",
    { class: "search", onsubmit: (ev) => { ev.preventDefault(); search(ui.input.value); } },
    ui.input,
    el("button", { class: "primary", type: "submit" }, "Search"),
  );
  ui.status = el("div", { class: "small muted", id: "status" });
  ui.known = el("div", { id: "known" });
  ui.columns = el("div", { class: "columns", id: "columns" });
  ui.more = el("div", { class: "row", style: "justify-content:center;margin-top:10px" });
  ui.examples = el("div", { id: "examples" });
  fill(root, el("div", { class: "card" }, ui.form, ui.status), ui.known, ui.columns, ui.more, ui.examples);
}

async function info() {
  const i = await showWhere();
  if (!i) return;
  const e = i.explore;
  if (e.status === "ready")
    fill(ui.status, `${e.passages} passages of ${e.dataset}; systems: ${e.systems.map((s) => `${s.name} (${s.model})`).join(", ")}`);
  else if (e.status === "loading") {
    fill(ui.status, "Loading the models and the corpus index ...");
    setTimeout(info, 1500);
  } else fill(ui.status, el("span", { class: "badge invalid" }, e.status), ` ${e.error || ""}`);
  return e.status;
}

async function search(q, { offset = 0 } = {}) {
  q = (q || "").trim();
  if (!q) return;
  state.query = q;
  ui.input.value = q;
  const url = new URL(location.href);
  if (url.searchParams.get("q") !== q) {
    url.searchParams.set("q", q);
    history.pushState(null, "", url);
  }
  if (offset === 0) fill(ui.columns, el("div", { class: "muted" }, "Searching ..."));
  let res;
  try {
    res = await api(`/api/search?${new URLSearchParams({ q, k: String(state.k), offset: String(offset) })}`);
  } catch (err) {
    fill(ui.columns, el("div", { class: "banner error" }, err.message));
    return;
  }
  if (offset > 0 && state.results) {
    res.systems.forEach((s, i) => state.results.systems[i].hits.push(...s.hits));
    state.results.offset = offset;
  } else state.results = res;
  render();
}

function render() {
  const r = state.results;
  if (r.known) {
    fill(
      ui.known,
      el(
        "div",
        { class: "banner info", id: "known-banner" },
        `A question of the dataset (${r.known.split} split, id ${r.known.queryId}): `,
        `${r.known.relevant.length} relevant passage${r.known.relevant.length > 1 ? "s" : ""} (${r.known.relevant.join(", ")}), marked in green.`,
      ),
    );
  } else fill(ui.known, el("div", { class: "small muted", style: "margin-top:8px" }, "Not one of the dataset's questions: no passage is marked relevant."));
  ui.columns.style.gridTemplateColumns = `repeat(${r.systems.length}, minmax(240px, 1fr))`;
  fill(
    ui.columns,
    r.systems.map((s) =>
      el(
        "section",
        { class: "card column", dataset: { system: s.name } },
        el(
          "div",
          { class: "head" },
          el("h3", {}, s.name),
          el("div", { class: "small muted" }, s.model === "-" ? "lexical (BM25, k1 1.2, b 0.75)" : s.model),
          r.known
            ? el(
                "div",
                { class: "small", style: "margin-top:4px" },
                s.rank ? el("span", { class: `badge ${s.rank === 1 ? "relevant" : ""}`, dataset: { rank: String(s.rank) } }, `relevant at rank ${s.rank}`)
                  : el("span", { class: "badge invalid", dataset: { rank: "none" } }, `relevant not in the top ${s.depth}`),
              )
            : null,
        ),
        s.hits.map((h) =>
          el(
            "article",
            { class: `hit${h.relevant ? " relevant" : ""}`, dataset: { id: h.id } },
            el("div", { class: "meta" }, el("span", {}, `#${h.rank}${h.relevant ? " ✔ relevant" : ""}`), el("span", { title: "score" }, s.name === "BM25" && h.score === 0 ? "0 (no query word)" : fmt(h.score, 4))),
            el("div", { class: "title" }, h.title || h.id),
            el("div", { class: "text", title: "click to expand", onclick: (ev) => ev.currentTarget.classList.toggle("open") }, h.text),
          ),
        ),
      ),
    ),
  );
  const shown = r.offset + r.k;
  fill(
    ui.more,
    shown < r.corpusSize
      ? el("button", { onclick: () => search(state.query, { offset: shown }) }, `Show ranks ${shown + 1}–${Math.min(shown + r.k, r.corpusSize)}`)
      : null,
  );
}

async function examples() {
  let ex;
  try {
    ex = await api("/api/examples");
  } catch (err) {
    fill(ui.examples, el("div", { class: "small muted" }, `Examples unavailable: ${err.message}`));
    return;
  }
  if (!ex.models.length) {
    fill(ui.examples, el("div", { class: "card small muted", style: "margin-top:12px" }, "No fine-tuned model under runs/ yet (notebook 03 trains one): no questions fine-tuning fixed or broke to show."));
    return;
  }
  const list = (items, which) =>
    items.length
      ? el("ul", {}, items.map((q) =>
          el(
            "li",
            {},
            el("a", { href: `?q=${encodeURIComponent(q.text)}`, onclick: (ev) => { ev.preventDefault(); search(q.text); window.scrollTo(0, 0); } }, q.text),
            el("span", { class: "small muted" }, `  rank ${q.baseRank ?? ">100"} → ${q.tunedRank ?? ">100"}`),
          ),
        ))
      : el("div", { class: "small muted" }, `No question ${which}.`);
  fill(
    ui.examples,
    ex.models.map((m) =>
      el(
        "div",
        { class: "card", style: "margin-top:12px" },
        el("h3", { style: "margin:0" }, `What ${m.system} changed on the ${ex.split} split`),
        el("div", { class: "small muted" }, `${ex.queries} held-out questions, measured now: ${m.improved} ranked their passage higher than the base model, ${m.worsened} lower. Click a question to search it.`),
        el(
          "div",
          { class: "examples" },
          el("div", {}, el("strong", {}, "Fixed: first with fine-tuning, not before"), list(m.fixed, "fixed")),
          el("div", {}, el("strong", {}, "Broke: first before, not after"), list(m.broke, "broken")),
        ),
      ),
    ),
  );
}

build();
window.addEventListener("popstate", () => {
  const q = new URLSearchParams(location.search).get("q");
  if (q) search(q);
});
info().then((status) => {
  const q = new URLSearchParams(location.search).get("q");
  if (q) search(q);
  if (status !== "unavailable" && status !== "failed") examples();
});
