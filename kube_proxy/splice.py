"""Userspace mode's TCP plumbing: a listening socket, a connector that tries endpoints in turn, and a splice that
copies bytes both ways between two non-blocking sockets.

Written on the event loop's reader/writer callbacks (`loop.add_reader`) rather than asyncio transports and
protocols: per connection that saves the task, the futures and about half the loop iterations, which is most of
what a userspace proxy adds to a short request (measured on loopback: ~0.35 ms -> ~0.28 ms over direct).

Flow control: a direction whose destination would block keeps the rest in a buffer, stops reading its source and
waits for the destination to be writable. Half-close is passed on (EOF from one side -> shutdown(SHUT_WR) of the
other); the connection is closed when both directions have ended and nothing is left to write.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kube_proxy.servicemap import Endpoint

log = logging.getLogger("kube_proxy.userspace")

CONNECT_TIMEOUT = 3.0
BUFFER = 65536
_AGAIN = (BlockingIOError, InterruptedError)


def _family(ip: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def _nodelay(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Splice:
    """One proxied connection (owns both sockets)."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, a: socket.socket, b: socket.socket, live: set[Splice]
    ) -> None:
        self.loop = loop
        self.live = live
        self.peer = {a: b, b: a}
        self.pending: dict[socket.socket, bytes] = {a: b"", b: b""}  # waiting to be written to that socket
        self.ended: set[socket.socket] = set()  # sources that sent EOF
        self.closed = False
        live.add(self)
        for src in (a, b):
            loop.add_reader(src, self._read, src)

    def _read(self, src: socket.socket) -> None:
        dst = self.peer[src]
        try:
            data = src.recv(BUFFER)
        except _AGAIN:
            return
        except OSError:
            self.close()
            return
        if not data:
            self.loop.remove_reader(src)
            self.ended.add(src)
            if not self.pending[dst]:
                self._finish(dst)
            return
        try:
            sent = dst.send(data)
        except _AGAIN:
            sent = 0
        except OSError:
            self.close()
            return
        if sent < len(data):
            self.pending[dst] = data[sent:]
            self.loop.remove_reader(src)  # back-pressure until dst drains
            self.loop.add_writer(dst, self._write, dst)

    def _write(self, dst: socket.socket) -> None:
        try:
            sent = dst.send(self.pending[dst])
        except _AGAIN:
            return
        except OSError:
            self.close()
            return
        self.pending[dst] = self.pending[dst][sent:]
        if self.pending[dst]:
            return
        self.loop.remove_writer(dst)
        src = self.peer[dst]
        if src in self.ended:
            self._finish(dst)
        else:
            self.loop.add_reader(src, self._read, src)

    def _finish(self, dst: socket.socket) -> None:
        """The direction into `dst` is over: pass the EOF on, or close when the other direction is over too."""
        if len(self.ended) == 2:
            self.close()
            return
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.live.discard(self)
        for sock in self.peer:
            self.loop.remove_reader(sock)
            self.loop.remove_writer(sock)
            sock.close()


@dataclass(eq=False)
class Connector:
    """Connect to the first endpoint of `candidates` that accepts, then splice; close the client if none does."""

    loop: asyncio.AbstractEventLoop
    client: socket.socket
    candidates: Sequence[Endpoint]
    on_connected: Callable[[Endpoint], None]
    live: set[Splice]
    name: str
    index: int = field(default=0, init=False)
    sock: socket.socket | None = field(default=None, init=False)
    timer: asyncio.TimerHandle | None = field(default=None, init=False)

    def start(self) -> None:
        while self.index < len(self.candidates):
            ep = self.candidates[self.index]
            self.index += 1
            sock = socket.socket(_family(ep.ip), socket.SOCK_STREAM)
            sock.setblocking(False)
            _nodelay(sock)
            err = sock.connect_ex((ep.ip, ep.port))
            if err == 0:
                self._done(sock, ep)
                return
            if err == errno.EINPROGRESS:
                self.sock = sock
                self.loop.add_writer(sock, self._writable, ep)
                self.timer = self.loop.call_later(CONNECT_TIMEOUT, self._failed, ep, "timed out")
                return
            sock.close()
            self._log(ep, errno.errorcode.get(err, str(err)))
        self.client.close()  # no endpoint took it: the client sees the connection closed

    def _writable(self, ep: Endpoint) -> None:
        assert self.sock is not None
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._failed(ep, errno.errorcode.get(err, str(err)))
            return
        self.loop.remove_writer(self.sock)
        if self.timer is not None:
            self.timer.cancel()
        self._done(self.sock, ep)

    def _failed(self, ep: Endpoint, why: str) -> None:
        assert self.sock is not None
        self.loop.remove_writer(self.sock)
        if self.timer is not None:
            self.timer.cancel()
        self.sock.close()
        self.sock = None
        self._log(ep, why)
        self.start()

    def _log(self, ep: Endpoint, why: str) -> None:
        log.info(
            "endpoint failed, trying the next",
            extra={"service": self.name, "endpoint": str(ep), "error": why},
        )

    def _done(self, sock: socket.socket, ep: Endpoint) -> None:
        self.on_connected(ep)
        Splice(self.loop, self.client, sock, self.live)


class Listener:
    """A listening socket whose connections go to `route(client_ip)` -> (candidates, on_connected, name)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        address: tuple[str, int],
        route: Callable[[str], tuple[Sequence[Endpoint], Callable[[Endpoint], None], str]],
        live: set[Splice],
    ) -> None:
        self.loop = loop
        self.route = route
        self.live = live
        self.sock = socket.socket(_family(address[0]), socket.SOCK_STREAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(address)
            self.sock.listen(1024)
            self.sock.setblocking(False)
        except OSError:
            self.sock.close()
            raise
        loop.add_reader(self.sock, self._accept)

    def _accept(self) -> None:
        for _ in range(64):  # a bounded batch, so one busy listener cannot starve the loop
            try:
                client, peer = self.sock.accept()
            except _AGAIN:
                return
            except OSError as exc:  # EMFILE and friends: leave it in the backlog for the next round
                log.warning("accept failed", extra={"error": str(exc)})
                return
            client.setblocking(False)
            _nodelay(client)
            candidates, on_connected, name = self.route(peer[0])
            Connector(self.loop, client, candidates, on_connected, self.live, name).start()

    def close(self) -> None:
        self.loop.remove_reader(self.sock)
        self.sock.close()
