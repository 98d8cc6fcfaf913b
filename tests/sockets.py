"""Raw sockets in tests: one request/reply exchange over a connected socket (a port-forward's, say)."""

from __future__ import annotations

import socket


def exchange(sock: socket.socket, request: bytes, timeout: float) -> bytes:
    """Send `request` on `sock` (blocking, `timeout` per operation), read the reply until the peer closes, close
    `sock`; the reply."""
    sock.setblocking(True)
    sock.settimeout(timeout)
    sock.sendall(request)
    reply = b""
    while chunk := sock.recv(65536):
        reply += chunk
    sock.close()
    return reply
