// The dashboard: reads the /api routes, and changes state only with the access token, kept in
// this tab's session storage.
"use strict";

const TOKEN_KEY = "trading-planner-token";
const $ = (id) => document.getElementById(id);
const eur = new Intl.NumberFormat(undefined, { style: "currency", currency: "EUR", maximumFractionDigits: 0 });
const pct = (x) => (x == null ? "–" : (x * 100).toFixed(1) + " %");

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
}

async function api(method, path, body) {
  const sent = token();
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (sent) headers["Authorization"] = "Bearer " + sent;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (response.status === 401) {
    // The token changed while this request was in flight (Unlock pressed while the first,
    // refused reads were still on their way): the refusal is about the old one, so ask again
    // with the new one rather than forgetting a token that was never tried.
    if (sent !== token()) return api(method, path, body);
    if (sent) {
      sessionStorage.removeItem(TOKEN_KEY);
    } else {
      // With auth.open_reads off, reads need the token too: say how to get in.
      data = { detail: "the access token is needed to read: press Unlock" };
    }
    applyAccess();
  }
  return { status: response.status, data };
}

function detailText(data) {
  if (!data || data.detail == null) return "unexpected answer";
  if (typeof data.detail === "string") return data.detail;
  return data.detail.map((e) => (e.loc || []).slice(1).join(".") + ": " + e.msg).join("; ");
}

// ---- access ---------------------------------------------------------------------------------

function applyAccess() {
  const unlocked = !!token();
  document.querySelectorAll(".needs-token").forEach((el) => { el.hidden = !unlocked; });
  $("unlock").hidden = unlocked;
  document.querySelectorAll("#settings-fields input, #settings-fields select").forEach((el) => { el.disabled = !unlocked; });
}

function unlock() {
  const value = window.prompt("Access token (printed on the first start; also in the data directory's access-token file):");
  if (value && value.trim()) {
    sessionStorage.setItem(TOKEN_KEY, value.trim());
    applyAccess();
    // What was refused without the token (closed reads) is read again with it.
    loadAll();
  }
}

function loadAll() {
  showError("");
  return Promise.all([loadPortfolio(), loadPlan(), loadHistory(), loadHealth(), loadSettings()])
    .catch((e) => showError("Could not reach the planner: " + e.message));
}

// ---- portfolio ------------------------------------------------------------------------------

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function fillRows(tableId, rows) {
  const body = $(tableId).querySelector("tbody");
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    tr.append(...cells);
    return tr;
  }));
}

function allocation(id, groups) {
  const root = $(id);
  const max = Math.max(0.01, ...groups.map((g) => Math.max(g.weight, g.target || 0)));
  root.replaceChildren(...groups.map((g) => {
    const row = document.createElement("div");
    row.className = "alloc-row";
    const name = document.createElement("span");
    name.textContent = g.group;
    const track = document.createElement("div");
    track.className = "alloc-track";
    track.setAttribute("role", "img");
    track.setAttribute("aria-label", g.group + ": " + pct(g.weight) + (g.target != null ? ", target " + pct(g.target) : ""));
    const fill = document.createElement("div");
    fill.className = "alloc-fill";
    fill.style.width = (100 * g.weight / max) + "%";
    track.append(fill);
    if (g.target != null) {
      const mark = document.createElement("div");
      mark.className = "alloc-target";
      mark.style.left = (100 * g.target / max) + "%";
      track.append(mark);
    }
    const value = document.createElement("span");
    value.className = "num";
    value.textContent = pct(g.weight);
    row.append(name, track, value);
    return row;
  }));
}

