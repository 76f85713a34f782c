"""Shared machinery of the fake upstream services: the threaded HTTP server, the fault
switches, the request log and the `LISTENING <port>` handshake.

Only the standard library is used, so the fakes run wherever a plain `python3` does.
"""

import argparse
import json
import socket
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

FAULTS = (
    "none",
    "delay",
    "hang",
    "http500",
    "http429",
    "malformed",
    "empty",
    "die_mid_response",
)

# A hung request sleeps this long at most; the process is normally killed well before.
HANG_SECONDS = 600.0
DEFAULT_DELAY_MS = 300


def utc_timestamp():
    """UTC ISO time without a zone suffix, as Python's `datetime.utcnow().isoformat()` gives."""
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def local_iso(moment):
    return moment.replace(microsecond=0).isoformat()


def local_now():
    return datetime.now()


def days_ago(days):
    return local_now() - timedelta(days=days)


class Response:
    """What a route answers: a status, a JSON-able payload or raw bytes, extra headers."""

    def __init__(self, status=200, payload=None, raw=None, content_type="application/json",
                 headers=None):
        self.status = status
        self.payload = payload
        self.raw = raw
        self.content_type = content_type
        self.headers = headers or {}

    def body(self):
        if self.raw is not None:
            return self.raw
        return json.dumps(self.payload).encode("utf-8")


def json_response(payload, status=200):
    return Response(status=status, payload=payload)


def detail(status, text):
    """FastAPI's `HTTPException` body."""
    return Response(status=status, payload={"detail": text})


def validation_error(loc, msg, value, kind="missing", ctx=None):
    """FastAPI's 422 body for one failed field."""
    error = {"type": kind, "loc": list(loc), "msg": msg, "input": value}
    if ctx is not None:
        error["ctx"] = ctx
    return Response(status=422, payload={"detail": [error]})


def not_found():
    return detail(404, "Not Found")


def method_not_allowed():
    return detail(405, "Method Not Allowed")


def emptied(value):
    """The `empty` fault's version of an answer: lists and objects inside are emptied and scalars
    beside them kept (`{"symbol": "X", "candles": []}`); an object of scalars only becomes `{}`."""
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        containers = [v for v in value.values() if isinstance(v, (list, dict))]
        if not containers:
            return {}
        return {
            k: ([] if isinstance(v, list) else {}) if isinstance(v, (list, dict)) else v
            for k, v in value.items()
        }
    return value


class Request:
    def __init__(self, method, path, query, params, body, raw_body, headers):
        self.method = method
        self.path = path
        self.query = query
        # Last value of each query parameter, which is how FastAPI reads a scalar parameter.
        self.params = {k: v[-1] for k, v in params.items()}
        self.body = body
        self.raw_body = raw_body
        self.headers = headers


class FaultState:
    """The switches a test flips; read by every request, so guarded by a lock."""

    def __init__(self, options):
        self.lock = threading.Lock()
        self.fault = "none"
        self.delay_ms = DEFAULT_DELAY_MS
        self.routes = None
        self.options = dict(options)

    def snapshot(self):
        with self.lock:
            return {
                "fault": self.fault,
                "delay_ms": self.delay_ms,
                "routes": self.routes,
                **self.options,
            }

    def update(self, changes, option_choices):
        """Applies a `/_control` body; returns an error text or None."""
        if not isinstance(changes, dict):
            return "the body must be a JSON object"
        fault = changes.get("fault")
        if fault is not None and fault not in FAULTS:
            return f"unknown fault {fault!r}; known: {', '.join(FAULTS)}"
        delay_ms = changes.get("delay_ms")
        if delay_ms is not None and (not isinstance(delay_ms, (int, float)) or delay_ms < 0):
            return "delay_ms must be a non-negative number"
        routes = changes.get("routes", ...)
        if routes is not ... and routes is not None and (
            not isinstance(routes, list) or not all(isinstance(r, str) for r in routes)
        ):
            return "routes must be a list of path prefixes or null"
        for name, value in changes.items():
            if name in ("fault", "delay_ms", "routes"):
                continue
            if name not in option_choices:
                return f"unknown switch {name!r}"
            if value not in option_choices[name]:
                return f"{name} must be one of {', '.join(option_choices[name])}"
        with self.lock:
            if fault is not None:
                self.fault = fault
                # Choosing a fault without routes means every route, whatever was set before.
                if routes is ...:
                    self.routes = None
            if delay_ms is not None:
                self.delay_ms = int(delay_ms)
            if routes is not ...:
                self.routes = routes or None
            for name, value in changes.items():
                if name in option_choices:
                    self.options[name] = value
        return None

    def fault_for(self, path):
        with self.lock:
            if self.fault == "none":
                return "none", 0
            if self.routes and not any(path.startswith(prefix) for prefix in self.routes):
                return "none", 0
            return self.fault, self.delay_ms

    def option(self, name):
        with self.lock:
            return self.options[name]


class RequestLog:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries = []

    def append(self, entry):
        with self.lock:
            self.entries.append(entry)

    def all(self):
        with self.lock:
            return list(self.entries)

    def clear(self):
        with self.lock:
            self.entries.clear()


