#!/usr/bin/env python3
"""A fake of the scoring service (external-contracts §2.4, §5, §8.5): exactly the routes of the
real service (`/scoring/score`, `/score/batch`, `/score/portfolio`, `/history/{isin}`,
`/health`); anything else answers 404 (or 405) and is recorded, and `GET /_unknown` lists those
calls so a test can fail when the binary calls a route the service does not have.

The real service has no metrics route: it writes its pre-computed metrics to its
`calculations.db`. With `--calculations-db PATH` the fake does the same: it creates the file
with the reference's schema (§4.3) and writes the metrics of its securities there.

Run: `python3 fake_scoring.py --port 0`; it prints `LISTENING <port>` once it serves.
"""

import os
import re
import sqlite3
import sys
import threading
from datetime import timedelta

# No __pycache__ beside the sources: the fakes run from the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import detail, json_response, method_not_allowed, not_found, validation_error  # noqa: E402

PREFIX = "/scoring"

# symbol -> isin, total score (0-1), group scores (0-1)
SCORES = {
    "AAPL.US": ("US0378331005", 0.712, {
        "long_term": 0.74, "fundamentals": 0.81, "opportunity": 0.42, "dividends": 0.35,
        "short_term": 0.55, "technicals": 0.6, "opinion": 0.7, "diversification": 0.5}),
    "ASML.EU": ("NL0010273215", 0.803, {
        "long_term": 0.86, "fundamentals": 0.88, "opportunity": 0.61, "dividends": 0.41,
        "short_term": 0.62, "technicals": 0.58, "opinion": 0.83, "diversification": 0.6}),
    "0700.HK": ("KYG875721634", 0.634, {
        "long_term": 0.66, "fundamentals": 0.72, "opportunity": 0.7, "dividends": 0.3,
        "short_term": 0.48, "technicals": 0.52, "opinion": 0.75, "diversification": 0.7}),
    "SHEL.UK": ("GB00BP6MXD84", 0.587, {
        "long_term": 0.52, "fundamentals": 0.64, "opportunity": 0.55, "dividends": 0.82,
        "short_term": 0.5, "technicals": 0.47, "opinion": 0.6, "diversification": 0.65}),
}

# TTL in days of each metric the scoring code writes (§5.1).
TTL_DAYS = {
    "CAGR_5Y": 7, "CAGR_10Y": 7, "SHARPE": 7, "SORTINO": 7,
    "MAX_DRAWDOWN": 1, "EMA_200": 1, "EMA_50": 1, "RSI_14": 1,
    "BB_LOWER": 1, "BB_MIDDLE": 1, "BB_UPPER": 1, "BB_POSITION": 1,
    "DISTANCE_FROM_EMA_200": 1, "HIGH_52W": 1, "LOW_52W": 1, "DISTANCE_FROM_52W_HIGH": 1,
    "MOMENTUM_30D": 1, "MOMENTUM_90D": 1,
    "PE_RATIO": 30, "FORWARD_PE": 30, "PROFIT_MARGIN": 30, "DEBT_TO_EQUITY": 30,
    "CURRENT_RATIO": 30, "DIVIDEND_YIELD": 30, "PAYOUT_RATIO": 30,
    "DIVIDEND_STABILITY": 1, "ANALYST_RECOMMENDATION": 1, "PRICE_TARGET_UPSIDE": 1,
}
YAHOO_SOURCED = {"DIVIDEND_YIELD", "PAYOUT_RATIO"}

