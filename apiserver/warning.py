"""Warnings for the client, as `Warning: 299 - "..."` response headers (kube-apiserver's warning.AddWarning).

A handler opens a collection with `collecting()`; anything below it in the same task (admission plugins, through
the store) adds messages with `add`; the handler turns them into headers with `headers`. kubectl prints each one
as `Warning: <message>`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

MAX_WARNING_BYTES = 4096  # per warning, as kube-apiserver truncates them
MAX_WARNINGS = 64

_sink: ContextVar[list[str] | None] = ContextVar("warnings", default=None)


@contextlib.contextmanager
def collecting() -> Iterator[list[str]]:
    sink: list[str] = []
    token = _sink.set(sink)
    try:
        yield sink
    finally:
        _sink.reset(token)


def add(*messages: str) -> None:
    """Add warnings to the current request (deduplicated); a no-op outside a request."""
    sink = _sink.get()
    if sink is None:
        return
    for message in messages:
        if message and message not in sink and len(sink) < MAX_WARNINGS:
            sink.append(message)


def header_value(message: str) -> str:
    """RFC 7234 warn-code 299, agent "-", the text quoted: printable ASCII only (headers are latin-1 and the rest
    could end a header line), `\\` and `"` escaped."""
    text = "".join(c if " " <= c <= "~" else "?" for c in message)[:MAX_WARNING_BYTES]
    return '299 - "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def headers(messages: list[str]) -> list[tuple[bytes, bytes]]:
    return [(b"warning", header_value(m).encode("latin-1")) for m in messages]
