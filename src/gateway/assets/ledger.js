// The ledger section: trades and deposits from /api/ledger, filtered by its form and read a
// page at a time, and the CSV export of the same filters. Uses api(), cell(), detailText(),
// eur and token() of app.js, which is loaded first.
"use strict";

const LEDGER_FILTERS = ["kind", "symbol", "side", "from", "to"];
let ledgerNext = null;
let ledgerShown = 0;

// The form's filters as a query; empty fields are left out.
function ledgerQuery() {
  const query = new URLSearchParams();
  for (const name of LEDGER_FILTERS) {
    const value = $("ledger-" + name).value.trim();
    if (value) query.set(name, value);
  }
  return query;
}

function ledgerRow(e) {
  const tr = document.createElement("tr");
  const money = (text) => (text == null ? "–" : text + " " + e.currency);
  tr.append(
    cell(e.date.replace("T", " ").slice(0, 16)),
    cell(e.kind),
    cell(e.symbol || "–"),
    cell(e.side || "–"),
    cell(e.quantity || "–", "num"),
    cell(money(e.price), "num"),
    cell(money(e.amount), "num"),
    cell(e.value_eur == null ? "–" : eur.format(Number(e.value_eur)), "num"),
    cell(money(e.fee), "num"),
    cell(e.source || "–"),
  );
  return tr;
}

// The first page of the current filters, or with `more` the page after the rows shown.
async function loadLedger(more) {
  const query = ledgerQuery();
  const csv = query.toString();
  $("ledger-export").href = "/api/ledger.csv" + (csv ? "?" + csv : "");
  if (more === true && ledgerNext) query.set("before", ledgerNext);
  const { status, data } = await api("GET", "/api/ledger" + (query.toString() ? "?" + query : ""));
  const body = $("ledger-table").querySelector("tbody");
  if (status !== 200) {
    $("ledger-status").textContent = "Ledger: " + detailText(data);
    return;
  }
  const rows = data.entries.map(ledgerRow);
  if (more === true) body.append(...rows); else body.replaceChildren(...rows);
  ledgerShown = body.children.length;
  ledgerNext = data.next_before;
  $("ledger-more").hidden = !ledgerNext;
  $("ledger-status").textContent = ledgerShown === 0 ? "Nothing matches these filters."
    : ledgerShown + (ledgerShown === 1 ? " entry" : " entries") + (ledgerNext ? " shown; more below." : ".");
}

// With the token (closed reads), a plain link would be refused: the file is fetched with the
// token and handed to the browser as a download instead.
async function exportLedger(event) {
  const sent = token();
  if (!sent) return;
  event.preventDefault();
  const link = event.currentTarget;
  const response = await fetch(link.href, { headers: { "Authorization": "Bearer " + sent } });
  if (!response.ok) {
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    $("ledger-status").textContent = "Export: " + detailText(data);
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const download = document.createElement("a");
  download.href = url;
  download.download = "ledger.csv";
  document.body.append(download);
  download.click();
  download.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  $("ledger-form").addEventListener("submit", (event) => { event.preventDefault(); loadLedger(false); });
  $("ledger-more").addEventListener("click", () => loadLedger(true));
  $("ledger-export").addEventListener("click", exportLedger);
});
