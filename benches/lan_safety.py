#!/usr/bin/env python3
"""Full-size LAN-safety figures of a running `trading-planner serve` (see BENCHMARKS.md).

    cargo build --release
    python3 benches/lan_safety.py target/release/trading-planner [runs]

Starts the server on a free loopback port with a fresh data directory (demo data, 510 plans
added through the store), then measures, `runs` times each (median printed):
  - the time a new client waits for /healthz while 1,500 idle connections are open;
  - the peak RSS growth of 16 concurrent GET /api/plans?limit=500;
  - the peak RSS growth of 16 MiB malformed bodies to PUT /api/settings and
    POST /evaluator/evaluate, and the largest answer to them;
  - the time SIGTERM takes to end the process with 16 requests in flight.
Only the standard library is used; the client raises its own file limit for the idle sockets.
"""

import json
import os
import resource
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def http(port, method, path, body=b"", timeout=60):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        s.sendall(head)
        try:
            s.sendall(body)
        except OSError:
            pass  # the server answered 413 and closed before the whole body was sent
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data.split(b"\r\n\r\n", 1)[-1]


class Server:
    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="lan-safety-")
        self.port = free_port()
        env = dict(os.environ, RUST_LOG="warn")
        self.proc = subprocess.Popen(
            [binary, "serve", "--bind", f"127.0.0.1:{self.port}", "--data-dir", self.dir],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if http(self.port, "GET", "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("server did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def add_plans(server, n=510):
    """Adds n plans of a realistic size (five steps with narratives) straight to the database."""
    db = sqlite3.connect(os.path.join(server.dir, "trading-planner.db"), timeout=30)
    body = json.dumps({"narrative": "x" * 400, "total_value_eur": "1000.00",
                       "detail": ["y" * 100] * 20})
    for i in range(n):
        cur = db.execute(
            "INSERT INTO plans (created_at, status, portfolio_hash, score_before, score_after, body) "
            "VALUES (datetime('now'), 'proposed', ?, 0.5, 0.6, ?)", (f"bench-{i}", body))
        plan_id = cur.lastrowid
        for step in range(5):
            db.execute(
                "INSERT INTO plan_steps (plan_id, step, side, symbol, quantity, value_eur_minor, narrative, reason) "
                "VALUES (?, ?, 'BUY', 'SAP.EU', '1', 23150, ?, 'quality')",
                (plan_id, step, "z" * 300))
    db.commit()
    db.close()


def peak_growth(server, work):
    base = rss_kb(server.proc.pid)
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(server.proc.pid))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    result = work()
    done.set()
    sampler.join()
    return (peak[0] - base) / 1024, result


def idle_connections(server):
    held = []
    for _ in range(1500):
        try:
            held.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        except OSError:
            break
    started = time.time()
    status, _ = http(server.port, "GET", "/healthz", timeout=30)
    elapsed = time.time() - started
    for s in held:
        s.close()
    return elapsed, status


def concurrent(n, fn):
    results = [None] * n
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, fn())) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def lists(server):
    return peak_growth(server, lambda: concurrent(
        16, lambda: http(server.port, "GET", "/api/plans?limit=500")))


def bad_bodies(server):
    body = b'{"x": "' + b"a" * (16 * 1024 * 1024) + b'"'  # malformed: never closed
    def work():
        out = []
        for path, method in [("/api/settings", "PUT"), ("/evaluator/evaluate", "POST")]:
            out.append(http(server.port, method, path, body))
        return out
    return peak_growth(server, work)


def sigterm_under_load(binary):
    server = Server(binary)
    try:
        def slow():
            try:
                http(server.port, "GET", "/api/plans?limit=500", timeout=30)
            except OSError:
                pass
        threads = [threading.Thread(target=slow) for _ in range(16)]
        for t in threads:
            t.start()
        started = time.time()
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=60)
        return time.time() - started
    finally:
        server.stop()


def main():
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    figures = {k: [] for k in ["idle_wait_s", "list_growth_mb", "bad_body_growth_mb",
                               "bad_body_answer_bytes", "sigterm_exit_s"]}
    for _ in range(runs):
        server = Server(binary)
        try:
            add_plans(server)
            wait, status = idle_connections(server)
            assert status == 200, status
            figures["idle_wait_s"].append(wait)
            growth, answers = lists(server)
            assert all(s == 200 for s, _ in answers), [s for s, _ in answers]
            figures["list_growth_mb"].append(growth)
            growth, answers = bad_bodies(server)
            figures["bad_body_growth_mb"].append(growth)
            figures["bad_body_answer_bytes"].append(max(len(b) for _, b in answers))
            print("bad body statuses:", [s for s, _ in answers], file=sys.stderr)
        finally:
            server.stop()
        figures["sigterm_exit_s"].append(sigterm_under_load(binary))
    for key, values in figures.items():
        print(f"{key}: median {statistics.median(values):.3f} (runs: "
              + ", ".join(f"{v:.3f}" for v in values) + ")")


if __name__ == "__main__":
    main()