async function loadPortfolio() {
  const { status, data } = await api("GET", "/api/portfolio");
  if (status !== 200) { showError("Portfolio: " + detailText(data)); return; }
  $("total").textContent = eur.format(data.total_value_eur);
  $("invested").textContent = eur.format(data.invested_eur);
  $("cash-eur").textContent = eur.format(data.cash_eur);
  const mode = $("mode");
  mode.textContent = data.trading_mode === "live" ? "LIVE trading" : "research (paper) mode";
  mode.className = "badge" + (data.trading_mode === "live" ? " live" : "");
  $("stale").hidden = !data.data.some((d) => d.stale && d.source !== "demo");
  fillRows("cash", data.cash.map((c) => [cell(c.currency), cell(c.amount, "num"), cell(c.amount_eur == null ? "–" : eur.format(c.amount_eur), "num")]));
  fillRows("positions", data.positions.map((p) => [
    cell(p.symbol), cell(p.name || ""), cell(p.quantity, "num"),
    cell(p.value_eur == null ? "–" : eur.format(p.value_eur), "num"), cell(pct(p.weight), "num"),
    cell(pct(p.target_weight), "num"),
    cell(pct(p.pnl_pct), "num " + (p.pnl_pct > 0 ? "gain" : p.pnl_pct < 0 ? "loss" : "")),
  ]));
  allocation("alloc-country", data.allocation.country);
  allocation("alloc-industry", data.allocation.industry);
}

// ---- plan -----------------------------------------------------------------------------------

function renderPlan(plan) {
  const steps = $("plan-steps");
  if (!plan) {
    $("plan-meta").textContent = "No plan yet.";
    $("plan-scores").textContent = "";
    steps.replaceChildren();
    $("plan-narrative").textContent = "";
    $("plan-rejected").querySelector("ul").replaceChildren();
    return;
  }
  const stale = plan.details.data && plan.details.data.stale || [];
  $("plan-meta").textContent = "Plan " + plan.id + ", made " + plan.created_at.replace("T", " ").slice(0, 16) +
    " on data taken " + (plan.details.data ? plan.details.data.taken_at.replace("T", " ").slice(0, 16) : "?") +
    (stale.length ? " — stale: " + stale.join(", ") : "");
  $("plan-meta").className = stale.length ? "stale" : "muted";
  const before = plan.score_before, after = plan.score_after;
  // Plan scores are 0–100 (docs/api.md).
  $("plan-scores").textContent = "Score " + before.toFixed(1) + " → " + after.toFixed(1) +
    " (" + (after >= before ? "+" : "") + (after - before).toFixed(1) + " points)";
  steps.replaceChildren(...plan.steps.map((s) => {
    const li = document.createElement("li");
    const head = document.createElement("div");
    const side = document.createElement("span");
    side.className = "side";
    side.textContent = s.side + " ";
    head.append(side, document.createTextNode(s.quantity + " " + s.symbol + " — " + eur.format(Number(s.value_eur))));
    const narrative = document.createElement("div");
    narrative.textContent = s.narrative;
    const reason = document.createElement("div");
    reason.className = "muted";
    reason.textContent = "Reason: " + s.reason;
    li.append(head, narrative, reason);
    return li;
  }));
  if (!plan.steps.length) {
    const li = document.createElement("li");
    li.textContent = "No trade: nothing beats the portfolio as it is.";
    steps.append(li);
  }
  $("plan-narrative").textContent = plan.details.narrative || "";
  const rejected = plan.details.rejected || [];
  $("plan-rejected").querySelector("ul").replaceChildren(...rejected.slice(0, 50).map((r) => {
    const li = document.createElement("li");
    li.textContent = r.symbol + ": " + (r.message || r.reason || JSON.stringify(r));
    return li;
  }));
}

async function loadPlan() {
  // The list, not /api/plans/latest: "no plan yet" is then an empty list, not a 404 that the
  // browser would log as a failed request.
  const { status, data } = await api("GET", "/api/plans?limit=1");
  if (status !== 200) { showError("Plan: " + detailText(data)); return; }
  if (data.plans.length === 0) { renderPlan(null); return; }
  const full = await api("GET", "/api/plans/" + data.plans[0].id);
  if (full.status !== 200) { showError("Plan: " + detailText(full.data)); return; }
  renderPlan(full.data);
}

let runId = null;

