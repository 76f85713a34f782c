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
  return Promise.all([loadValue(), loadPortfolio(), loadOrders(), loadPlan(), loadHistory(), loadBacktest(), loadHealth(), loadSettings(), loadLedger()])
    .catch((e) => showError("Could not reach the planner: " + e.message));
}

// ---- value over time ------------------------------------------------------------------------

// The daily values (GET /api/portfolio/history) as a line, deposits marked, and the
// time-weighted returns; returns are not annualised.
async function loadValue() {
  const { status, data } = await api("GET", "/api/portfolio/history");
  if (status !== 200) { $("value-note").textContent = "Value history: " + detailText(data); return; }
  $("twr-1m").textContent = pct(data.twr.one_month);
  $("twr-1y").textContent = pct(data.twr.one_year);
  $("twr-start").textContent = pct(data.twr.since_start);
  const points = data.points;
  const box = $("value-chart");
  if (!points.length) {
    box.replaceChildren();
    $("value-note").textContent = "No daily value yet: the service records one each day.";
    return;
  }
  const dates = points.map((p) => p.date);
  const marks = points.flatMap((p, index) => (p.deposit_eur > 0 ? [{ index, label: p.date + ": deposit " + eur.format(p.deposit_eur) }] : []));
  const backfilled = points.filter((p) => p.backfilled).length;
  const last = points[points.length - 1];
  const summary = "Portfolio value from " + dates[0] + " to " + last.date + ": " + eur.format(points[0].value_eur) +
    " to " + eur.format(last.value_eur) + "; " + marks.length + " deposit days marked";
  box.innerHTML = lineChart(dates, [{ strategy: "value", values: points.map((p) => p.value_eur) }],
    Math.max(280, Math.min(900, box.clientWidth || 600)), { titleId: "value-chart-title", summary, marks });
  $("value-note").textContent = points.length + (points.length === 1 ? " day" : " days") + (backfilled ? ", " + backfilled + " of them back-filled from the price history (today's positions taken back through the trades, each day's FX rate where stored)" : "") +
    (marks.length ? "; points mark deposits." : ".");
}

