"""TCP connections made inside a pod's network namespace, for port-forward: the pod's own 127.0.0.1, reached
without a host port, a route or a helper process.

A socket belongs to the network namespace its creator was in when it was created, whatever that thread does next.
So a short-lived thread of its own enters the pod's namespace (setns(2) acts on the calling thread only), creates
and connects the socket, and goes back; if it could not go back it ends, and no other code ever runs in it.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import os
import socket
import threading
from concurrent.futures import Future

CLONE_NEWNET = 0x40000000
CONNECT_TIMEOUT = 5.0

_libc = ctypes.CDLL(None, use_errno=True)


class NetnsError(OSError):
    """The pod's network namespace could not be entered."""


def sandbox_netns(pid: int) -> str:
    """The network namespace of the process `pid` (the pod's pause container)."""
    if not isinstance(pid, int) or pid <= 1:
        raise NetnsError(errno.ESRCH, "the pod's sandbox is not running")
    return f"/proc/{pid}/ns/net"


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise NetnsError(err, f"setns: {os.strerror(err)}")


def _dial(netns_path: str, port: int) -> socket.socket:
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(netns_path, os.O_RDONLY)
    except OSError as exc:
        os.close(own)
        raise NetnsError(exc.errno or errno.ENOENT, "the pod's network namespace is gone") from exc
    try:
        _setns(target)
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=CONNECT_TIMEOUT)
        finally:
            _setns(own)  # raises if it cannot: this thread then ends without running anything else
        sock.setblocking(False)
        return sock
    finally:
        os.close(target)
        os.close(own)


async def connect(netns_path: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to 127.0.0.1:`port` in the namespace at `netns_path`, as asyncio streams."""
    if not 1 <= port <= 65535:
        raise ValueError(f"invalid port {port}")
    result: Future[socket.socket] = Future()

    def run() -> None:
        try:
            result.set_result(_dial(netns_path, port))
        except BaseException as exc:  # handed to the caller; this thread ends either way
            result.set_exception(exc)

    threading.Thread(target=run, name=f"netns-dial-{port}", daemon=True).start()
    sock = await asyncio.wrap_future(result)
    return await asyncio.open_connection(sock=sock, limit=1 << 20)
