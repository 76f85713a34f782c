// The page of one security at #security/SYMBOL: its price chart from the stored history, its
// metrics with where they came from and how old they are, its score and components, its target
// and band, our trades of it and its open orders. Uses chart.js's lineChart and app.js's helpers
// ($, api, cell, fillRows, pct, points).
"use strict";

const HASH_PREFIX = "#security/";

function age(hours) {
  if (hours == null) return "–";
  if (hours < 1) return "under an hour";
  if (hours < 48) return Math.round(hours) + " h";
  return Math.round(hours / 24) + " days";
}

// The daily closes as the dashboard's line chart (chart.js), in the security's currency.
function priceChart(history, currency, width) {
  const first = history[0], last = history[history.length - 1];
  return lineChart(history.map((h) => h.date), [{ strategy: "close", values: history.map((h) => h.close) }], width, {
    titleId: "security-chart-title",
    summary: "Daily close from " + first.date + " to " + last.date + ": " + first.close + " to " + last.close + " " +
      currency + " (" + history.length + " days)",
    format: (v) => String(Number(v.toPrecision(6))),
  });
}

function describeTarget(t) {
  if (!t) return "Not in the universe the planner plans for.";
  if (t.target == null) return "No target: no targeted group covers it, so the planner keeps its weight (" + pct(t.weight) + ").";
  const where = t.outside_band ? "outside its band: the planner trades it" : "inside its band";
  return "Weight " + pct(t.weight) + " against a target of " + pct(t.target) + " ± " + points(t.band) +
    " (drift " + (t.drift >= 0 ? "+" : "−") + points(Math.abs(t.drift)) + ", " + where + ")" + (t.note ? ". " + t.note : ".");
}

let shownSecurity = null;

// The price chart at the width it is shown at (again when the window turns or resizes).
function drawPrice() {
  const chart = $("security-chart");
  const data = shownSecurity;
  if (!data || $("security").hidden) return;
  if (data.history.length > 1) {
    chart.innerHTML = priceChart(data.history, data.currency, Math.max(240, Math.min(900, chart.clientWidth || 600)));
  } else {
    chart.textContent = "No price history stored yet: it grows by a day each day the quotes are synced, " +
      "or can be imported with `trading-planner import prices FILE`.";
  }
}

async function showSecurity(symbol) {
  const section = $("security");
  section.hidden = false;
  $("security-title").textContent = symbol;
  const { status, data } = await api("GET", "/api/securities/" + encodeURIComponent(symbol) + "?days=365");
  if (status !== 200) {
    shownSecurity = null;
    $("security-facts").textContent = detailText(data);
    for (const id of ["security-chart", "security-target", "security-provenance"]) $(id).textContent = "";
    for (const id of ["security-score", "security-metrics", "security-trades", "security-orders"]) fillRows(id, []);
    return;
  }
  $("security-title").textContent = data.symbol + " — " + data.name;
  $("security-facts").textContent = [data.currency, data.country, data.industry].filter(Boolean).join(" · ") +
    (data.price ? " · last price " + data.price + " " + data.currency : "");
  shownSecurity = data;
  drawPrice();
  $("security-target").textContent = describeTarget(data.target);

  const p = data.provenance;
  $("security-provenance").textContent = !p ? "" : p.not_enough_history
    ? "No valid metrics and not enough price history (" + p.history_days + " days): the planner does not buy it rather than score it as average."
    : "Metrics from " + p.sources.join(", ") + "; the oldest is " + age(p.age_hours) + " old; " + p.history_days + " days of price history stored.";
  const score = data.score;
  fillRows("security-score", score ? [[cell("total"), cell(score.total.toFixed(3), "num")],
    ...Object.entries(score.components).map(([k, v]) => [cell(k.replaceAll("_", " ")), cell(v.toFixed(3), "num")])] : []);
  $("security-score-at").textContent = score ? "Scored " + score.calculated_at.replace("T", " ").slice(0, 16) : "No score yet.";
  fillRows("security-metrics", data.metrics.map((m) => [
    cell(m.name), cell(Number(m.value.toPrecision(6)), "num"), cell(m.source), cell(age(m.age_hours), "num"),
    cell(m.expired ? "expired" : "valid", m.expired ? "stale" : "")]));
  fillRows("security-trades", data.trades.map((t) => [
    cell(t.executed_at.replace("T", " ").slice(0, 16)), cell(t.side.toLowerCase()), cell(t.quantity, "num"),
    cell(t.price + " " + t.currency, "num"), cell(t.source)]));
  fillRows("security-orders", [
    ...data.broker_orders.map((o) => [cell(o.broker_id), cell(o.kind, o.margin ? "margin" : ""), cell(o.quantity, "num"),
      cell(o.price + " " + o.currency, "num"), cell("open at the broker")]),
    ...data.orders.map((o) => [cell(o.broker_order_id || "#" + o.id), cell(o.side.toLowerCase()), cell(o.quantity, "num"),
      cell(o.price + " " + o.currency, "num"), cell(o.status)])]);
}

function route() {
  const hash = decodeURIComponent(location.hash);
  if (hash.startsWith(HASH_PREFIX)) {
    showSecurity(hash.slice(HASH_PREFIX.length)).then(() => $("security").scrollIntoView());
  } else {
    $("security").hidden = true;
  }
}

window.addEventListener("hashchange", route);
let resizing = false;
window.addEventListener("resize", () => {
  if (resizing) return;
  resizing = true;
  requestAnimationFrame(() => { resizing = false; drawPrice(); });
});
document.addEventListener("DOMContentLoaded", route);
