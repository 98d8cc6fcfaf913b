"""HTTP framing limits below the application: what a client may hold open, and how much it may send as headers.

uvicorn's httptools protocol with the verified client certificate's subject in every request's scope
(apimachinery.tlsserve.ClientCertProtocol), plus:

* a header deadline: from the moment a connection opens (or a new request starts on a kept-alive one) the request
  line and all headers must arrive within `header_timeout` seconds (Go's ReadHeaderTimeout; kube-apiserver uses
  32 s). A connection that sends nothing, or sends headers a byte at a time (slowloris), is closed; one with a
  partial request gets a 408 Status first;
* header limits: at most `max_header_bytes` (request line included, Go's MaxHeaderBytes, 1 MiB) and
  `max_header_count` fields, else 431 Request Header Fields Too Large;
* a Kubernetes `Status` body (JSON) instead of plain text for every request the parser refuses (400).

The kept-alive idle timeout between requests is uvicorn's own (`timeout_keep_alive`). The request body is read by
the application under its own deadline (apiserver.request.read_body). `guarded_protocol(...)` returns the class
to give uvicorn as `http=`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from apimachinery import serialization
from apimachinery.errors import StatusError
from apimachinery.tlsserve import ClientCertProtocol

log = logging.getLogger("apiserver.http")


@dataclass(frozen=True)
class Limits:
    header_timeout: float = 32.0
    max_header_bytes: int = 1 << 20
    max_header_count: int = 256


class _HeadersTooLarge(Exception):
    """Raised from a parser callback; httptools turns it into a parser error."""


class GuardedProtocol(ClientCertProtocol):
    limits = Limits()

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._in_request = False
        self._header_bytes = 0
        self._header_count = 0
        self._refusal: StatusError | None = None
        self._arm_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_deadline()
        super().connection_lost(exc)

    # -- the header deadline -----------------------------------------------------------------------------------

    def _arm_deadline(self) -> None:
        self._disarm_deadline()
        self._deadline = self.loop.call_later(self.limits.header_timeout, self._deadline_passed)

    def _disarm_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if not self._in_request:
            self.transport.close()  # idle: nothing to answer, as Go's server closes it
            return
        log.info("request headers not received in time", extra={"client": _peer(self.client)})
        self._send_status(
            StatusError(
                408,
                "Timeout",
                f"the request headers were not received within {self.limits.header_timeout:g}s",
            )
        )

    # -- parser callbacks --------------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_request = True
        self._header_bytes = 0
        self._header_count = 0
        self._arm_deadline()

    def on_url(self, url: bytes) -> None:
        self._count(len(url), 0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4, 1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_deadline()
        self._in_request = False
        super().on_headers_complete()

    def _count(self, size: int, fields: int) -> None:
        self._header_bytes += size
        self._header_count += fields
        if (
            self._header_bytes > self.limits.max_header_bytes
            or self._header_count > self.limits.max_header_count
        ):
            self._refusal = StatusError(
                431,
                "RequestHeaderFieldsTooLarge",
                f"the request headers are over the limit of {self.limits.max_header_bytes} bytes "
                f"or {self.limits.max_header_count} fields",
            )
            raise _HeadersTooLarge()

    # -- refusals ----------------------------------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """Every request the parser refuses gets a Status body; over-large headers get their own 431."""
        refusal = self._refusal or StatusError(400, "BadRequest", f"invalid HTTP request: {msg}")
        self._send_status(refusal)

    def _send_status(self, err: StatusError) -> None:
        self._disarm_deadline()
        body = serialization.dumps(err.status())
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[err.code],
                    b"content-type: application/json\r\n",
                    b"content-length: " + str(len(body)).encode() + b"\r\n",
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        self.transport.close()


def _peer(client: Any) -> str:
    return f"{client[0]}:{client[1]}" if client else ""


def guarded_protocol(limits: Limits) -> type[GuardedProtocol]:
    """The protocol class for uvicorn's `http=` with these limits."""
    return type("GuardedProtocol", (GuardedProtocol,), {"limits": limits})