function showProgress(p) {
  $("progress").hidden = false;
  const bar = $("progress-bar");
  bar.max = p.sequences_expected || 1;
  bar.value = Math.min(p.sequences_evaluated, bar.max);
  $("progress-text").textContent = p.phase + ": " + p.sequences_evaluated.toLocaleString() +
    (p.sequences_expected ? " of " + p.sequences_expected.toLocaleString() : "") + " sequences" +
    (p.best_score != null ? ", best score " + p.best_score.toFixed(2) : "") +
    ", " + p.elapsed_secs.toFixed(1) + " s";
}

async function runFinished(outcome) {
  runId = null;
  $("cancel").hidden = true;
  $("plan-now").disabled = false;
  $("progress-text").textContent = "Run " + outcome.run_id + " " + outcome.status +
    (outcome.error ? ": " + outcome.error : "");
  await Promise.all([loadPlan(), loadHistory()]);
}

async function planNow() {
  showError("");
  const { status, data } = await api("POST", "/api/plans", {});
  if (status === 409) { runId = data.run_id; }
  else if (status !== 202) { showError("Plan now: " + detailText(data)); return; }
  else { runId = data.run_id; }
  $("plan-now").disabled = true;
  $("cancel").hidden = false;
  $("progress").hidden = false;
  $("progress-text").textContent = "Run " + runId + " started…";
  if (!events) pollRun();
}

