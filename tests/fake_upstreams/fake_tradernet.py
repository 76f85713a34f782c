#!/usr/bin/env python3
"""A fake of the tradernet broker wrapper (external-contracts §7.1, §8.7): every `/api/*` route
in the `{success, data, error, timestamp}` envelope, with a small realistic account, and the
wrapper's quirks (§7.1.1): London lines in pence (`GBp`), open-order sides as the broker's
codes "1"-"4", negative cash, `order_id: ""` from place-order, the broker's trade ids in the
executed trades, the raw broker payload from the quotes route, zeros from the single-quote
route and no candles from the history route. Other paths answer 404 and are recorded
(`GET /_unknown`).

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

# `currency` is the broker's code of the line: London lines are quoted in pence ("GBp"), so
# their prices, averages and values are in pence while their cash is in pounds.
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
    "SHEL.UK": {"name": "Shell plc", "isin": "GB00BP6MXD84", "currency": "GBp",
                "market": "LSE", "exchange_code": "XLON", "lot": 1,
                "quote": {"price": 2712.0, "change": 12.0, "change_pct": 0.44, "volume": 9876543}},
    "SAP.EU": {"name": "SAP SE", "isin": "DE0007164600", "currency": "EUR",
               "market": "EU", "exchange_code": "XETR", "lot": 1,
               "quote": {"price": 231.5, "change": 0.0, "change_pct": 0.0, "volume": 1534000}},
}

# More lines the broker trades, not held: symbol, name, ISIN, currency of the line, lot, last
# price (pence for London). They are the demo universe, so the binary's default universe can be
# quoted and traded.
OTHER_LINES = [
    ("SIE.EU", "Siemens", "DE0007236101", "EUR", 1, 214.3),
    ("MC.EU", "LVMH Moet Hennessy Louis Vuitton", "FR0000121014", "EUR", 1, 598.2),
    ("OR.EU", "L'Oreal", "FR0000120321", "EUR", 1, 372.6),
    ("AI.EU", "Air Liquide", "FR0000120073", "EUR", 1, 171.84),
    ("ALV.EU", "Allianz", "DE0008404005", "EUR", 1, 352.1),
    ("SU.EU", "Schneider Electric", "FR0000121972", "EUR", 1, 228.9),
    ("IBE.EU", "Iberdrola", "ES0144580Y14", "EUR", 1, 16.12),
    ("ITX.EU", "Industria de Diseno Textil (Inditex)", "ES0148396007", "EUR", 1, 46.38),
    ("EUNL.EU", "iShares Core MSCI World UCITS ETF (Acc)", "IE00B4L5Y983", "EUR", 1, 101.52),
    ("VWCE.EU", "Vanguard FTSE All-World UCITS ETF (Acc)", "IE00BK5BQT80", "EUR", 1, 133.46),
    ("MSFT.US", "Microsoft", "US5949181045", "USD", 1, 428.15),
    ("JNJ.US", "Johnson & Johnson", "US4781601046", "USD", 1, 158.4),
    ("KO.US", "Coca-Cola", "US1912161007", "USD", 1, 69.72),
    ("PG.US", "Procter & Gamble", "US7427181091", "USD", 1, 163.05),
    ("V.US", "Visa", "US92826C8394", "USD", 1, 338.6),
    ("GOOGL.US", "Alphabet (Class A)", "US02079K3059", "USD", 1, 182.35),
    ("AMZN.US", "Amazon.com", "US0231351067", "USD", 1, 214.7),
    ("NVDA.US", "NVIDIA", "US67066G1040", "USD", 1, 138.25),
    ("JPM.US", "JPMorgan Chase", "US46625H1005", "USD", 1, 248.9),
    ("COST.US", "Costco Wholesale", "US22160K1051", "USD", 1, 948.3),
    ("PEP.US", "PepsiCo", "US7134481081", "USD", 1, 146.1),
    ("VOO.US", "Vanguard S&P 500 ETF", "US9229083632", "USD", 1, 532.75),
    ("ULVR.UK", "Unilever", "GB00B10RZP78", "GBp", 1, 4562.0),
    ("AZN.UK", "AstraZeneca", "GB0009895292", "GBp", 1, 10840.0),
    ("REL.UK", "RELX", "GB00B2B0DG97", "GBp", 1, 3816.0),
    ("DGE.UK", "Diageo", "GB0002374006", "GBp", 1, 2135.0),
    ("GSK.UK", "GSK", "GB00BN7SWP63", "GBp", 1, 1428.0),
    ("RIO.UK", "Rio Tinto", "GB0007188757", "GBp", 1, 4790.0),
    ("LSEG.UK", "London Stock Exchange Group", "GB00B0SWJX34", "GBp", 1, 10425.0),
    ("9988.HK", "Alibaba Group Holding", "KYG017191142", "HKD", 100, 118.3),
    ("1299.HK", "AIA Group", "HK0000069689", "HKD", 200, 58.45),
    ("0005.HK", "HSBC Holdings", "GB0005405286", "HKD", 400, 86.2),
    ("0388.HK", "Hong Kong Exchanges and Clearing", "HK0388045442", "HKD", 100, 342.8),
    ("2800.HK", "Tracker Fund of Hong Kong", "HK2800008867", "HKD", 500, 25.12),
    ("0941.HK", "China Mobile", "HK0941009539", "HKD", 500, 82.35),
]
MARKETS = {"EU": ("EU", "XETR"), "US": ("NYSE", "XNYS"), "UK": ("LSE", "XLON"),
           "HK": ("HKEX", "XHKG")}
for _symbol, _name, _isin, _currency, _lot, _price in OTHER_LINES:
    _market, _exchange = MARKETS[_symbol.rsplit(".", 1)[1]]
    SECURITIES[_symbol] = {"name": _name, "isin": _isin, "currency": _currency,
                           "market": _market, "exchange_code": _exchange, "lot": _lot,
                           "quote": {"price": _price, "change": 0.0, "change_pct": 0.0,
                                     "volume": 1000000}}

# symbol, quantity, average price (in the line's unit: pence for London)
POSITIONS = [
    ("AAPL.US", 10.0, 172.5),
    ("ASML.EU", 2.0, 640.0),
    ("0700.HK", 100.0, 310.0),
    ("SHEL.UK", 40.0, 2410.0),
]

# The account's cash; the broker lends on margin, so a currency can be negative.
CASH = [("EUR", 1203.55), ("USD", 312.4), ("GBP", 45.0), ("HKD", -15.2)]

# Open orders at start: broker order id, symbol, side code ("1" buy, "2" buy on margin, "3" sell,
# "4" sell short), quantity, limit price, currency
PENDING = [
    ("418820331", "ASML.EU", "1", 1.0, 701.0, "EUR"),
    ("418820342", "AAPL.US", "3", 2.0, 210.0, "USD"),
]

# Executed trades: the broker's *trade* id (which the wrapper hands on as `order_id`), symbol,
# side, quantity, price (pence for London), local time
EXECUTED = [
    ("96120417", "ASML.EU", "SELL", 1.0, 690.0, "2025-12-20T14:03:11"),
    ("96114032", "AAPL.US", "BUY", 4.0, 188.3, "2025-12-12T15:41:02"),
    ("96108855", "0700.HK", "BUY", 100.0, 352.0, "2025-11-28T02:30:45"),
    ("96101209", "SHEL.UK", "BUY", 40.0, 2410.0, "2025-11-03T09:12:33"),
]

# The wrapper's withdrawals read from the broker's cash-movement history.
WITHDRAWALS = [
    {"transaction_id": "77120031", "date": "2025-10-15", "amount": 500.0, "currency": "EUR",
     "amount_eur": 500.0, "status": "completed"},
]

SIDE_PATTERN = re.compile(r"^(BUY|SELL)$")
DATE_FORMAT = "%Y-%m-%d"
BUY_CODES = ("1", "2")
LETTERS = {"1": "B", "2": "B", "3": "S", "4": "S"}
WORDS = {"1": "buy", "2": "buy", "3": "sell", "4": "sell"}


def cash_currency(line_currency):
    """The cash a line settles in: pounds for a line quoted in pence."""
    return "GBP" if line_currency in ("GBp", "GBX") else line_currency


def in_cash_units(amount, line_currency):
    return amount / 100.0 if line_currency in ("GBp", "GBX") else amount


class FakeTradernet(common.FakeService):
    name = "tradernet"
    option_choices = {
        # How open orders spell their side: the broker's code passed through as text ("1" buy,
        # "2" buy on margin, "3" sell, "4" sell short), as the wrapper does; its one-letter
        # "B"/"S" (§8.7); or the lower-case word the wrapper's pending-totals compares against.
        "spelling": ["code", "letter", "word"],
        # `research` adds the TEST balance of 10000 that the wrapper reports in that mode.
        "trading_mode": ["production", "research"],
        # `disconnected` answers every /api route with "Not connected to Tradernet".
        "connection": ["connected", "disconnected"],
        # `live` sends open orders in the field names other SDKs' test data show (`instr`,
        # `oper`, `q`, `p`, `cur`), which the wrapper does not read: each open order then comes
        # back with only its id, an empty symbol and side, and zeros.
        "order_fields": ["wrapper", "live"],
        # `immediate`: a market order fills as it is placed; `held`: it stays open (listed in
        # the open orders under its broker id) until `POST /_fill`.
        "fills": ["immediate", "held"],
        # The wrapper's history route answers no candles (it misreads the SDK's answer);
        # `daily` answers weekday candles instead, for a wrapper that does.
        "candles": ["none", "daily"],
    }

    def __init__(self, options):
        super().__init__(options)
        self.lock = threading.Lock()
        self.order_ids = itertools.count(418830001)
        self.trade_ids = itertools.count(96150001)
        self.positions_held = {symbol: (qty, avg) for symbol, qty, avg in POSITIONS}
        self.cash = dict(CASH)
        self.open = [
            {"id": oid, "symbol": s, "code": code, "quantity": q, "price": p, "currency": c,
             "placed": False}
            for oid, s, code, q, p, c in PENDING
        ]
        self.executed = [
            {"order_id": tid, "symbol": s, "side": side, "quantity": q, "price": p,
             "executed_at": at}
            for tid, s, side, q, p, at in EXECUTED
        ]
        # Every order the broker accepted, with the cash of its currency before and after.
        self.orders = []
        # Calls of routes the real wrapper does not have.
        self.unknown = []

    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("--cash", action="append", default=[], metavar="CUR=AMOUNT",
                            help="starting cash in a currency instead of the default account's "
                                 "(repeatable; negative for a loan)")

    def configure(self, args):
        for item in args.cash:
            currency, _, amount = item.partition("=")
            self.cash[currency.strip().upper()] = float(amount)

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
        if path == "/_unknown" and method == "GET":
            with self.lock:
                return json_response(list(self.unknown))
        if path == "/_orders" and method == "GET":
            with self.lock:
                return json_response([dict(order) for order in self.orders])
        if path == "/_fill" and method == "POST":
            return json_response({"filled": self.fill_open_orders()})
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
        with self.lock:
            self.unknown.append({"method": method, "path": path})
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

    def side_text(self, code):
        spelling = self.state.option("spelling")
        if spelling == "letter":
            return LETTERS[code]
        if spelling == "word":
            return WORDS[code]
        return code

    def pending(self):
        """The open orders as the wrapper answers them (`get_placed(active=True)`)."""
        with self.lock:
            rows = [dict(order) for order in self.open]
        if self.state.option("order_fields") == "live":
            # The wrapper reads `instr_name`, `buy_sell`, `qty`, `price`, `curr`; the live
            # broker names them otherwise, so only the id survives.
            return [{"id": row["id"], "symbol": "", "side": "", "quantity": 0.0, "price": 0.0,
                     "currency": ""} for row in rows]
        return [
            {"id": row["id"], "symbol": row["symbol"], "side": self.side_text(row["code"]),
             "quantity": row["quantity"], "price": row["price"], "currency": row["currency"]}
            for row in rows
        ]

    def place_order(self, req):
        body = req.body
        symbol, side = body["symbol"], body["side"]
        # The SDK gets the quantity truncated to an integer.
        quantity = int(body["quantity"])
        security = SECURITIES.get(symbol)
        if security is None or quantity < 1:
            # The SDK raises on the broker's refusal, and the wrapper answers this.
            return self.fail("Order execution failed")
        price = security["quote"]["price"]
        line_currency = security["currency"]
        currency = cash_currency(line_currency)
        value = in_cash_units(price * quantity, line_currency)
        with self.lock:
            order_id = str(next(self.order_ids))
            cash_before = self.cash.get(currency, 0.0)
            if side == "BUY":
                # What earlier open buys of the currency will take, then this one.
                reserved = sum(in_cash_units(o["price"] * o["quantity"], o["line_currency"])
                               for o in self.open
                               if o.get("placed") and o["code"] in BUY_CODES
                               and o["cash_currency"] == currency)
                margin = cash_before - reserved - value < -1e-9
                code = "2" if margin else "1"
            else:
                held = self.positions_held.get(symbol, (0.0, 0.0))[0]
                selling = sum(o["quantity"] for o in self.open
                              if o["symbol"] == symbol and o["code"] not in BUY_CODES)
                margin = quantity > held - selling
                code = "4" if margin else "3"
            order = {"id": order_id, "symbol": symbol, "code": code, "quantity": float(quantity),
                     "price": price, "currency": line_currency, "line_currency": line_currency,
                     "cash_currency": currency, "placed": True}
            self.orders.append({
                "order_id": order_id, "symbol": symbol, "side": side,
                "quantity": float(quantity), "price": price, "currency": currency,
                "value": round(value, 6), "margin": margin, "side_code": code,
                "cash_before": round(cash_before, 6),
                "idempotency_key": req.headers.get("idempotency-key"),
            })
            if self.state.option("fills") == "immediate":
                self.execute(order)
            else:
                self.open.append(order)
        # The wrapper looks for `id` or `orderId` in the broker's answer, which names it
        # `order_id`, so the id is always empty; it reads no price either.
        return self.ok({"order_id": "", "symbol": symbol, "side": side,
                        "quantity": float(body["quantity"]), "price": 0.0})

    def execute(self, order):
        """Fills `order` at its price (the lock held): cash, position and a trade under a new
        trade id. The broker's order id is not in the trade as the wrapper answers it."""
        buy = order["code"] in BUY_CODES
        quantity, price = order["quantity"], order["price"]
        value = in_cash_units(price * quantity, order["line_currency"])
        currency = order["cash_currency"]
        self.cash[currency] = round(self.cash.get(currency, 0.0) + (-value if buy else value), 6)
        held, avg = self.positions_held.get(order["symbol"], (0.0, 0.0))
        if buy:
            total = held + quantity
            avg = (held * avg + quantity * price) / total
            held = total
        else:
            held -= quantity
        if held == 0:
            self.positions_held.pop(order["symbol"], None)
        else:
            self.positions_held[order["symbol"]] = (held, avg)
        self.executed.insert(0, {
            "order_id": str(next(self.trade_ids)), "symbol": order["symbol"],
            "side": "BUY" if buy else "SELL", "quantity": quantity, "price": price,
            "executed_at": datetime.now().replace(microsecond=0).isoformat()})
        for logged in self.orders:
            if logged["order_id"] == order["id"]:
                logged["cash_after"] = round(self.cash[currency], 6)

    def fill_open_orders(self):
        """`POST /_fill`: the orders placed through the API and still open execute now; they
        leave the open orders and appear among the executed trades."""
        with self.lock:
            placed = [o for o in self.open if o.get("placed")]
            self.open = [o for o in self.open if not o.get("placed")]
            for order in placed:
                self.execute(order)
        return len(placed)

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
        # `account_summary().result.ps.pos[]`: `i`, `q`, `bal_price_a`, `mkt_price`,
        # `profit_close`, `curr`, in the line's unit (pence for London).
        with self.lock:
            held = list(self.positions_held.items())
        out = []
        for symbol, (quantity, avg_price) in held:
            security = SECURITIES[symbol]
            price = security["quote"]["price"]
            market_value = quantity * price
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
        with self.lock:
            balances = [{"currency": c, "amount": a} for c, a in self.cash.items()]
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
            "note": "Deposits are not available via API",
        })

    def cash_flows(self, req):
        return self.ok({"transactions": []})

    def executed_trades(self, req):
        limit = int(req.params.get("limit", 500))
        with self.lock:
            trades = list(self.executed[:limit])
        return self.ok({"trades": trades})

    def quote(self, req, symbol):
        # The wrapper reads the SDK's answer, a dict ({"result": {"q": [...]}}), as if it were
        # one quote row, so every figure is zero whatever the symbol.
        return self.ok({"symbol": symbol, "price": 0.0, "change": 0.0, "change_pct": 0.0,
                        "volume": 0, "timestamp": common.utc_timestamp()})

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
        if security is None or self.state.option("candles") == "none":
            # The SDK answers a dict, which the wrapper's parser does not take for candles.
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
