"""A client that runs inside a pod's network namespace (`nsenter --net=/proc/PID/ns/net python -m bench.netprobe`),
so its packets leave the pod and cross the node's FORWARD chain like the pod's own would.

    python -m bench.netprobe watch IP PORT SECONDS     a TCP connect every 5 ms; prints a JSON line with the
                                                       monotonic time whenever the outcome (open/refused) changes
    python -m bench.netprobe latency IP PORT COUNT     COUNT sequential HTTP/1.0 GETs, each on a new connection;
                                                       prints one JSON line: every request's seconds

CLOCK_MONOTONIC is the machine's, so the times `watch` prints compare with the caller's `time.monotonic()`.
Sends only to the address it is given (a pod of the benchmark).
"""

from __future__ import annotations

import json
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.0\r\n\r\n"


def connects(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.5):
            return True
    except OSError:
        return False


def watch(ip: str, port: int, seconds: float) -> None:
    state: bool | None = None
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ok = connects(ip, port)
        if ok != state:
            state = ok
            print(json.dumps({"t": time.monotonic(), "open": ok}), flush=True)
        time.sleep(0.005)


def one_request(ip: str, port: int) -> float:
    """One GET on a fresh connection; returns seconds from connect() to the server closing it."""
    start = time.perf_counter()
    with socket.create_connection((ip, port), timeout=5) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(REQUEST)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    elapsed = time.perf_counter() - start
    if not data.startswith(b"HTTP/1.") or b" 200 " not in data.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"bad response from {ip}:{port}: {data[:80]!r}")
    return elapsed


def latency(ip: str, port: int, count: int) -> None:
    for _ in range(min(50, count)):  # warm-up: ARP, the httpd's page cache
        one_request(ip, port)
    print(json.dumps([one_request(ip, port) for _ in range(count)]), flush=True)


def main() -> None:
    mode, ip, port, arg = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if mode == "watch":
        watch(ip, port, float(arg))
    elif mode == "latency":
        latency(ip, port, int(arg))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