# Units as §5.1 and §5.3 give them: fractions per year, negative drawdowns, prices in the
# security's currency. Only names the scoring code writes appear; CONSISTENCY_SCORE,
# FINANCIAL_STRENGTH, DIVIDEND_CONSISTENCY and VOLATILITY_ANNUAL never do.
METRICS = {
    "AAPL.US": {
        "CAGR_5Y": 0.182, "CAGR_10Y": 0.241, "SHARPE": 1.21, "MAX_DRAWDOWN": -0.274,
        "EMA_200": 184.7, "EMA_50": 191.3, "RSI_14": 58.2, "BB_LOWER": 186.1,
        "BB_MIDDLE": 192.4, "BB_UPPER": 198.7, "BB_POSITION": 0.722,
        "DISTANCE_FROM_EMA_200": 0.0568, "HIGH_52W": 199.6, "LOW_52W": 164.1,
        "DISTANCE_FROM_52W_HIGH": 0.022, "MOMENTUM_30D": 0.041, "MOMENTUM_90D": 0.087,
        "PE_RATIO": 31.4, "FORWARD_PE": 28.9, "PROFIT_MARGIN": 0.253, "DEBT_TO_EQUITY": 1.52,
        "CURRENT_RATIO": 0.99, "DIVIDEND_YIELD": 0.0045, "PAYOUT_RATIO": 0.15,
        "DIVIDEND_STABILITY": 0.9, "ANALYST_RECOMMENDATION": 0.72, "PRICE_TARGET_UPSIDE": 0.064,
    },
    "ASML.EU": {
        "CAGR_5Y": 0.214, "CAGR_10Y": 0.265, "SHARPE": 0.98, "SORTINO": 1.41,
        "MAX_DRAWDOWN": -0.391, "EMA_200": 689.2, "EMA_50": 711.8, "RSI_14": 44.6,
        "BB_LOWER": 671.0, "BB_MIDDLE": 708.3, "BB_UPPER": 745.6, "BB_POSITION": 0.421,
        "DISTANCE_FROM_EMA_200": 0.0191, "HIGH_52W": 1021.0, "LOW_52W": 605.4,
        "DISTANCE_FROM_52W_HIGH": 0.312, "MOMENTUM_30D": -0.027, "MOMENTUM_90D": 0.052,
        "PE_RATIO": 34.2, "FORWARD_PE": 27.5, "PROFIT_MARGIN": 0.284, "DEBT_TO_EQUITY": 0.31,
        "CURRENT_RATIO": 1.5, "DIVIDEND_YIELD": 0.0098, "PAYOUT_RATIO": 0.33,
        "DIVIDEND_STABILITY": 0.85, "ANALYST_RECOMMENDATION": 0.81, "PRICE_TARGET_UPSIDE": 0.19,
    },
    "0700.HK": {
        "CAGR_5Y": 0.031, "CAGR_10Y": 0.118, "SHARPE": 0.41, "MAX_DRAWDOWN": -0.612,
        "EMA_200": 352.9, "EMA_50": 376.4, "RSI_14": 63.9, "BB_LOWER": 360.2,
        "BB_MIDDLE": 374.8, "BB_UPPER": 389.4, "BB_POSITION": 0.87,
        "DISTANCE_FROM_EMA_200": 0.0927, "HIGH_52W": 392.0, "LOW_52W": 288.4,
        "DISTANCE_FROM_52W_HIGH": 0.0163, "MOMENTUM_30D": 0.058, "MOMENTUM_90D": 0.121,
        "PE_RATIO": 22.7, "FORWARD_PE": 18.3, "PROFIT_MARGIN": 0.297, "DEBT_TO_EQUITY": 0.44,
        "CURRENT_RATIO": 1.3, "DIVIDEND_YIELD": 0.0086, "PAYOUT_RATIO": 0.16,
        "ANALYST_RECOMMENDATION": 0.79, "PRICE_TARGET_UPSIDE": 0.21,
    },
    "SHEL.UK": {
        "CAGR_5Y": 0.096, "CAGR_10Y": 0.041, "SHARPE": 0.62, "MAX_DRAWDOWN": -0.468,
        "EMA_200": 26.1, "EMA_50": 26.6, "RSI_14": 51.3, "BB_POSITION": 0.55,
        "DISTANCE_FROM_EMA_200": 0.0287, "HIGH_52W": 28.9, "LOW_52W": 23.4,
        "DISTANCE_FROM_52W_HIGH": 0.071, "MOMENTUM_30D": 0.012, "MOMENTUM_90D": -0.018,
        "PE_RATIO": 12.8, "PROFIT_MARGIN": 0.071, "DEBT_TO_EQUITY": 0.42,
        "DIVIDEND_YIELD": 0.039, "PAYOUT_RATIO": 0.48, "DIVIDEND_STABILITY": 0.8,
    },
}


def grade(total):
    for threshold, letter in ((0.9, "A+"), (0.8, "A"), (0.7, "B"), (0.6, "C"), (0.5, "D")):
        if total >= threshold:
            return letter
    return "F"


def security_score(symbol):
    isin, total, components = SCORES[symbol]
    return {"isin": isin, "symbol": symbol, "total_score": total,
            "component_scores": dict(components), "percentile": 0.0, "grade": grade(total)}


def symbol_of_isin(isin):
    for symbol, (known, _, _) in SCORES.items():
        if known == isin:
            return symbol
    return None


def metric_rows(symbol, names=None):
    """Rows shaped like `calculated_metrics`, fresh: calculated an hour ago, expiring after the
    metric's TTL, in local time as the store keeps it."""
    calculated = common.local_now() - timedelta(hours=1)
    rows = []
    for metric, value in METRICS.get(symbol, {}).items():
        if names is not None and metric not in names:
            continue
        rows.append({
            "symbol": symbol, "metric": metric, "value": value,
            "calculated_at": common.local_iso(calculated),
            "expires_at": common.local_iso(calculated + timedelta(days=TTL_DAYS[metric])),
            "source": "yahoo" if metric in YAHOO_SOURCED else "calculated",
        })
    return rows


# The reference's table (external-contracts §4.3).
CALCULATED_METRICS_SCHEMA = """CREATE TABLE IF NOT EXISTS calculated_metrics (
    symbol TEXT NOT NULL,
    isin TEXT,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    calculated_at TEXT NOT NULL,
    expires_at TEXT,
    source TEXT DEFAULT 'calculated',
    PRIMARY KEY (symbol, metric)
)"""