class FakeService:
    """One fake: subclasses give the name, the routes and the switches besides the faults."""

    name = "fake"
    # Switches besides the fault: name -> allowed values; the first is the default.
    option_choices = {}
    # Request headers kept in the request log.
    logged_headers = ("x-request-id", "idempotency-key")

    def __init__(self, options):
        self.state = FaultState(options)
        self.log = RequestLog()

    @classmethod
    def add_arguments(cls, parser):
        """Command-line flags of this fake besides the common ones."""

    def configure(self, args):
        """Reads the flags of `add_arguments` once they are parsed."""

    def handle(self, request):
        raise NotImplementedError

    def malformed_body(self):
        return b'{"broken": [1, 2,'

    def emptied(self, payload):
        return emptied(payload)


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive, as the real uvicorn servers do; every answer therefore
    # carries a Content-Length.
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "uvicorn"

    def log_message(self, format, *args):
        if self.server.verbose:
            sys.stderr.write(f"{self.server.service.name}: {format % args}\n")

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def dispatch(self):
        service = self.server.service
        raw_body = self.read_body()
        split = urlsplit(self.path)
        path = split.path
        body = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body = raw_body.decode("utf-8", "replace")

        if path == "/_control":
            self.control(service, body)
            return
        if path == "/_requests":
            self.requests_route(service)
            return

        headers = {}
        for name in service.logged_headers:
            value = self.headers.get(name)
            if value is not None:
                headers[name] = value
        service.log.append({
            "method": self.command,
            "path": path,
            "query": split.query,
            "body": body,
            "headers": headers,
            "received_at": time.time(),
        })

        fault, delay_ms = service.state.fault_for(path)
        if fault == "hang":
            self.hang()
            return
        if fault == "delay":
            time.sleep(delay_ms / 1000.0)
        if fault == "http500":
            # An uncaught exception in FastAPI answers plain text.
            self.send(Response(500, raw=b"Internal Server Error", content_type="text/plain; charset=utf-8"))
            return
        if fault == "http429":
            self.send(Response(429, payload={"detail": "Too Many Requests"},
                               headers={"Retry-After": "1"}))
            return

        request = Request(self.command, path, split.query, parse_qs(split.query), body,
                          raw_body, self.headers)
        try:
            response = service.handle(request)
        except Exception as error:  # a bug in the fake must show, not kill the connection thread
            sys.stderr.write(f"{service.name}: {self.command} {path}: {error!r}\n")
            response = Response(500, raw=b"Internal Server Error",
                                content_type="text/plain; charset=utf-8")

        if fault == "malformed":
            response = Response(200, raw=service.malformed_body())
        elif fault == "empty" and response.raw is None:
            response = Response(response.status, payload=service.emptied(response.payload),
                                headers=response.headers)
        if fault == "die_mid_response":
            self.die_mid_response(response)
            return
        self.send(response)

    def send(self, response):
        body = response.body()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def hang(self):
        """Never answers: the socket stays open until the client gives up or the process ends."""
        deadline = time.monotonic() + HANG_SECONDS
        while time.monotonic() < deadline and not self.server.stopping.is_set():
            time.sleep(0.05)
        self.close_connection = True

    def die_mid_response(self, response):
        """Promises the whole body in Content-Length, sends half of it, then closes the socket."""
        body = response.body()
        half = body[: max(1, len(body) // 2)]
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(body) + 64))
        self.end_headers()
        self.wfile.write(half)
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def control(self, service, body):
        if self.command == "GET":
            self.send(json_response(service.state.snapshot()))
            return
        if self.command != "POST":
            self.send(method_not_allowed())
            return
        error = service.state.update(body if body is not None else {}, service.option_choices)
        if error is not None:
            self.send(detail(400, error))
            return
        self.send(json_response(service.state.snapshot()))

    def requests_route(self, service):
        if self.command == "GET":
            self.send(json_response(service.log.all()))
        elif self.command == "DELETE":
            service.log.clear()
            self.send(json_response({"cleared": True}))
        else:
            self.send(method_not_allowed())


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, service, verbose):
        self.service = service
        self.verbose = verbose
        self.stopping = threading.Event()
        super().__init__(address, Handler)


def main(service_class, description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--fault", choices=FAULTS, default="none", help="fault to start with")
    parser.add_argument("--delay-ms", type=int, default=DEFAULT_DELAY_MS,
                        help="sleep of the delay fault, in milliseconds")
    parser.add_argument("--route", action="append", default=None, metavar="PREFIX",
                        help="limit the fault to paths starting with PREFIX (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    for name, choices in service_class.option_choices.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, choices=choices,
                            default=choices[0])
    service_class.add_arguments(parser)
    args = parser.parse_args()

    options = {name: getattr(args, name) for name in service_class.option_choices}
    service = service_class(options)
    service.configure(args)
    service.state.update({"fault": args.fault, "delay_ms": args.delay_ms, "routes": args.route},
                         service_class.option_choices)

    server = Server((args.host, args.port), service, args.verbose)
    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()
        server.server_close()
