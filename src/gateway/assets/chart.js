// Inline SVG charts of the dashboard, our own code: a line chart over dates with a few axis
// labels, optional labelled marks (the value chart's deposits) and a title for screen readers.
// Loaded before app.js, which uses these names.
"use strict";

const compactEur = new Intl.NumberFormat(undefined, { style: "currency", currency: "EUR", notation: "compact", maximumFractionDigits: 1 });
const chartEur = new Intl.NumberFormat(undefined, { style: "currency", currency: "EUR", maximumFractionDigits: 0 });

const svgEscape = (text) => String(text).replace(/[&<>"]/g, (c) => "&#" + c.charCodeAt(0) + ";");

// Step between axis labels: 1, 2 or 5 times a power of ten, giving about `count` labels.
function niceStep(span, count) {
  const raw = span / count, power = Math.pow(10, Math.floor(Math.log10(raw)));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
}

// One path per series ({strategy, values}) over shared ISO `dates`. Options: `titleId` (the
// SVG's accessible name), `summary` (its text; by default each series' first and last value),
// `marks` ([{index, label}] drawn as points on the first series, each with its own title),
// `format` (the value axis' labels; compact EUR by default).
function lineChart(dates, series, width, options) {
  const opts = options || {};
  const titleId = opts.titleId || "bt-chart-title";
  const height = 240, left = 56, right = 8, top = 8, bottom = 22;
  const values = series.flatMap((s) => s.values);
  let min = Math.min(...values), max = Math.max(...values);
  if (max === min) { max += 1; min -= 1; }
  const step = niceStep(max - min, 4);
  min = Math.floor(min / step) * step; max = Math.ceil(max / step) * step;
  const x = (i) => left + (dates.length > 1 ? i / (dates.length - 1) : 0) * (width - left - right);
  const y = (v) => top + (max - v) / (max - min) * (height - top - bottom);
  let parts = "";
  for (let v = min; v <= max + step / 2; v += step) {
    parts += '<line class="axis" x1="' + left + '" x2="' + (width - right) + '" y1="' + y(v).toFixed(1) + '" y2="' + y(v).toFixed(1) + '"/>' +
      '<text x="' + (left - 4) + '" y="' + (y(v) + 4).toFixed(1) + '" text-anchor="end">' + svgEscape((opts.format || compactEur.format)(v)) + "</text>";
  }
  // Years on the axis; months when the dates span less than two years.
  const days = dates.length > 1 ? (Date.parse(dates[dates.length - 1]) - Date.parse(dates[0])) / 864e5 : 0;
  const cut = days < 730 ? 7 : 4;
  const ticks = dates.map((d, i) => [d.slice(0, cut), i]).filter(([key], i) => i === 0 || key !== dates[i - 1].slice(0, cut));
  const every = Math.ceil(ticks.length / Math.max(1, Math.floor((width - left) / (cut === 4 ? 48 : 72))));
  ticks.filter((_, k) => k % every === 0).forEach(([key, i]) => {
    // Kept inside the drawing at both ends.
    const anchor = x(i) < left + 24 ? "start" : x(i) > width - right - 30 ? "end" : "middle";
    parts += '<text x="' + x(i).toFixed(1) + '" y="' + (height - 6) + '" text-anchor="' + anchor + '">' + key + "</text>";
  });
  series.forEach((s, k) => {
    parts += '<path class="s' + (k % 4) + '" d="' + s.values.map((v, i) => (i ? "L" : "M") + x(i).toFixed(1) + " " + y(v).toFixed(1)).join("") + '"/>';
  });
  // A single day draws no line: show it as a point.
  series.filter((s) => s.values.length === 1).forEach((s, k) => {
    parts += '<circle class="dot s' + (k % 4) + '" cx="' + x(0).toFixed(1) + '" cy="' + y(s.values[0]).toFixed(1) + '" r="3"/>';
  });
  (opts.marks || []).forEach((m) => {
    const v = series[0].values[m.index];
    parts += '<circle class="mark" cx="' + x(m.index).toFixed(1) + '" cy="' + y(v).toFixed(1) + '" r="4"><title>' + svgEscape(m.label) + "</title></circle>";
  });
  const summary = opts.summary || "Value from " + dates[0] + " to " + dates[dates.length - 1] + ": " +
    series.map((s) => s.strategy + " " + chartEur.format(s.values[0]) + " to " + chartEur.format(s.values[s.values.length - 1])).join("; ");
  return '<svg class="plot" viewBox="0 0 ' + width + " " + height + '" role="img" aria-labelledby="' + titleId + '">' +
    '<title id="' + titleId + '">' + svgEscape(summary) + "</title>" + parts + "</svg>";
}