async function pollRun() {
  while (runId != null) {
    const { status, data } = await api("GET", "/api/runs/" + runId);
    if (status === 200 && data.state === "running") showProgress(data.progress);
    if (status === 200 && data.state === "finished") { await runFinished(data.outcome); return; }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function cancelRun() {
  if (runId == null) return;
  const { status, data } = await api("POST", "/api/runs/" + runId + "/cancel");
  if (status !== 202 && status !== 404) showError("Cancel: " + detailText(data));
}

// ---- history --------------------------------------------------------------------------------

function line(points, width, height, dashed) {
  if (points.length === 0) return "";
  const min = Math.min(...points), max = Math.max(...points);
  const span = max - min || 1;
  const step = points.length > 1 ? width / (points.length - 1) : 0;
  const path = points.map((v, i) => (i ? "L" : "M") + (i * step).toFixed(1) + " " + (height - 8 - (v - min) / span * (height - 16)).toFixed(1)).join(" ");
  return '<path d="' + path + '" fill="none" stroke="' + (dashed ? "#5a6470" : "#1f5fbf") + '" stroke-width="2"' + (dashed ? ' stroke-dasharray="6 4"' : "") + "/>";
}

async function loadHistory() {
  const { status, data } = await api("GET", "/api/plans?limit=100");
  if (status !== 200) return;
  const plans = data.plans.slice().reverse();
  const chart = $("history-chart");
  if (plans.length < 2) { chart.textContent = "History appears after two plans."; return; }
  const scores = plans.map((p) => p.score_after);
  const values = plans.map((p) => p.total_value_eur || 0);
  chart.innerHTML = '<svg viewBox="0 0 600 200" preserveAspectRatio="none" role="img" aria-label="' +
    plans.length + " plans, score from " + scores[0].toFixed(1) + " to " + scores[scores.length - 1].toFixed(1) + '">' +
    line(scores, 600, 200, false) + line(values, 600, 200, true) + "</svg>";
}

// ---- health ---------------------------------------------------------------------------------

async function loadHealth() {
  const { status, data } = await api("GET", "/api/upstreams");
  if (status !== 200) return;
  $("services").replaceChildren(...data.services.map((s) => {
    const box = document.createElement("div");
    box.className = "service";
    const title = document.createElement("h3");
    title.textContent = s.name + (s.configured ? " — breaker " + s.breaker : " — not configured");
    const info = document.createElement("p");
    info.className = "muted";
    info.textContent = (s.url || "no URL") + (s.last_error ? " · last error: " + s.last_error.message : "");
    const list = document.createElement("ul");
    list.append(...s.data.map((d) => {
      const li = document.createElement("li");
      li.textContent = d.kind + ": " + (d.refreshed_at ? d.refreshed_at.replace("T", " ").slice(0, 16) + " from " + d.source : "never refreshed") + (d.stale ? " — STALE" : "");
      if (d.stale && d.source !== "demo") li.className = "stale";
      return li;
    }));
    box.append(title, info, list);
    return box;
  }));
}

// ---- settings -------------------------------------------------------------------------------

async function loadSettings() {
  const { status, data } = await api("GET", "/api/settings");
  if (status !== 200) return;
  $("settings-fields").replaceChildren(...data.settings.map((s) => {
    const field = document.createElement("div");
    field.className = "field";
    const id = "setting-" + s.key;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = s.key;
    let input;
    if (s.kind === "trading_mode") {
      input = document.createElement("select");
      for (const mode of ["research", "live"]) {
        const option = document.createElement("option");
        option.value = mode;
        option.textContent = mode;
        input.append(option);
      }
    } else {
      input = document.createElement("input");
      input.type = "text";
      input.inputMode = "decimal";
    }
    input.id = id;
    input.name = s.key;
    input.value = s.value;
    input.dataset.kind = s.kind;
    input.dataset.original = s.value;
    const help = document.createElement("small");
    help.textContent = s.description + (s.min != null ? " (" + s.min + " to " + s.max + ")" : "");
    const problem = document.createElement("div");
    problem.className = "invalid";
    problem.id = id + "-problem";
    input.setAttribute("aria-describedby", problem.id);
    field.append(label, input, help, problem);
    return field;
  }));
  applyAccess();
}

async function saveSettings(event) {
  event.preventDefault();
  const update = {};
  document.querySelectorAll("#settings-fields input, #settings-fields select").forEach((el) => {
    $(el.id + "-problem").textContent = "";
    if (el.value === el.dataset.original) return;
    const kind = el.dataset.kind;
    const number = Number(el.value);
    update[el.name] = kind === "trading_mode" ? el.value : (el.value.trim() !== "" && !Number.isNaN(number) ? number : el.value);
  });
  if (update.trading_mode === "live" && !window.confirm("Switch to LIVE trading? Orders will reach the broker.")) return;
  if (Object.keys(update).length === 0) { $("settings-message").textContent = "Nothing changed."; return; }
  const { status, data } = await api("PUT", "/api/settings", update);
  if (status === 200) {
    $("settings-message").textContent = "Saved.";
    await Promise.all([loadSettings(), loadPortfolio()]);
    return;
  }
  $("settings-message").textContent = "Not saved: " + detailText(data);
  if (Array.isArray(data && data.detail)) {
    for (const e of data.detail) {
      const box = $("setting-" + (e.loc || [])[1] + "-problem");
      if (box) box.textContent = e.msg;
    }
  }
}

// ---- live events ----------------------------------------------------------------------------

let events = null;

function listen() {
  if (!window.EventSource) return;
  events = new EventSource("/api/events");
  events.addEventListener("planning_progress", (e) => {
    const p = JSON.parse(e.data);
    if (runId == null) { runId = p.run_id; $("cancel").hidden = !token(); }
    if (p.run_id === runId) showProgress(p);
  });
  events.addEventListener("planning_finished", (e) => {
    const outcome = JSON.parse(e.data);
    if (runId == null || outcome.run_id === runId) runFinished(outcome);
  });
  events.addEventListener("upstream_state", () => loadHealth());
  events.onerror = () => {
    // Reads may need the token (auth.open_reads off); fall back to polling.
    if (events.readyState === EventSource.CLOSED) { events = null; if (runId != null) pollRun(); }
  };
}

// ---- start ----------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("unlock").addEventListener("click", unlock);
  $("lock").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); applyAccess(); });
  $("plan-now").addEventListener("click", planNow);
  $("cancel").addEventListener("click", cancelRun);
  $("settings-form").addEventListener("submit", saveSettings);
  applyAccess();
  listen();
  loadAll();
  setInterval(() => { loadPortfolio(); loadHealth(); }, 60000);
});
