"""The channel framing Kubernetes speaks over WebSocket for exec, attach and port-forward (k8s.io/apimachinery
pkg/util/httpstream/wsstream and the kubelet's remotecommand and portforward servers).

Every WebSocket message belongs to one channel, named by its first byte (binary subprotocols) or by its first
character, a decimal digit, followed by base64 of the payload (the `base64.` subprotocols, text messages).

    exec / attach   0 stdin, 1 stdout, 2 stderr, 3 error (a JSON metav1.Status when the process ends: v4 and
                    later carry the exit code in it), 4 resize ({"Width":..,"Height":..}); v5 adds 255 "close":
                    its one-byte payload names a channel the sender will not write again (stdin's end of file).
    port-forward    per requested port i, data on channel 2i and errors on 2i+1; the server's first message on each
                    channel is the port number, 2 bytes little-endian.

This module is the pure framing: the kubelet, kctl and the tests use it; the apiserver relays messages untouched.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
V4_BASE64 = "v4.base64.channel.k8s.io"
V1 = "channel.k8s.io"
V1_BASE64 = "base64.channel.k8s.io"
PORT_FORWARD = "portforward.k8s.io"
SPDY_TUNNEL_PORT_FORWARD = (
    "SPDY/3.1+portforward.k8s.io"  # kubectl >= 1.31: SPDY framing inside WebSocket messages
)

# What each endpoint accepts, most preferred first (the server picks the first of these the client offers).
EXEC_PROTOCOLS = (V5, V4, V4_BASE64, V1, V1_BASE64)
PORT_FORWARD_PROTOCOLS = (SPDY_TUNNEL_PORT_FORWARD, V4, V4_BASE64, PORT_FORWARD, V1, V1_BASE64)


class FrameError(ValueError):
    """A WebSocket message that is not a valid channel frame."""


@dataclass(frozen=True)
class Framing:
    """How one negotiated subprotocol frames channels."""

    protocol: str

    @property
    def base64(self) -> bool:
        return "base64" in self.protocol

    @property
    def has_close(self) -> bool:
        return self.protocol == V5

    @property
    def has_exit_code(self) -> bool:
        return self.protocol in (V5, V4, V4_BASE64)

    def encode(self, channel: int, payload: bytes) -> bytes | str:
        if self.base64:
            return str(channel) + base64.b64encode(payload).decode("ascii")
        return bytes((channel,)) + payload

    def decode(self, message: bytes | str) -> tuple[int, bytes]:
        if isinstance(message, str) and not self.base64:
            # The channel byte and payload in a text message (the Python client's write_stdin of a str).
            message = message.encode("utf-8")
        if isinstance(message, str):
            if not message or not message[0].isdigit():
                raise FrameError("a base64 message must start with its channel digit")
            try:
                return int(message[0]), base64.b64decode(message[1:], validate=True)
            except binascii.Error as exc:
                raise FrameError(f"bad base64 payload: {exc}") from None
        if not message:
            raise FrameError("empty message")
        return message[0], message[1:]


def negotiate(offered: list[str] | tuple[str, ...], supported: tuple[str, ...]) -> str | None:
    """The first protocol of `supported` the client offered; None when there is none in common."""
    for protocol in supported:
        if protocol in offered:
            return protocol
    return None


def exit_status(code: int) -> dict[str, Any]:
    """The error channel's last word (v4): Success, or NonZeroExitCode with the code as its one cause."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command [...], exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def failure_status(message: str, *, reason: str = "InternalError", code: int = 500) -> dict[str, Any]:
    return {"metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


def exit_code_of(status_bytes: bytes) -> tuple[int | None, str]:
    """(exit code, message) from an error-channel payload: (0, "") on Success, (N, msg) for NonZeroExitCode,
    (None, message) for any other failure. v1 protocols send the bare message instead of a Status."""
    text = status_bytes.decode("utf-8", errors="replace")
    try:
        status = json.loads(text)
    except ValueError:
        return None, text
    if not isinstance(status, dict):
        return None, text
    if status.get("status") == "Success":
        return 0, ""
    message = str(status.get("message") or "")
    if status.get("reason") == "NonZeroExitCode":
        for cause in (status.get("details") or {}).get("causes") or []:
            if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
                try:
                    return int(cause.get("message", "")), message
                except ValueError:
                    break
    return None, message


def parse_resize(payload: bytes) -> tuple[int, int] | None:
    """(width, height) of a resize message, None when it is not one (ignored, as upstream logs and goes on)."""
    try:
        size = json.loads(payload)
        width, height = int(size["Width"]), int(size["Height"])
    except (ValueError, KeyError, TypeError):
        return None
    if not (0 < width <= 65535 and 0 < height <= 65535):
        return None
    return width, height


def port_prefix(port: int) -> bytes:
    return port.to_bytes(2, "little")
