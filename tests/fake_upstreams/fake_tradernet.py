#!/usr/bin/env python3
"""A fake of the tradernet broker wrapper (external-contracts §7.1, §8.7): every `/api/*` route
in the `{success, data, error, timestamp}` envelope, with a small realistic account.

Run: `python3 fake_tradernet.py --port 0`; it prints `LISTENING <port>` once it serves.
"""

import itertools
import os
import random
import re
import sys
import threading
from datetime import date, datetime, timedelta

# No __pycache__ beside the sources: the fakes run from the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
from common import json_response, not_found, method_not_allowed, validation_error  # noqa: E402

MAX_BATCH_SYMBOLS = 100

SECURITIES = {
    "AAPL.US": {"name": "Apple Inc.", "isin": "US0378331005", "currency": "USD",
                "market": "NASDAQ", "exchange_code": "XNAS", "lot": 1,
                "quote": {"price": 195.2, "change": 1.35, "change_pct": 0.7, "volume": 51234567}},
    "ASML.EU": {"name": "ASML Holding N.V.", "isin": "NL0010273215", "currency": "EUR",
                "market": "EU", "exchange_code": "XAMS", "lot": 1,
                "quote": {"price": 702.4, "change": -3.1, "change_pct": -0.44, "volume": 812345}},
    "0700.HK": {"name": "Tencent Holdings Ltd.", "isin": "KYG875721634", "currency": "HKD",
                "market": "HKEX", "exchange_code": "XHKG", "lot": 100,
                "quote": {"price": 385.6, "change": 4.2, "change_pct": 1.1, "volume": 18234567}},
    "SHEL.UK": {"name": "Shell plc", "isin": "GB00BP6MXD84", "currency": "GBP",
                "market": "LSE", "exchange_code": "XLON", "lot": 1,
                "quote": {"price": 26.85, "change": 0.12, "change_pct": 0.45, "volume": 9876543}},
    "SAP.EU": {"name": "SAP SE", "isin": "DE0007164600", "currency": "EUR",
               "market": "EU", "exchange_code": "XETR", "lot": 1,
               "quote": {"price": 231.5, "change": 0.0, "change_pct": 0.0, "volume": 1534000}},
}

POSITIONS = [
    # symbol, quantity, average price
    ("AAPL.US", 10.0, 172.5),
    ("ASML.EU", 2.0, 640.0),
    ("0700.HK", 100.0, 310.0),
    ("SHEL.UK", 40.0, 24.1),
]

CASH = [("EUR", 1203.55), ("USD", 312.4), ("GBP", 45.0), ("HKD", -15.2)]

# id, symbol, buy?, quantity, limit price, currency
PENDING = [
    ("418820331", "ASML.EU", True, 1.0, 701.0, "EUR"),
    ("418820342", "AAPL.US", False, 2.0, 210.0, "USD"),
]

EXECUTED = [
    ("418800001", "ASML.EU", "SELL", 1.0, 690.0, "2025-12-20T14:03:11"),
    ("418790117", "AAPL.US", "BUY", 4.0, 188.3, "2025-12-12T15:41:02"),
    ("418770020", "0700.HK", "BUY", 100.0, 352.0, "2025-11-28T02:30:45"),
    ("418760555", "SHEL.UK", "BUY", 40.0, 24.1, "2025-11-03T09:12:33"),
]

WITHDRAWALS = [
    {"transaction_id": "77120031", "date": "2025-10-15", "amount": 500.0, "currency": "EUR",
     "amount_eur": 500.0, "status": "completed"},
]

SIDE_PATTERN = re.compile(r"^(BUY|SELL)$")
DATE_FORMAT = "%Y-%m-%d"