// ---- portfolio ------------------------------------------------------------------------------

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// A symbol that opens its page (security.js).
function symbolCell(symbol) {
  const td = document.createElement("td");
  const link = document.createElement("a");
  link.href = "#security/" + encodeURIComponent(symbol);
  link.textContent = symbol;
  td.append(link);
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

const points = (x) => (x * 100).toFixed(1) + " pp";

// Weights against targets as inline SVG, one row per group or security: the target's band as a
// shaded span, the target as a line, the weight as a bar — in the warning colour when it lies
// outside its band, which is when the planner trades it.
function targetChart(id, rows, caption) {
  // Drawn at the width it is shown at, so its labels keep their size on a phone; a closed
  // <details> has no width yet and takes its section's.
  const root = $(id);
  const shown = root.clientWidth || root.closest("section").clientWidth - 32;
  const width = Math.max(300, Math.round(shown));
  const rowHeight = 22, labelWidth = Math.round(width * 0.3), valueWidth = 96;
  const plotWidth = width - labelWidth - valueWidth - 6;
  const short = (text) => (text.length > labelWidth / 7 ? text.slice(0, Math.floor(labelWidth / 7) - 1) + "…" : text);
  const max = Math.max(0.01, ...rows.map((r) => Math.max(r.weight, r.target + r.band)));
  const x = (v) => (labelWidth + plotWidth * Math.max(0, v) / max).toFixed(1);
  const parts = rows.map((r, i) => {
    const y = i * rowHeight;
    const said = r.label + ": " + pct(r.weight) + ", target " + pct(r.target) + " ± " + points(r.band) +
      (r.outside_band ? ", outside its band by " + points(Math.abs(r.drift) - r.band) : ", inside its band");
    return '<g class="target-row' + (r.outside_band ? " out" : "") + '" data-label="' + svgEscape(r.label) + '">' +
      "<title>" + svgEscape(said) + "</title>" +
      '<text x="0" y="' + (y + 15) + '">' + svgEscape(short(r.label)) + "</text>" +
      '<rect class="track" x="' + labelWidth + '" y="' + (y + 4) + '" width="' + plotWidth + '" height="14"/>' +
      '<rect class="band" x="' + x(r.target - r.band) + '" y="' + (y + 2) + '" width="' +
        (x(r.target + r.band) - x(r.target - r.band)).toFixed(1) + '" height="18"/>' +
      '<rect class="weight" x="' + labelWidth + '" y="' + (y + 7) + '" width="' + (x(r.weight) - labelWidth).toFixed(1) + '" height="8"/>' +
      '<line class="target" x1="' + x(r.target) + '" x2="' + x(r.target) + '" y1="' + (y + 1) + '" y2="' + (y + 21) + '"/>' +
      '<text class="value" x="' + width + '" y="' + (y + 15) + '" text-anchor="end">' +
        svgEscape(pct(r.weight) + " / " + pct(r.target)) + "</text></g>";
  }).join("");
  root.innerHTML = '<svg class="targets" viewBox="0 0 ' + width + " " + Math.max(rowHeight, rows.length * rowHeight) +
    '" role="img" aria-label="' + svgEscape(caption) + '">' + parts + "</svg>";
}

// GET /api/targets: groups by country and industry, and every security with a target or a weight.
async function loadTargets() {
  const { status, data } = await api("GET", "/api/targets");
  if (status !== 200) { showError("Targets: " + detailText(data)); return; }
  const groups = (kind) => data.groups.filter((g) => g.kind === kind).map((g) => ({ ...g, label: g.group }));
  const outside = (rows) => rows.filter((r) => r.outside_band).length;
  for (const kind of ["country", "industry"]) {
    const rows = groups(kind);
    targetChart("alloc-" + kind, rows, "By " + kind + " group: weight against target and band; " +
      outside(rows) + " of " + rows.length + " outside their bands");
  }
  const securities = data.securities.filter((s) => s.target > 0 || s.weight > 0)
    .map((s) => ({ ...s, label: s.symbol }));
  targetChart("alloc-security", securities, "Per security: weight against target and band; " +
    outside(securities) + " of " + securities.length + " outside their bands");
  $("alloc-security-count").textContent = outside(securities) + " of " + securities.length + " outside their bands";
  $("alloc-cash").textContent = "Cash " + pct(data.cash.weight) + " against a reserve of " + pct(data.cash.reserve) +
    (data.cash.idle > 0 ? "; " + pct(data.cash.idle) + " of the portfolio is idle and will be invested" : "") +
    ". Risk profile: " + data.risk_profile + ".";
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
    symbolCell(p.symbol), cell(p.name || ""), cell(p.quantity, "num"),
    cell(p.value_eur == null ? "–" : eur.format(p.value_eur), "num"), cell(pct(p.weight), "num"),
    cell(pct(p.target_weight), "num"),
    cell(pct(p.pnl_pct), "num " + (p.pnl_pct > 0 ? "gain" : p.pnl_pct < 0 ? "loss" : "")),
  ]));
  await loadTargets();
}

// The broker's open orders (a buy on margin or a short sale named as such), ours not yet
// confirmed by the broker, and the ones nobody can attribute, which block live orders.
async function loadOrders() {
  const { status, data } = await api("GET", "/api/orders");
  if (status !== 200) return;
  const warning = $("orders-warning");
  warning.hidden = !data.warning;
  warning.textContent = data.warning || "";
  const known = new Set(data.broker_orders.map((o) => o.broker_id));
  const kind = (text, margin) => cell(text, margin ? "margin" : "");
  const rows = data.broker_orders.map((o) => [
    cell(o.broker_id), cell(o.symbol), kind(o.kind, o.margin), cell(o.quantity, "num"),
    cell(o.price + " " + o.currency, "num"), cell("open at the broker")]);
  for (const o of data.orders.filter((o) => o.status === "open" && !known.has(o.broker_order_id))) {
    rows.push([cell(o.broker_order_id || "#" + o.id), cell(o.symbol), kind(o.side.toLowerCase(), false),
      cell(o.quantity, "num"), cell(o.price + " " + o.currency, "num"),
      cell(o.broker_order_id ? "open" : "sent, awaiting the broker's confirmation")]);
  }
  for (const id of data.unattributable) {
    rows.push([cell(id || "no id"), cell("?"), cell("unreadable", "margin"), cell("?", "num"), cell("?", "num"),
      cell("blocks live orders")]);
  }
  fillRows("open-orders", rows);
}

