"""Waiting for objects: the states of one object as a stream (list, then watch; relist on 410 or when the
server ends the stream), and the feedback line a waiting command shows.

On a terminal the feedback is one live line (a rich spinner with the latest message); when piped, each new
message is printed once as a plain line, like kubectl.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator
from contextlib import aclosing
from types import TracebackType
from typing import Any

from apimachinery.client import Client
from apimachinery.errors import StatusError, is_gone
from apimachinery.resources import ResourceInfo


async def object_states(
    client: Client, res: ResourceInfo, namespace: str | None, name: str
) -> AsyncGenerator[dict[str, Any] | None, None]:
    """The object now, then after every change; None while it does not exist. Runs until the caller stops."""
    fs = f"metadata.name={name}"
    ns = namespace if res.namespaced else None
    while True:
        lst = await client.list(res, ns, field_selector=fs)
        items = lst["items"]
        yield items[0] if items else None
        rv = str((lst.get("metadata") or {}).get("resourceVersion") or "")
        watch = client.watch(res, ns, field_selector=fs, resource_version=rv or None, timeout_seconds=300)
        try:
            async with aclosing(watch) as events:  # type: ignore[type-var]
                async for etype, obj in events:
                    if etype == "DELETED":
                        yield None
                    elif etype in ("ADDED", "MODIFIED"):
                        yield obj
        except StatusError as err:
            if not is_gone(err):
                raise
            # Expired: our resourceVersion fell out of the server's window; relist and go on.


class Progress:
    """A live status line on a terminal, plain lines otherwise."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last: str | None = None
        self._status: Any = None

    def __enter__(self) -> Progress:
        if self.tty:
            from rich.console import Console

            self._status = Console(file=self.stream).status("", spinner="dots")
            self._status.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def update(self, message: str) -> None:
        if message == self.last:
            return
        self.last = message
        if self._status is not None:
            self._status.update(message)
        else:
            print(message, file=self.stream, flush=True)

    def done(self, message: str) -> None:
        """The final line; it stays on screen in both modes."""
        self._stop()
        print(message, file=self.stream, flush=True)