def write_calculations_db(path):
    """Writes every security's metrics as the scoring service does after scoring it."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(CALCULATED_METRICS_SCHEMA)
        with conn:
            for symbol in METRICS:
                isin = SCORES[symbol][0]
                for row in metric_rows(symbol):
                    conn.execute(
                        "INSERT OR REPLACE INTO calculated_metrics (symbol, isin, metric, value, "
                        "calculated_at, expires_at, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (symbol, isin, row["metric"], row["value"], row["calculated_at"],
                         row["expires_at"], row["source"]))
    finally:
        conn.close()


class FakeScoring(common.FakeService):
    name = "scoring"
    option_choices = {}

    def __init__(self, options):
        super().__init__(options)
        self.unknown_lock = threading.Lock()
        self.unknown = []

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--calculations-db", default=None, metavar="PATH",
                            help="write the metrics to this calculations.db, as the service does")

    def configure(self, args):
        if args.calculations_db:
            write_calculations_db(args.calculations_db)

    def malformed_body(self):
        return b'{"found": true, "score": {"isin": "US0378331005", "total_score": 0.7'

    def handle(self, req):
        if req.path == "/_unknown":
            with self.unknown_lock:
                return json_response(list(self.unknown))
        response = self.route(req)
        if response.status in (404, 405) and response.payload in (
                {"detail": "Not Found"}, {"detail": "Method Not Allowed"}):
            with self.unknown_lock:
                self.unknown.append({"method": req.method, "path": req.path})
        return response

    def route(self, req):
        path, method = req.path, req.method
        # The real service answers health under its prefix only; the bare path is for
        # callers that probe every service the same way.
        if path in (PREFIX + "/health", "/health"):
            if method != "GET":
                return method_not_allowed()
            return json_response({"healthy": True, "version": "1.0.0", "status": "OK",
                                  "checks": {}})
        routes = [
            ("POST", PREFIX + r"/score", self.score),
            ("POST", PREFIX + r"/score/batch", self.score_batch),
            ("POST", PREFIX + r"/score/portfolio", self.score_portfolio),
            ("GET", PREFIX + r"/history/(?P<isin>[^/]+)", self.history),
        ]
        path_matched = False
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if not match:
                continue
            path_matched = True
            if route_method == method:
                return handler(req, **match.groupdict())
        return method_not_allowed() if path_matched else not_found()

    def score(self, req):
        body = req.body
        if not isinstance(body, dict) or not isinstance(body.get("symbol"), str):
            return validation_error(["body", "symbol"], "Field required", body)
        symbol = body["symbol"]
        if symbol not in SCORES:
            isin = body.get("isin")
            symbol = symbol_of_isin(isin) if isinstance(isin, str) else None
        if symbol is None:
            return json_response({"found": False, "score": None})
        if not isinstance(body.get("isin"), str):
            # The real service builds its answer from the request's isin and fails on None.
            return common.Response(500, raw=b"Internal Server Error",
                                   content_type="text/plain; charset=utf-8")
        return json_response({"found": True, "score": security_score(symbol)})

    def score_batch(self, req):
        body = req.body
        if not isinstance(body, dict) or not isinstance(body.get("isins"), list):
            return validation_error(["body", "isins"], "Field required", body)
        # The real route ignores `isins` and rescores every active security.
        scores = [security_score(symbol) for symbol in SCORES]
        return json_response({"scores": scores, "total_scored": len(scores), "failed": 0})

    def score_portfolio(self, req):
        body = req.body
        positions = body.get("positions") if isinstance(body, dict) else None
        if not isinstance(positions, list):
            return validation_error(["body", "positions"], "Field required", body)
        for index, position in enumerate(positions):
            if not isinstance(position, dict):
                return validation_error(["body", "positions", index],
                                        "Input should be a valid dictionary", position,
                                        "dict_type")
            for field in ("isin", "symbol", "market_value"):
                if field not in position:
                    return validation_error(["body", "positions", index, field],
                                            "Field required", position)
        if all(not p["isin"] for p in positions):
            return detail(400, "No valid ISINs provided in positions")
        scores = []
        for position in positions:
            if not position["isin"]:
                continue
            symbol = symbol_of_isin(position["isin"])
            if symbol is None and position["symbol"] in SCORES:
                symbol = position["symbol"]
            if symbol is not None:
                scores.append(security_score(symbol))
        total = sum(s["total_score"] for s in scores) / len(scores) if scores else 0.0
        value = sum(float(p["market_value"]) for p in positions)
        # Scores and positions are paired by position in their lists, as the real service
        # does; a skipped position shifts the pairs.
        weighted = (sum(s["total_score"] * float(p["market_value"])
                        for s, p in zip(scores, positions)) / value) if value else 0.0
        return json_response({"total_score": total, "weighted_score": weighted,
                              "security_scores": scores,
                              "portfolio_metrics": {"security_count": float(len(scores))}})

    def history(self, req, isin):
        symbol = symbol_of_isin(isin)
        if symbol is None:
            return json_response({"isin": isin, "scores": []})
        _, total, components = SCORES[symbol]
        day = (common.local_now() - timedelta(hours=1)).date().isoformat()
        return json_response({"isin": isin, "scores": [
            {"date": day, "total_score": total, "component_scores": dict(components)}]})


if __name__ == "__main__":
    common.main(FakeScoring, __doc__.splitlines()[0])