// ---- plan -----------------------------------------------------------------------------------

function renderPlan(plan) {
  const steps = $("plan-steps");
  if (!plan) {
    $("plan-meta").textContent = "No plan yet.";
    $("plan-scores").textContent = "";
    steps.replaceChildren();
    steps.hidden = true;
    $("plan-narrative").textContent = "";
    $("plan-narrative").hidden = true;
    $("plan-rejected").querySelector("ul").replaceChildren();
    $("plan-rejected").hidden = true;
    return;
  }
  const stale = plan.details.data && plan.details.data.stale || [];
  $("plan-meta").textContent = "Plan " + plan.id + ", made " + plan.created_at.replace("T", " ").slice(0, 16) +
    " on data taken " + (plan.details.data ? plan.details.data.taken_at.replace("T", " ").slice(0, 16) : "?") +
    (stale.length ? " — stale: " + stale.join(", ") : "");
  $("plan-meta").className = stale.length ? "stale" : "muted";
  const before = plan.score_before, after = plan.score_after;
  // Plan scores are 0–100 (docs/api.md). Without trades the score cannot move, and a
  // "+0.0 points" would read as if something happened.
  $("plan-scores").textContent = plan.steps.length
    ? "Score " + before.toFixed(1) + " → " + after.toFixed(1) +
      " (" + (after >= before ? "+" : "") + (after - before).toFixed(1) + " points)"
    : "Score " + before.toFixed(1) + ", unchanged: no trades.";
  const details = plan.details.steps_detail || [];
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
    const detail = details[s.step - 1];
    if (detail && detail.symbol === s.symbol) li.append(stepFigures(detail));
    return li;
  }));
  // An empty plan has no list: the planner's sentence (inside the bands, or no trade worth its
  // fees) below is the whole plan.
  steps.hidden = !plan.steps.length;
  const narrative = plan.details.narrative || (plan.steps.length ? "" : "No trades.");
  $("plan-narrative").textContent = narrative;
  $("plan-narrative").hidden = !narrative;
  const rejected = plan.details.rejected || [];
  $("plan-rejected").hidden = !rejected.length;
  $("plan-rejected").querySelector("ul").replaceChildren(...rejected.slice(0, 50).map((r) => {
    const li = document.createElement("li");
    li.textContent = r.symbol + ": " + (r.message || r.reason || JSON.stringify(r));
    return li;
  }));
}

const money = (amount, currency) => amount.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + " " + currency;