class FakeTradernet(common.FakeService):
    name = "tradernet"
    option_choices = {
        # How pending orders spell their side: the broker's one-letter code ("B"/"S", as in
        # §8.7) or the lower-case word the wrapper's pending-totals compares against.
        "spelling": ["code", "word"],
        # `research` adds the TEST balance of 10000 that the wrapper reports in that mode.
        "trading_mode": ["production", "research"],
        # `disconnected` answers every /api route with "Not connected to Tradernet".
        "connection": ["connected", "disconnected"],
    }

    def __init__(self, options):
        super().__init__(options)
        self.lock = threading.Lock()
        self.order_ids = itertools.count(418830001)
        self.executed = [
            {"order_id": oid, "symbol": s, "side": side, "quantity": q, "price": p,
             "executed_at": at}
            for oid, s, side, q, p, at in EXECUTED
        ]

    def malformed_body(self):
        return b'{"success": true, "data": {"positions": [{"symbol": "AAPL.US", "quantity": 10.0,'

    def emptied(self, payload):
        if isinstance(payload, dict) and "success" in payload and "data" in payload:
            return {**payload, "data": common.emptied(payload["data"])}
        return common.emptied(payload)

    @staticmethod
    def ok(data):
        return json_response({"success": True, "data": data, "error": None,
                              "timestamp": common.utc_timestamp()})

    @staticmethod
    def fail(error):
        # Business and SDK errors are HTTP 200 with success false.
        return json_response({"success": False, "data": None, "error": error,
                              "timestamp": common.utc_timestamp()})

    def handle(self, req):
        path, method = req.path, req.method
        if path == "/health":
            if method != "GET":
                return method_not_allowed()
            connected = self.state.option("connection") == "connected"
            return json_response({"status": "healthy", "service": "tradernet-service",
                                  "version": "1.0.0", "timestamp": common.utc_timestamp(),
                                  "tradernet_connected": connected})
        routes = [
            ("POST", r"/api/trading/place-order", self.place_order),
            ("GET", r"/api/trading/pending-orders", self.pending_orders),
            ("GET", r"/api/trading/pending-orders/(?P<symbol>[^/]+)", self.pending_for),
            ("GET", r"/api/trading/pending-totals", self.pending_totals),
            ("GET", r"/api/portfolio/positions", self.positions),
            ("GET", r"/api/portfolio/cash-balances", self.cash_balances),
            ("GET", r"/api/portfolio/cash-total-eur", self.cash_total_eur),
            ("GET", r"/api/transactions/cash-movements", self.cash_movements),
            ("GET", r"/api/transactions/cash-flows", self.cash_flows),
            ("GET", r"/api/transactions/executed-trades", self.executed_trades),
            ("GET", r"/api/market-data/quote/(?P<symbol>[^/]+)", self.quote),
            ("POST", r"/api/market-data/quotes", self.quotes),
            ("GET", r"/api/market-data/historical/(?P<symbol>[^/]+)", self.historical),
            ("GET", r"/api/securities/find", self.find),
            ("GET", r"/api/securities/info/(?P<symbol>[^/]+)", self.info),
        ]
        path_matched = False
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if not match:
                continue
            path_matched = True
            if route_method != method:
                continue
            validation = self.validate(req, handler)
            if validation is not None:
                return validation
            if self.state.option("connection") != "connected":
                return self.fail("Not connected to Tradernet")
            return handler(req, **match.groupdict())
        return method_not_allowed() if path_matched else not_found()

    def validate(self, req, handler):
        """The pydantic checks, which run before the connection check, answer 422."""
        if handler == self.place_order:
            body = req.body if isinstance(req.body, dict) else None
            if body is None:
                return validation_error(["body"], "Field required", req.body)
            for field in ("symbol", "side", "quantity"):
                if field not in body:
                    return validation_error(["body", field], "Field required", body)
            symbol, side, quantity = body["symbol"], body["side"], body["quantity"]
            if not isinstance(symbol, str) or len(symbol) < 1:
                return validation_error(["body", "symbol"],
                                        "String should have at least 1 character", symbol,
                                        "string_too_short", {"min_length": 1})
            if not isinstance(side, str) or not SIDE_PATTERN.match(side):
                return validation_error(["body", "side"],
                                        "String should match pattern '^(BUY|SELL)$'", side,
                                        "string_pattern_mismatch", {"pattern": "^(BUY|SELL)$"})
            if isinstance(quantity, bool) or not isinstance(quantity, (int, float)):
                return validation_error(["body", "quantity"], "Input should be a valid number",
                                        quantity, "float_type")
            if quantity <= 0:
                return validation_error(["body", "quantity"], "Input should be greater than 0",
                                        quantity, "greater_than", {"gt": 0})
        if handler == self.quotes:
            body = req.body if isinstance(req.body, dict) else {}
            symbols = body.get("symbols")
            if not isinstance(symbols, list):
                return validation_error(["body", "symbols"], "Field required", req.body)
            if not 1 <= len(symbols) <= MAX_BATCH_SYMBOLS:
                return validation_error(["body", "symbols"],
                                        "List should have at least 1 item after validation"
                                        if not symbols else
                                        f"List should have at most {MAX_BATCH_SYMBOLS} items",
                                        symbols, "too_short" if not symbols else "too_long")
        if handler in (self.cash_flows, self.executed_trades):
            highest = 5000 if handler == self.cash_flows else 1000
            raw = req.params.get("limit")
            if raw is not None:
                try:
                    limit = int(raw)
                except ValueError:
                    return validation_error(["query", "limit"],
                                            "Input should be a valid integer", raw, "int_parsing")
                if not 1 <= limit <= highest:
                    return validation_error(["query", "limit"],
                                            f"Input should be {'greater than or equal to 1' if limit < 1 else f'less than or equal to {highest}'}",
                                            raw, "greater_than_equal" if limit < 1 else "less_than_equal")
        if handler == self.find and not req.params.get("symbol"):
            return validation_error(["query", "symbol"], "Field required", None)
        return None

    def side_spelling(self, buy):
        if self.state.option("spelling") == "word":
            return "buy" if buy else "sell"
        return "B" if buy else "S"

    def pending(self):
        return [
            {"id": oid, "symbol": symbol, "side": self.side_spelling(buy), "quantity": qty,
             "price": price, "currency": currency}
            for oid, symbol, buy, qty, price, currency in PENDING
        ]

    def place_order(self, req):
        body = req.body
        symbol, side = body["symbol"], body["side"]
        # The SDK gets the quantity truncated to an integer.
        quantity = int(body["quantity"])
        security = SECURITIES.get(symbol)
        if security is None or quantity < 1:
            return self.fail("Order execution failed")
        price = security["quote"]["price"]
        with self.lock:
            order_id = str(next(self.order_ids))
            self.executed.insert(0, {"order_id": order_id, "symbol": symbol, "side": side,
                                     "quantity": float(quantity), "price": price,
                                     "executed_at": datetime.now().replace(microsecond=0).isoformat()})
        return self.ok({"order_id": order_id, "symbol": symbol, "side": side,
                        "quantity": float(quantity), "price": price})

    def pending_orders(self, req):
        return self.ok({"orders": self.pending()})

    def pending_for(self, req, symbol):
        has = any(order["symbol"] == symbol for order in self.pending())
        return self.ok({"has_pending": has, "symbol": symbol})

    def pending_totals(self, req):
        # The wrapper compares the side in lower case with "buy", so broker codes such as "B"
        # count for nothing; the fake keeps that.
        totals = {}
        for order in self.pending():
            if str(order["side"]).lower() == "buy":
                totals[order["currency"]] = (totals.get(order["currency"], 0.0)
                                             + order["quantity"] * order["price"])
        return self.ok({"totals": totals})

    def positions(self, req):
        out = []
        for symbol, quantity, avg_price in POSITIONS:
            security = SECURITIES[symbol]
            price = security["quote"]["price"]
            market_value = round(quantity * price, 2)
            out.append({
                "symbol": symbol, "quantity": quantity, "avg_price": avg_price,
                "current_price": price, "market_value": market_value,
                # The wrapper does not convert: the "EUR" value is the native one, rate 1.0.
                "market_value_eur": market_value,
                "unrealized_pnl": round((price - avg_price) * quantity, 2),
                "currency": security["currency"], "currency_rate": 1.0,
            })
        return self.ok({"positions": out})

    def balances(self):
        balances = [{"currency": c, "amount": a} for c, a in CASH]
        if self.state.option("trading_mode") == "research":
            balances.append({"currency": "TEST", "amount": 10000.0})
        return balances

    def cash_balances(self, req):
        return self.ok({"balances": self.balances()})

    def cash_total_eur(self, req):
        # Only EUR balances are summed; nothing is converted.
        total = sum(b["amount"] for b in self.balances() if b["currency"] == "EUR")
        return self.ok({"total_eur": total})

    def cash_movements(self, req):
        return self.ok({
            "total_withdrawals": sum(w["amount_eur"] for w in WITHDRAWALS),
            "withdrawals": WITHDRAWALS,
            "note": "Withdrawals from the broker's cash movement history",
        })

    def cash_flows(self, req):
        return self.ok({"transactions": []})

    def executed_trades(self, req):
        limit = int(req.params.get("limit", 500))
        with self.lock:
            trades = list(self.executed[:limit])
        return self.ok({"trades": trades})

    def quote(self, req, symbol):
        security = SECURITIES.get(symbol)
        if security is None:
            return self.fail(f"No quote data for {symbol}")
        q = security["quote"]
        return self.ok({"symbol": symbol, "price": q["price"], "change": q["change"],
                        "change_pct": q["change_pct"], "volume": q["volume"],
                        "timestamp": common.utc_timestamp()})

    def quotes(self, req):
        # The wrapper passes the SDK's payload through in the broker's own short names.
        rows = []
        for symbol in req.body["symbols"]:
            security = SECURITIES.get(symbol)
            if security is None:
                continue
            q = security["quote"]
            rows.append({"c": symbol, "ltp": q["price"], "chg": q["change"],
                         "chg_pc": q["change_pct"], "v": q["volume"],
                         "x_curr": security["currency"], "name": security["name"]})
        return self.ok({"quotes": {"result": {"q": rows}}})

    def historical(self, req, symbol):
        start_text = req.params.get("start", "2010-01-01")
        end_text = req.params.get("end", date.today().strftime(DATE_FORMAT))
        try:
            start = datetime.strptime(start_text, DATE_FORMAT).date()
            end = datetime.strptime(end_text, DATE_FORMAT).date()
        except ValueError as error:
            return self.fail(f"Invalid date format: {error}")
        security = SECURITIES.get(symbol)
        if security is None:
            return self.ok({"symbol": symbol, "candles": []})
        return self.ok({"symbol": symbol,
                        "candles": candles(symbol, security["quote"]["price"], start,
                                           min(end, date.today()))})

    def find(self, req):
        wanted = req.params["symbol"].upper()
        exchange = req.params.get("exchange")
        found = [
            {"symbol": s, "name": sec["name"], "isin": sec["isin"], "currency": sec["currency"],
             "market": sec["market"], "exchange_code": sec["exchange_code"]}
            for s, sec in SECURITIES.items()
            if (wanted in s or wanted == sec["isin"])
            and (exchange is None or exchange in (sec["market"], sec["exchange_code"]))
        ]
        return self.ok({"found": found})

    def info(self, req, symbol):
        security = SECURITIES.get(symbol)
        if security is None:
            return self.fail(f"No info available for {symbol}")
        # The raw SDK dictionary, in the broker's short names.
        return self.ok({"ticker": symbol, "name": security["name"], "isin": security["isin"],
                        "curr": security["currency"], "mkt_short_code": security["market"],
                        "lot_size_q": security["lot"], "min_step": 0.01, "istrade": 1})


def candles(symbol, last_close, start, end):
    """Weekday candles from `start` to `end`, a random walk seeded by the symbol that closes at
    the quote's price on the last day, so repeated calls agree."""
    days = []
    day = end
    while day >= start:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    rng = random.Random(symbol)
    rows = []
    close = last_close
    for day in days:  # newest first, walking back in time
        open_ = close * (1 + rng.uniform(-0.01, 0.01))
        high = max(open_, close) * (1 + rng.uniform(0, 0.01))
        low = min(open_, close) * (1 - rng.uniform(0, 0.01))
        rows.append({"date": day.strftime(DATE_FORMAT), "open": round(open_, 4),
                     "high": round(high, 4), "low": round(low, 4), "close": round(close, 4),
                     "volume": rng.randint(100_000, 5_000_000)})
        close = max(0.01, open_ * (1 + rng.uniform(-0.015, 0.015)))
    rows.reverse()
    return rows


if __name__ == "__main__":
    common.main(FakeTradernet, __doc__.splitlines()[0])
