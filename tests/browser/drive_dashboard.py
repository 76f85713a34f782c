#!/usr/bin/env python3
"""Drives the dashboard in headless Chromium over the DevTools protocol, standard library only.

Usage: drive_dashboard.py --url http://127.0.0.1:PORT --token TOKEN --out DIR [--chromium PATH]

Checks, in order, and exits 1 with a message at the first failure:
  1. read-only: without the token the page shows the portfolio and the latest plan, and hides
     every state-changing control;
  2. no console error or uncaught exception while loading;
  3. with the token, "Plan now" shows progress and then a new plan;
  4. the settings form shows the server's message for an invalid value;
  5. with the token, a short backtest runs from its form: the chart has one path per strategy
     with as many points as the API gives, the table every figure, at phone and desktop widths;
  6. screenshots at phone and desktop widths are written to DIR.
With --value only the Value section: the chart's points and deposit marks and the returns shown
against GET /api/portfolio/history, at phone and desktop widths.
Prints `plan rendered in N ms` (navigation start to the plan's steps on the page).

With --in-bands (the portfolio is inside its bands with cash at its reserve) only the Plan
section, at desktop and phone widths: the latest plan (GET /api/plans?limit=1) is empty and the
page shows its "Inside your bands" sentence once, as the plan's message, with no step rows, no
score change and no empty list of left-out candidates.

With --ledger, only the ledger view is checked, at desktop and phone widths and in dark mode:
the rows shown equal the API's entries for a filter (page after page with "Load more"), the
CSV link carries the filter and its file has as many rows, every field is labelled, and a wide
table scrolls in its box rather than the page.
"""

import argparse
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request