// A step's figures from the plan's own data: its weight before and after against its target and
// band, its fee, and the cash of its currency it uses or adds (with any conversion from EUR).
function stepFigures(d) {
  const list = document.createElement("dl");
  list.className = "step-figures";
  const add = (term, text) => {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = text;
    list.append(dt, dd);
  };
  add("Weight", pct(d.weight_before) + " → " + pct(d.weight_after) + " (target " + pct(d.target) + " ± " + points(d.band) + ")");
  add("Fee", money(d.fee_eur, "EUR"));
  const amount = d.quantity * d.price;
  if (d.side === "SELL") {
    add("Cash", "adds " + money(amount, d.currency) + " to the " + money(d.cash_before, d.currency) + " held");
  } else {
    add("Cash", "pays " + money(amount, d.currency) + " and the fee from the " + money(d.cash_before, d.currency) + " held" +
      (d.converted_amount > 0 ? ", converting " + money(d.converted_eur, "EUR") + " into " +
        money(d.converted_amount, d.currency) + " first" + (d.rate_date ? " (rate of " + d.rate_date + ")" : "") : ""));
  }
  return list;
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

// ---- backtest -------------------------------------------------------------------------------

// The contract's figures (docs/backtest.md) in its order, with how each reads.
const FIGURES = {
  twr_annual: pct, volatility: pct, max_drawdown: pct, turnover: pct,
  fees_eur: (x) => eur.format(x), trades: String, avg_distance_pp: (x) => x.toFixed(2) + " pp",
  peak_weight: pct, avg_idle_cash: pct, unexecutable_steps: String, final_value_eur: (x) => eur.format(x),
};
let backtestId = null;
let backtestEndedId = null;
let backtestReport = null;

function renderBacktestRun() {
  const run = backtestReport.runs[Number($("bt-select").value) || 0];
  const order = backtestReport.strategy_order;
  const series = order.map((name) => run.chart.series.find((s) => s.strategy === name));
  $("bt-chart").innerHTML = lineChart(run.chart.dates, series, Math.max(280, Math.min(900, $("bt-chart").clientWidth || 600)));
  $("bt-legend").replaceChildren(...series.map((s, k) => {
    const li = document.createElement("li");
    li.innerHTML = '<svg width="28" height="10" aria-hidden="true"><line class="s' + (k % 4) + '" x1="0" x2="28" y1="5" y2="5" stroke-width="2"/></svg>';
    li.append(s.strategy);
    return li;
  }));
  const head = document.createElement("tr");
  head.append(header("figure", "col"), ...order.map((name) => header(name, "col", "num")));
  $("bt-table").querySelector("thead").replaceChildren(head);
  // The contract's keys in its order, then any the server adds.
  const keys = [...new Set([...Object.keys(FIGURES), ...Object.keys(run.strategies[order[0]] || {})])];
  fillRows("bt-table", keys.map((key) => {
    return [header(key, "row"), ...order.map((name) => {
      const value = run.strategies[name][key];
      return cell(value == null ? "–" : (FIGURES[key] || String)(value), "num");
    })];
  }));
}

function header(text, scope, className) {
  const th = document.createElement("th");
  th.scope = scope;
  th.textContent = text;
  if (className) th.className = className;
  return th;
}

function runLabel(run) {
  return run.start + " to " + run.end + ", " + (run.monthly_deposit_eur ? eur.format(run.monthly_deposit_eur) + " a month" : "no deposits");
}

async function loadBacktestReport() {
  const { status, data } = await api("GET", "/api/backtests/latest");
  if (status !== 200) return;
  backtestReport = data;
  const select = $("bt-select");
  select.replaceChildren(...data.runs.map((run, i) => {
    const option = document.createElement("option");
    option.value = i;
    option.textContent = runLabel(run);
    return option;
  }));
  $("bt-meta").textContent = "Backtest " + data.backtest_id + ": " + data.runs.length + (data.runs.length === 1 ? " run" : " runs") + " in " + data.elapsed_secs.toFixed(1) + " s; fees " +
    eur.format(data.scenario.fee.fixed_eur) + " + " + pct(data.scenario.fee.rate) + " an order.";
  $("bt-result").hidden = false;
  renderBacktestRun();
}

function showBacktestProgress(p) {
  $("bt-progress").hidden = false;
  $("bt-bar").max = p.days_total || 1;
  $("bt-bar").value = p.days_done;
  $("bt-progress-text").textContent = "Backtest " + p.backtest_id + " " + p.state + ": " + p.days_done.toLocaleString() + " of " +
    p.days_total.toLocaleString() + " simulated days, " + p.elapsed_secs.toFixed(1) + " s" + (p.error ? ": " + p.error : "");
  const running = p.state === "running";
  backtestId = running ? p.backtest_id : null;
  $("bt-run").disabled = running;
  $("bt-cancel").hidden = !running;
}

async function backtestEnded(p) {
  backtestEndedId = p.backtest_id;
  showBacktestProgress(p);
  if (p.state === "finished") await loadBacktestReport();
}

async function loadBacktest() {
  const { status, data } = await api("GET", "/api/backtests/current");
  if (status !== 200) return;
  if (data.state === "running") { showBacktestProgress(data); if (!events) pollBacktest(); }
  if (data.latest_backtest_id != null) await loadBacktestReport();
  else $("bt-meta").textContent = "No backtest has finished yet.";
}

async function pollBacktest() {
  while (backtestId != null) {
    await new Promise((r) => setTimeout(r, 500));
    const { status, data } = await api("GET", "/api/backtests/current");
    if (status !== 200) continue;
    if (data.state === "running") showBacktestProgress(data); else await backtestEnded(data);
  }
}

async function runBacktest(event) {
  event.preventDefault();
  const body = {};
  if ($("bt-start").value) body.start = $("bt-start").value;
  if ($("bt-end").value) body.end = $("bt-end").value;
  if ($("bt-deposit").value.trim()) body.deposit = Number($("bt-deposit").value);
  const { status, data } = await api("POST", "/api/backtests", body);
  if (status !== 202 && status !== 409) { $("bt-meta").textContent = "Not started: " + detailText(data); return; }
  // A short backtest may have ended, and said so, before this answer arrived.
  if (data.backtest_id === backtestEndedId) return;
  showBacktestProgress({ backtest_id: data.backtest_id, state: "running", days_done: 0, days_total: 0, elapsed_secs: 0 });
  if (!events) pollBacktest();
}

async function cancelBacktest() {
  const { status, data } = await api("POST", "/api/backtests/current/cancel");
  if (status !== 202 && status !== 404) showError("Cancel: " + detailText(data));
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
  renderFx(data.fx);
  loadSecurityMetrics();
}

function renderFx(fx) {
  const title = document.createElement("h3");
  title.textContent = "FX rates" + (fx.source ? " — from " + fx.source : "");
  const info = document.createElement("p");
  info.className = fx.stale ? "stale" : "muted";
  info.textContent = fx.rates.length === 0 ? "no rates stored"
    : "oldest rate of " + fx.oldest_rate_date + (fx.stale ? " — STALE (older than " + fx.stale_days + " days)" : "");
  $("fx").replaceChildren(title, info);
}

async function loadSecurityMetrics() {
  const { status, data } = await api("GET", "/api/securities");
  if (status !== 200) return;
  $("security-metrics").querySelector("tbody").replaceChildren(...data.securities.filter((s) => s.active).map((s) => {
    const m = s.metrics || {};
    const row = document.createElement("tr");
    const source = m.not_enough_history ? "not enough price history — not bought" : m.sources.join(", ");
    for (const [text, numeric] of [[s.symbol, false], [source, false], [m.age_hours == null ? "" : m.age_hours.toFixed(1), true], [String(m.history_days ?? 0), true]]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      if (numeric) cell.className = "num";
      row.append(cell);
    }
    if (m.not_enough_history) row.className = "stale";
    return row;
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
    if (s.kind === "trading_mode" || s.kind === "choice") {
      input = document.createElement("select");
      for (const mode of s.kind === "choice" ? s.options : ["research", "live"]) {
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
    update[el.name] = kind === "trading_mode" || kind === "choice" ? el.value : (el.value.trim() !== "" && !Number.isNaN(number) ? number : el.value);
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

// A page the browser keeps for "back" (the back/forward cache) would hold its stream open, and
// a browser opens only six connections to a host: after a few visits the next page's requests
// would wait for ever. The stream closes when the page is hidden and reopens when it returns.
window.addEventListener("pagehide", () => { if (events) { events.close(); events = null; } });
window.addEventListener("pageshow", (e) => { if (e.persisted && !events) listen(); });

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
  events.addEventListener("backtest_progress", (e) => showBacktestProgress(JSON.parse(e.data)));
  events.addEventListener("backtest_finished", (e) => backtestEnded(JSON.parse(e.data)));
  events.addEventListener("upstream_state", () => loadHealth());
  events.onerror = () => {
    // Reads may need the token (auth.open_reads off); fall back to polling.
    if (events.readyState === EventSource.CLOSED) {
      events = null;
      if (runId != null) pollRun();
      if (backtestId != null) pollBacktest();
    }
  };
}

// ---- start ----------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("unlock").addEventListener("click", unlock);
  $("lock").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); applyAccess(); });
  $("plan-now").addEventListener("click", planNow);
  $("cancel").addEventListener("click", cancelRun);
  $("settings-form").addEventListener("submit", saveSettings);
  $("bt-form").addEventListener("submit", runBacktest);
  $("bt-cancel").addEventListener("click", cancelBacktest);
  $("bt-select").addEventListener("change", renderBacktestRun);
  // The chart is drawn at the width it is shown, so its labels keep their size.
  window.addEventListener("resize", () => { if (backtestReport) renderBacktestRun(); });
  applyAccess();
  listen();
  loadAll();
  setInterval(() => { loadPortfolio(); loadOrders(); loadHealth(); }, 60000);
});