class WebSocket:
    """The client side of RFC 6455, enough for the DevTools protocol (text frames)."""

    def __init__(self, url):
        assert url.startswith("ws://")
        host_port, path = url[5:].split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("websocket handshake failed")
            response += chunk
        head, self.buffer = response.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"websocket handshake refused: {head!r}")

    def send(self, text):
        payload = text.encode()
        header = bytearray([0x81])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 1 << 16:
            header.append(0x80 | 126)
            header += struct.pack(">H", n)
        else:
            header.append(0x80 | 127)
            header += struct.pack(">Q", n)
        mask = os.urandom(4)
        header += mask
        self.sock.sendall(bytes(header) + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("websocket closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def recv(self):
        message = b""
        while True:
            first, second = self._read(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise RuntimeError("websocket closed by the browser")
            if opcode in (0x9, 0xA):
                continue
            message += payload
            if first & 0x80:
                return message.decode()


class Browser:
    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="dashboard-chromium-")
        self.process = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        deadline = time.time() + 60
        while port is None and time.time() < deadline:
            line = self.process.stderr.readline()
            if not line and self.process.poll() is not None:
                raise RuntimeError("chromium exited at start")
            if "DevTools listening on ws://" in line:
                port = int(line.split("ws://")[1].split("/")[0].split(":")[1])
        if port is None:
            raise RuntimeError("chromium did not report its DevTools port")
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = WebSocket(page["webSocketDebuggerUrl"])
        self.next_id = 0
        self.console_errors = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def close(self):
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _event(self, message):
        method = message.get("method")
        params = message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.console_errors.append("exception: " + json.dumps(details.get("exception", {}).get("description") or details.get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.console_errors.append("console.error: " + json.dumps(params.get("args")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.console_errors.append(f"log: {entry.get('text')} {entry.get('url', '')}")

    def call(self, method, **params):
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._event(message)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, what, timeout=15.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        fail(f"timed out waiting for {what}")

    def navigate(self, url, width, height, mobile=False):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=mobile)
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'", "the page to load")

    def screenshot(self, path, element=None):
        """The whole page, or only the element with id `element`."""
        clip = {}
        if element:
            box = self.evaluate(f"(() => {{ const r = document.getElementById({json.dumps(element)})"
                                ".getBoundingClientRect(); return {x: r.left + scrollX, y: r.top + scrollY,"
                                " width: r.width, height: r.height, scale: 1}; })()")
            clip = {"clip": box}
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         **clip)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


STEPS = "document.querySelectorAll('#plan-steps li').length"
POSITIONS = "document.querySelectorAll('#positions tbody tr').length"


def closed_reads(browser, args):
    """Reads need the token: the page says so, and Unlock loads everything."""
    browser.navigate(args.url + "/", 1280, 900)
    message = browser.wait_for(
        "!document.getElementById('error').hidden && document.getElementById('error').textContent",
        "the message asking for the token")
    if "Unlock" not in message:
        fail(f"without the token the page says {message!r}")
    if browser.evaluate(POSITIONS) != 0:
        fail("positions shown without the token")
    # A read refused for want of a token may arrive after Unlock set one: the page must ask
    # again with the token, not forget it. Made certain here: the token is set while the
    # tokenless request is in flight (nothing can answer before this script yields).
    kept = browser.evaluate(f"""(async () => {{
        sessionStorage.removeItem(TOKEN_KEY);
        const pending = api("GET", "/api/plans?limit=1");
        sessionStorage.setItem(TOKEN_KEY, {json.dumps(args.token)});
        const answer = await pending;
        const kept = answer.status === 200 && token() === {json.dumps(args.token)};
        sessionStorage.removeItem(TOKEN_KEY);
        applyAccess();
        return kept;
    }})()""")
    if not kept:
        fail("a refusal that arrives after unlocking drops the token or is not asked again")
    browser.evaluate(f"window.prompt = () => {json.dumps(args.token)}; "
                     "document.getElementById('unlock').click(); true")
    browser.wait_for(f"{POSITIONS} > 0", "the positions after unlocking")
    browser.wait_for(f"{STEPS} > 0", "the plan after unlocking")
    if not browser.evaluate("document.getElementById('error').hidden"):
        fail("the message stays after unlocking")
    # The 401s before unlocking are expected; nothing else may reach the console.
    unexpected = [e for e in browser.console_errors if "401" not in e]
    if unexpected:
        fail("console errors: " + "; ".join(unexpected))
    browser.screenshot(os.path.join(args.out, "dashboard-closed-reads-unlocked.png"))


ORDERS_TEXT = "document.getElementById('open-orders').textContent"


def open_orders(browser, args):
    """The open orders: a buy on margin named as such, or the warning of an unattributable
    order that blocks live orders."""
    browser.navigate(args.url + "/", 1280, 900)
    warning = "document.getElementById('orders-warning')"
    if args.orders == "margin":
        browser.wait_for(f"{ORDERS_TEXT}.includes('buy on margin')", "the margin buy in the orders")
        if not browser.evaluate(f"{warning}.hidden"):
            fail("a warning is shown with every open order attributable")
        marked = browser.evaluate(
            "[...document.querySelectorAll('#open-orders td.margin')].map(td => td.textContent)")
        if "buy on margin" not in marked:
            fail(f"the margin buy is not marked: {marked}")
        shot = "dashboard-orders-margin.png"
    else:
        text = browser.wait_for(f"!{warning}.hidden && {warning}.textContent",
                                "the warning of an unattributable order")
        if "live orders are blocked" not in text:
            fail(f"the warning says {text!r}")
        browser.wait_for(f"{ORDERS_TEXT}.includes('blocks live orders')",
                         "the unattributable order in the list")
        shot = "dashboard-orders-unattributable.png"
    if browser.console_errors:
        fail("console errors: " + "; ".join(browser.console_errors))
    browser.screenshot(os.path.join(args.out, shot), "portfolio")


def check_value_view(browser, what):
    """The value chart and the returns shown against GET /api/portfolio/history."""
    problems = browser.evaluate("""(async () => {
        const { data } = await api("GET", "/api/portfolio/history");
        const problems = [];
        const svg = document.querySelector('#value-chart svg');
        if (!svg) return ['no value chart'];
        if (svg.getAttribute('role') !== 'img' || !svg.querySelector('title').textContent)
            problems.push('the chart has no role=img and title');
        const paths = [...svg.querySelectorAll('path')];
        if (paths.length !== 1) problems.push(paths.length + ' paths for one value line');
        const points = paths[0].getAttribute('d').split(/[ML]/).filter(Boolean).length;
        if (points !== data.points.length)
            problems.push(points + ' points drawn, the API gives ' + data.points.length);
        const deposits = data.points.filter((p) => p.deposit_eur > 0).length;
        if (svg.querySelectorAll('circle.mark').length !== deposits)
            problems.push('deposit marks differ from the ' + deposits + ' deposit days');
        const shown = { 'twr-1m': data.twr.one_month, 'twr-1y': data.twr.one_year, 'twr-start': data.twr.since_start };
        for (const [id, value] of Object.entries(shown)) {
            const expected = value == null ? '–' : (value * 100).toFixed(1) + ' %';
            const text = document.getElementById(id).textContent;
            if (text !== expected) problems.push(id + ' shows ' + text + ', the API gives ' + expected);
        }
        if (data.twr.one_month == null) problems.push('no one-month return to compare');
        return problems;
    })()""")
    if problems:
        fail(f"value view ({what}): " + "; ".join(problems))


def value_view(browser, args):
    """The Value section at desktop and phone widths: chart points and returns as the API's."""
    for what, width, height, mobile in [("desktop", 1280, 900, False), ("phone", 390, 844, True)]:
        browser.navigate(args.url + "/", width, height, mobile=mobile)
        browser.wait_for("!!document.querySelector('#value-chart svg path')", f"the value chart ({what})")
        check_value_view(browser, what)
        if browser.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
            fail(f"the value view is wider than the screen ({what})")
        browser.screenshot(os.path.join(args.out, f"dashboard-value-{what}.png"), "value")
    if browser.console_errors:
        fail("console errors: " + "; ".join(browser.console_errors))


def check_empty_plan(browser, what):
    """The Plan section of an empty plan inside the bands against what the page reads."""
    problems = browser.evaluate("""(async () => {
        const problems = [];
        const list = await api("GET", "/api/plans?limit=1");
        const plan = (await api("GET", "/api/plans/" + list.data.plans[0].id)).data;
        const sentence = plan.details.narrative || '';
        if (plan.steps.length !== 0) problems.push('the latest plan has ' + plan.steps.length + ' steps');
        if (!sentence.startsWith('Inside your bands')) problems.push('the plan says ' + JSON.stringify(sentence));
        const shown = (el) => el.offsetParent !== null && el.getBoundingClientRect().height > 0;
        const message = document.getElementById('plan-narrative');
        if (!shown(message) || message.textContent !== sentence)
            problems.push('the message shows ' + JSON.stringify(message.textContent));
        const section = document.getElementById('plan').innerText;
        if (section.split('Inside your bands').length !== 2)
            problems.push('the sentence is not shown exactly once: ' + JSON.stringify(section));
        const steps = document.getElementById('plan-steps');
        if (steps.querySelectorAll('li').length !== 0 || shown(steps))
            problems.push('step rows or an empty list are shown');
        const scores = document.getElementById('plan-scores').textContent;
        if (scores.includes('→') || scores.includes('points') || !scores.includes('unchanged'))
            problems.push('the score reads as a change: ' + JSON.stringify(scores));
        const rejected = document.getElementById('plan-rejected');
        if (shown(rejected) && rejected.querySelectorAll('li').length === 0)
            problems.push('an empty list of left-out candidates is shown');
        const colour = (el, prop) => getComputedStyle(el)[prop].match(/[\\d.]+/g).slice(0, 3).map(Number);
        const luminance = (rgb) => {
            const [r, g, b] = rgb.map((c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        };
        const [a, b] = [luminance(colour(message, 'color')), luminance(colour(message, 'backgroundColor'))];
        const contrast = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        if (contrast < 4.5) problems.push('the message has a contrast of ' + contrast.toFixed(2));
        return problems;
    })()""")
    if problems:
        fail(f"empty plan inside the bands ({what}): " + "; ".join(problems))


def in_bands(browser, args):
    """An empty plan inside the bands, at desktop and phone widths."""
    for what, width, height, mobile in [("desktop", 1280, 900, False), ("phone", 390, 844, True)]:
        browser.navigate(args.url + "/", width, height, mobile=mobile)
        # The allocation above the plan drawn too, so the plan's place on the page is final
        # when its screenshot is taken.
        browser.wait_for("!document.getElementById('plan-narrative').hidden"
                         " && document.querySelectorAll('#alloc-country g.target-row').length > 0"
                         f" && {POSITIONS} > 0", f"the plan ({what})")
        check_empty_plan(browser, what)
        if browser.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
            fail(f"the plan is wider than the screen ({what})")
        browser.screenshot(os.path.join(args.out, f"dashboard-plan-in-bands-{what}.png"), "plan")
    if browser.console_errors:
        fail("console errors: " + "; ".join(browser.console_errors))


BACKTEST_PATHS = "document.querySelectorAll('#bt-chart svg path').length"


def check_targets_and_plan(browser, what):
    """Allocation against targets and the plan's step figures against what the API answers."""
    problems = browser.evaluate("""(async () => {
        const problems = [];
        const { data } = await api("GET", "/api/targets");
        const check = (id, rows) => {
            const svg = document.querySelector('#' + id + ' svg');
            if (!svg || svg.getAttribute('role') !== 'img' || !svg.getAttribute('aria-label'))
                { problems.push(id + ': no chart with role=img and a label'); return; }
            if (svg.viewBox.baseVal.width > svg.getBoundingClientRect().width * 1.1 &&
                svg.getBoundingClientRect().width > 0)
                problems.push(id + ': drawn ' + svg.viewBox.baseVal.width + ' wide, shown ' +
                              svg.getBoundingClientRect().width + ': its labels shrink');
            const drawn = [...svg.querySelectorAll('g.target-row')];
            if (drawn.length !== rows.length)
                problems.push(id + ': ' + drawn.length + ' rows drawn, the API gives ' + rows.length);
            const out = drawn.filter((g) => g.classList.contains('out')).length;
            const expected = rows.filter((r) => r.outside_band).length;
            if (out !== expected)
                problems.push(id + ': ' + out + ' drawn outside their bands, the API says ' + expected);
            for (const [i, r] of rows.entries()) {
                const title = drawn[i] && drawn[i].querySelector('title').textContent;
                const weight = (r.weight * 100).toFixed(1) + ' %', target = (r.target * 100).toFixed(1) + ' %';
                if (!title || !title.includes(weight) || !title.includes('target ' + target))
                    problems.push(id + ' row ' + i + ': ' + title + ' does not say ' + weight + ' against ' + target);
            }
        };
        check('alloc-country', data.groups.filter((g) => g.kind === 'country'));
        check('alloc-industry', data.groups.filter((g) => g.kind === 'industry'));
        check('alloc-security', data.securities.filter((s) => s.target > 0 || s.weight > 0));
        const list = await api("GET", "/api/plans?limit=1");
        const plan = (await api("GET", "/api/plans/" + list.data.plans[0].id)).data;
        const figures = [...document.querySelectorAll('#plan-steps li dl.step-figures')];
        if (figures.length !== plan.steps.length)
            problems.push(figures.length + ' steps with figures, the plan has ' + plan.steps.length);
        for (const [i, d] of plan.details.steps_detail.entries()) {
            const text = figures[i] ? figures[i].textContent : '';
            const before = (d.weight_before * 100).toFixed(1) + ' %', after = (d.weight_after * 100).toFixed(1) + ' %';
            if (!text.includes(before + ' → ' + after)) problems.push('step ' + (i + 1) + ' does not show ' + before + ' → ' + after);
            if (!text.includes(d.currency)) problems.push('step ' + (i + 1) + ' does not name its currency ' + d.currency);
        }
        if (!document.querySelector('#plan a[href="#backtest"]')) problems.push('no link from the plan to the backtest');
        return problems;
    })()""")
    if problems:
        fail(f"targets and plan ({what}): " + "; ".join(problems))


def targets_and_plan(browser, args):
    """Allocation against targets (groups and securities) and the plan's figures, desktop and phone."""
    for what, width, height, mobile in [("desktop", 1280, 900, False), ("phone", 390, 844, True)]:
        browser.navigate(args.url + "/", width, height, mobile=mobile)
        browser.wait_for(f"{STEPS} > 0 && document.querySelectorAll('#alloc-country g.target-row').length > 0",
                         f"the targets and the plan ({what})")
        browser.evaluate("document.getElementById('alloc-securities').open = true; true")
        check_targets_and_plan(browser, what)
        if browser.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
            fail(f"the targets view is wider than the screen ({what})")
        browser.screenshot(os.path.join(args.out, f"dashboard-targets-{what}.png"), "portfolio")
        browser.screenshot(os.path.join(args.out, f"dashboard-plan-{what}.png"), "plan")


def check_security_page(browser, symbol, what):
    """The security page of `symbol` against GET /api/securities/{symbol}."""
    problems = browser.evaluate("""(async (symbol) => {
        const problems = [];
        const { data } = await api("GET", "/api/securities/" + symbol + "?days=365");
        const section = document.getElementById('security');
        if (section.hidden) problems.push('the page is hidden');
        if (!document.getElementById('security-title').textContent.startsWith(data.symbol))
            problems.push('the title does not name ' + data.symbol);
        const svg = document.querySelector('#security-chart svg');
        if (data.history.length < 2) {
            if (svg || !document.getElementById('security-chart').textContent.includes('No price history'))
                problems.push('without a price history the page does not say so');
        } else if (!svg || svg.getAttribute('role') !== 'img' || !svg.querySelector('title').textContent)
            problems.push('no price chart with role=img and a title');
        else {
            const points = svg.querySelector('path').getAttribute('d').split(/[ML]/).filter(Boolean).length;
            if (points !== data.history.length)
                problems.push(points + ' closes drawn, the API gives ' + data.history.length);
            if (svg.viewBox.baseVal.width > svg.getBoundingClientRect().width * 1.1)
                problems.push('the chart is drawn ' + svg.viewBox.baseVal.width + ' wide and shown ' + svg.getBoundingClientRect().width + ': its labels shrink');
            if (!svg.querySelector('title').textContent.includes(String(data.history[data.history.length - 1].close)))
                problems.push('the chart title does not give the last close');
        }
        const rows = [...document.querySelectorAll('#security-metrics tbody tr')];
        if (rows.length !== data.metrics.length)
            problems.push(rows.length + ' metrics shown, the API gives ' + data.metrics.length);
        for (const [i, m] of data.metrics.entries()) {
            const cells = rows[i] ? [...rows[i].children].map((td) => td.textContent) : [];
            if (cells[0] !== m.name || cells[2] !== m.source)
                problems.push('metric row ' + i + ' shows ' + cells + ', the API ' + m.name + ' from ' + m.source);
        }
        if (data.score && document.querySelectorAll('#security-score tbody tr').length !==
            1 + Object.keys(data.score.components).length)
            problems.push('the score does not list every component');
        const target = document.getElementById('security-target').textContent;
        if (data.target && data.target.target != null && !target.includes((data.target.target * 100).toFixed(1) + ' %'))
            problems.push('the target ' + data.target.target + ' is not in: ' + target);
        if (document.querySelectorAll('#security-trades tbody tr').length !== data.trades.length)
            problems.push('not every trade is listed');
        return problems;
    })(__SYMBOL__)""".replace("__SYMBOL__", json.dumps(symbol)))
    if problems:
        fail(f"security page ({what}): " + "; ".join(problems))


def security_page(browser, args):
    """A symbol in the positions opens its page; the page at desktop and phone widths."""
    browser.navigate(args.url + "/", 1280, 900)
    browser.wait_for(f"{POSITIONS} > 0", "the positions")
    symbol = browser.evaluate("""(() => {
        const link = document.querySelector('#positions tbody a[href^="#security/"]');
        link.focus(); link.click(); return link.textContent; })()""")
    browser.wait_for("!document.getElementById('security').hidden && "
                     "document.getElementById('security-title').textContent.includes(' — ')",
                     "the security page after a click")
    check_security_page(browser, symbol, "desktop, " + symbol)
    # The symbol with a stored price history.
    for what, width, height, mobile in [("desktop", 1280, 900, False), ("phone", 390, 844, True)]:
        browser.navigate(args.url + "/#security/ASML.EU", width, height, mobile=mobile)
        # Drawn at the width shown: a turn of the phone or a resize redraws it.
        browser.wait_for("(() => { const svg = document.querySelector('#security-chart svg');"
                         " return svg && svg.querySelector('path') &&"
                         " svg.viewBox.baseVal.width <= svg.getBoundingClientRect().width * 1.1 &&"
                         " document.querySelectorAll('#security-metrics tbody tr').length > 0; })()",
                         f"the security page ({what})")
        check_security_page(browser, "ASML.EU", what)
        if browser.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
            fail(f"the security page is wider than the screen ({what})")
        browser.screenshot(os.path.join(args.out, f"dashboard-security-{what}.png"), "security")
    # Back to the portfolio hides it.
    browser.evaluate("location.hash = '#portfolio'; true")
    browser.wait_for("document.getElementById('security').hidden", "the security page to close")


def check_backtest_view(browser, what):
    """The chart and the table of the selected run against what the API answers."""
    problems = browser.evaluate("""(async () => {
        const { data } = await api("GET", "/api/backtests/latest");
        const run = data.runs[Number(document.getElementById('bt-select').value) || 0];
        const problems = [];
        const svg = document.querySelector('#bt-chart svg');
        if (svg.getAttribute('role') !== 'img' || !svg.querySelector('title').textContent)
            problems.push('the chart has no role=img and title');
        if (svg.viewBox.baseVal.width > svg.getBoundingClientRect().width * 1.1)
            problems.push('the chart is drawn ' + svg.viewBox.baseVal.width + ' wide and shown ' +
                          svg.getBoundingClientRect().width + ' wide: its labels shrink');
        const paths = [...svg.querySelectorAll('path')];
        if (paths.length !== data.strategy_order.length)
            problems.push(paths.length + ' paths for ' + data.strategy_order.length + ' strategies');
        for (const path of paths) {
            const points = path.getAttribute('d').split(/[ML]/).filter(Boolean).length;
            if (points !== run.chart.dates.length)
                problems.push(points + ' points drawn, the API gives ' + run.chart.dates.length);
        }
        const rows = [...document.querySelectorAll('#bt-table tbody th')].map((th) => th.textContent);
        for (const name of data.strategy_order) {
            for (const key of Object.keys(run.strategies[name])) {
                if (!rows.includes(key)) problems.push('no row for ' + key);
            }
        }
        const columns = [...document.querySelectorAll('#bt-table thead th')].slice(1).map((th) => th.textContent);
        if (columns.join() !== data.strategy_order.join())
            problems.push('columns ' + columns + ' for ' + data.strategy_order);
        if (document.querySelectorAll('#bt-legend li').length !== data.strategy_order.length)
            problems.push('the legend does not name every strategy');
        return problems;
    })()""")
    if problems:
        fail(f"backtest view ({what}): " + "; ".join(problems))


def backtest(browser, args):
    """Runs a short backtest from the form, then checks the view at desktop and phone widths."""
    browser.navigate(args.url + "/#backtest", 1280, 900)
    browser.wait_for("document.getElementById('bt-form').offsetParent !== null", "the backtest form")
    browser.evaluate("""
        document.getElementById('bt-start').value = '2017-01-01';
        document.getElementById('bt-end').value = '2018-12-31';
        document.getElementById('bt-deposit').value = '0';
        document.getElementById('bt-run').click(); true""")
    browser.wait_for(f"{BACKTEST_PATHS} > 0 && document.getElementById('bt-run').disabled === false",
                     "the backtest's chart", timeout=90.0)
    if "finished" not in browser.evaluate("document.getElementById('bt-progress-text').textContent"):
        fail("the backtest's end is not shown")
    check_backtest_view(browser, "desktop")
    browser.screenshot(os.path.join(args.out, "dashboard-backtest-desktop.png"), "backtest")
    browser.navigate(args.url + "/#backtest", 390, 844, mobile=True)
    browser.wait_for(f"{BACKTEST_PATHS} > 0", "the backtest's chart on a phone")
    check_backtest_view(browser, "phone")
    if browser.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
        fail("the backtest view is wider than a phone screen")
    browser.screenshot(os.path.join(args.out, "dashboard-backtest-phone.png"), "backtest")


def page_timings(browser, args):
    """Loads the page `args.timings` times at desktop width, each time from navigation start to
    the positions, the allocation charts and the plan's steps all drawn, in the page's clock."""
    # One load first: the script below is then injected into every later document.
    browser.navigate(args.url + "/", 1280, 900)
    browser.wait_for(f"{STEPS} > 0", "the plan")
    browser.call("Page.addScriptToEvaluateOnNewDocument", source="""
        new MutationObserver((_, observer) => {
          const full = document.querySelectorAll('#plan-steps li').length > 0 &&
            document.querySelectorAll('#positions tbody tr').length > 0 &&
            document.querySelectorAll('#alloc-country g.target-row').length > 0;
          if (full && !window.__fullAt) { window.__fullAt = performance.now(); observer.disconnect(); }
        }).observe(document, {subtree: true, childList: true});""")
    times = []
    for i in range(args.timings):
        browser.navigate(args.url + "/?load=" + str(i), 1280, 900)
        times.append(browser.wait_for("window.__fullAt", "the full page " + str(i)))
    if browser.console_errors:
        fail("console errors: " + "; ".join(browser.console_errors))
    ordered = sorted(times)
    print("full page in ms: " + ", ".join(f"{t:.0f}" for t in times) +
          f"; median {ordered[len(ordered) // 2]:.0f}")


LEDGER_ROWS = "document.querySelectorAll('#ledger-table tbody tr').length"


def check_ledger_view(browser, what):
    """For each filter: the rows shown, after "Load more" until the API has no more, equal the
    API's entries; the export link carries the filter, and its CSV has the same rows."""
    for kind, symbol in (("", ""), ("trade", ""), ("deposit", ""), ("trade", "first")):
        problems = browser.evaluate(f"""(async () => {{
            const problems = [];
            const form = document.getElementById('ledger-form');
            document.getElementById('ledger-kind').value = {json.dumps(kind)};
            let symbol = {json.dumps(symbol)};
            if (symbol === 'first') {{
                const {{ data }} = await api("GET", "/api/ledger?kind=trade&limit=1");
                symbol = data.entries[0].symbol.toLowerCase();
            }}
            document.getElementById('ledger-symbol').value = symbol;
            const query = new URLSearchParams();
            if ({json.dumps(kind)}) query.set('kind', {json.dumps(kind)});
            if (symbol) query.set('symbol', symbol);
            let expected = [], before = null;
            do {{
                const page = new URLSearchParams(query);
                if (before) page.set('before', before);
                const {{ data }} = await api("GET", "/api/ledger?" + page);
                expected = expected.concat(data.entries);
                before = data.next_before;
            }} while (before);
            await loadLedger(false);
            while (!document.getElementById('ledger-more').hidden) {{
                document.getElementById('ledger-more').focus();
                await loadLedger(true);
            }}
            const rows = [...document.querySelectorAll('#ledger-table tbody tr')];
            if (rows.length !== expected.length)
                problems.push(rows.length + ' rows shown, the API lists ' + expected.length);
            if (expected.length === 0) problems.push('the API lists nothing for this filter');
            rows.forEach((tr, i) => {{
                const e = expected[i];
                if (!e) return;
                const cells = [...tr.children].map((td) => td.textContent);
                if (cells[1] !== e.kind || (e.symbol && cells[2] !== e.symbol))
                    problems.push('row ' + i + ' shows ' + cells.slice(0, 3) + ' for ' + e.kind + ' ' + e.symbol);
            }});
            const link = document.getElementById('ledger-export');
            const url = new URL(link.href);
            if (url.pathname !== '/api/ledger.csv') problems.push('the export link goes to ' + url.pathname);
            if ((url.searchParams.get('kind') || '') !== {json.dumps(kind)})
                problems.push('the export link carries kind=' + url.searchParams.get('kind'));
            if ((url.searchParams.get('symbol') || '') !== symbol)
                problems.push('the export link carries symbol=' + url.searchParams.get('symbol'));
            const csv = await (await fetch(link.href)).text();
            const lines = csv.split('\\r\\n').filter(Boolean);
            if (lines.length !== expected.length + 1)
                problems.push('the CSV has ' + (lines.length - 1) + ' rows for ' + expected.length + ' entries');
            const status = document.getElementById('ledger-status').textContent;
            if (!status.startsWith(String(expected.length)))
                problems.push('the status says ' + JSON.stringify(status));
            return problems;
        }})()""")
        if problems:
            fail(f"ledger view ({what}, kind={kind!r}, symbol={symbol!r}): " + "; ".join(problems))
    unlabelled = browser.evaluate(
        "[...document.querySelectorAll('#ledger-form input, #ledger-form select')]"
        ".filter(el => el.labels.length === 0 || !el.labels[0].textContent.trim()).map(el => el.id)")
    if unlabelled:
        fail(f"ledger fields without a label: {unlabelled}")


CLEAR_LEDGER = """(async () => {
    for (const name of ['kind', 'symbol', 'side', 'from', 'to'])
        document.getElementById('ledger-' + name).value = '';
    await loadLedger(false);
    return true;
})()"""


def ledger(browser, args):
    """The ledger at desktop width, at phone width, and at phone width in dark mode."""
    browser.navigate(args.url + "/#ledger", 1280, 900)
    browser.wait_for(f"{LEDGER_ROWS} > 0", "the ledger's rows")
    check_ledger_view(browser, "desktop")
    # Keyboard: the filters, the form's buttons, the export link and the table's box are
    # reached with Tab.
    reached = browser.evaluate("""(() => {
        const order = [];
        document.getElementById('ledger-kind').focus();
        for (let i = 0; i < 12; i++) {
            order.push(document.activeElement.id || document.activeElement.textContent);
            const focusable = [...document.querySelectorAll('a[href], button:not([hidden]), input, select, [tabindex="0"]')]
                .filter((el) => el.offsetParent !== null && !el.disabled);
            const next = focusable[focusable.indexOf(document.activeElement) + 1];
            if (!next) break;
            next.focus();
        }
        return order;
    })()""")
    for wanted in ("ledger-kind", "ledger-symbol", "ledger-side", "ledger-from", "ledger-to",
                   "ledger-export", "ledger-scroll"):
        if wanted not in reached:
            fail(f"the keyboard does not reach #{wanted}: {reached}")
    browser.evaluate(CLEAR_LEDGER)
    browser.screenshot(os.path.join(args.out, "dashboard-ledger-desktop.png"), "ledger")
    for dark in (False, True):
        browser.call("Emulation.setEmulatedMedia", features=[
            {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}])
        browser.navigate(args.url + "/#ledger", 390, 844, mobile=True)
        browser.wait_for(f"{LEDGER_ROWS} > 0", "the ledger's rows on a phone")
        check_ledger_view(browser, "phone, dark" if dark else "phone")
        browser.evaluate(CLEAR_LEDGER)
        if browser.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
            fail("the ledger makes the page wider than a phone screen")
        box = "document.getElementById('ledger-scroll')"
        if not browser.evaluate(f"{box}.scrollWidth > {box}.clientWidth"):
            fail("on a phone the ledger's table does not scroll in its box")
        background = browser.evaluate(
            "getComputedStyle(document.getElementById('ledger')).backgroundColor")
        channels = [int(c) for c in background[background.index("(") + 1:-1].split(",")[:3]]
        if dark != (sum(channels) < 3 * 128):
            fail(f"the ledger's background is {background} with dark mode {'on' if dark else 'off'}")
        name = "dashboard-ledger-phone-dark.png" if dark else "dashboard-ledger-phone.png"
        browser.screenshot(os.path.join(args.out, name), "ledger")
    if browser.console_errors:
        fail("console errors: " + "; ".join(browser.console_errors))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--closed-reads", action="store_true",
                        help="the server runs with auth.open_reads off")
    parser.add_argument("--orders", choices=["margin", "unattributable"],
                        help="only check the open orders: a margin buy, or the warning of an "
                             "unattributable order")
    parser.add_argument("--timings", type=int, default=0,
                        help="only load the page this many times and print the time to a full "
                             "page (positions, allocation and the plan drawn) and the median")
    parser.add_argument("--ledger", action="store_true",
                        help="only check the ledger view (the server has trades and a deposit)")
    parser.add_argument("--value", action="store_true",
                        help="only check the Value section against the API")
    parser.add_argument("--in-bands", action="store_true",
                        help="only check the Plan section of an empty plan inside the bands")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    browser = Browser(args.chromium)
    if args.timings:
        try:
            page_timings(browser, args)
        finally:
            browser.close()
        return
    if args.value:
        try:
            value_view(browser, args)
        finally:
            browser.close()
        print("dashboard: all checks passed")
        return
    if args.in_bands:
        try:
            in_bands(browser, args)
        finally:
            browser.close()
        print("dashboard: all checks passed")
        return
    if args.ledger:
        try:
            ledger(browser, args)
        finally:
            browser.close()
        print("dashboard: all checks passed")
        return
    if args.orders:
        try:
            open_orders(browser, args)
        finally:
            browser.close()
        print("dashboard: all checks passed")
        return
    if args.closed_reads:
        try:
            closed_reads(browser, args)
        finally:
            browser.close()
        print("dashboard: all checks passed")
        return
    try:
        # 1, 2: read-only.
        browser.navigate(args.url + "/", 1280, 900)
        browser.wait_for(f"{POSITIONS} > 0", "the positions")
        browser.wait_for(f"{STEPS} > 0", "the latest plan's steps")
        hidden = browser.evaluate(
            "[...document.querySelectorAll('.needs-token')].every(e => e.hidden || e.offsetParent === null)")
        if not hidden:
            fail("read-only mode shows a state-changing control")
        if browser.evaluate("document.getElementById('unlock').hidden"):
            fail("read-only mode hides the unlock button")
        mode = browser.evaluate("document.getElementById('mode').textContent")
        if "research" not in mode:
            fail(f"the mode badge says {mode!r}")
        browser.screenshot(os.path.join(args.out, "dashboard-desktop-read-only.png"))
        browser.navigate(args.url + "/", 390, 844, mobile=True)
        browser.wait_for(f"{STEPS} > 0", "the plan on a phone")
        browser.screenshot(os.path.join(args.out, "dashboard-phone.png"))
        if browser.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
            fail("the page is wider than a phone screen")
        # The time to the plan, measured in the page from navigation start.
        browser.call("Page.addScriptToEvaluateOnNewDocument", source="""
            new MutationObserver((_, observer) => {
              if (document.querySelectorAll('#plan-steps li').length > 0 && !window.__planAt) {
                window.__planAt = performance.now(); observer.disconnect();
              }
            }).observe(document, {subtree: true, childList: true});""")
        browser.navigate(args.url + "/", 1280, 900)
        rendered = browser.wait_for("window.__planAt", "the timed plan")
        print(f"plan rendered in {rendered:.0f} ms")
        targets_and_plan(browser, args)
        security_page(browser, args)
        # Visit after visit, each page loads in full: no earlier page holds a connection.
        page_timings(browser, argparse.Namespace(url=args.url, timings=8))
        if browser.console_errors:
            fail("console errors: " + "; ".join(browser.console_errors))

        # 3: plan now, with progress.
        browser.evaluate(f"sessionStorage.setItem('trading-planner-token', {json.dumps(args.token)})")
        browser.navigate(args.url + "/", 1280, 900)
        browser.wait_for(f"{STEPS} > 0", "the plan after unlocking")
        if browser.evaluate("document.getElementById('plan-now').offsetParent === null"):
            fail("with the token, Plan now is not visible")
        before = browser.evaluate("document.getElementById('plan-meta').textContent")
        browser.evaluate("""
            window.__progress = [];
            new MutationObserver(() => window.__progress.push(
                document.getElementById('progress-text').textContent))
              .observe(document.getElementById('progress-text'), {childList: true, characterData: true, subtree: true});
            document.getElementById('plan-now').click(); true""")
        browser.wait_for(
            f"document.getElementById('plan-meta').textContent !== {json.dumps(before)}"
            " && document.getElementById('plan-now').disabled === false",
            # A whole planning run of the debug build: generous on a loaded machine.
            "a new plan", timeout=90.0)
        progress = browser.evaluate("window.__progress")
        if not any("sequences" in p for p in progress):
            fail(f"no progress update was shown: {progress}")
        if not any("succeeded" in p for p in progress):
            fail(f"the run's end was not shown: {progress}")
        browser.screenshot(os.path.join(args.out, "dashboard-desktop-after-plan.png"))

        # 4: the settings form shows the server's message.
        browser.evaluate("""
            const input = document.getElementById('setting-max_plan_depth');
            input.value = '0';
            document.querySelector('#settings-form button[type=submit]').click(); true""")
        message = browser.wait_for(
            "document.getElementById('setting-max_plan_depth-problem').textContent",
            "the settings error")
        if "1 to 10" not in message:
            fail(f"the settings error does not carry the server's message: {message!r}")
        if browser.console_errors:
            # A refused settings update is an expected 422; only that may show in the log.
            unexpected = [e for e in browser.console_errors if "422" not in e]
            if unexpected:
                fail("console errors: " + "; ".join(unexpected))
        browser.screenshot(os.path.join(args.out, "dashboard-settings-error.png"))

        # 5: the backtest.
        errors_before = len(browser.console_errors)
        backtest(browser, args)
        if browser.console_errors[errors_before:]:
            fail("console errors: " + "; ".join(browser.console_errors[errors_before:]))
    finally:
        browser.close()
    print("dashboard: all checks passed")


if __name__ == "__main__":
    main()
