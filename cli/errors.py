"""What kctl prints when something goes wrong: one readable line on stderr, exit code 1.

    CLIError        a problem kctl found itself (bad input, a missing file); printed as "error: <message>"
    ManifestError   a manifest that cannot be read or parsed (a CLIError)

Errors from elsewhere are translated once, here, in `describe(exc)`: the server's `Status`
(`Error from server (NotFound): pods "x" not found`), an unreachable server (kubectl's own wording), a broken
kubeconfig.
"""

from __future__ import annotations

import httpx

from apimachinery.client import ClientConnectionError
from apimachinery.errors import StatusError, is_unauthorized
from apimachinery.jsonpath import JSONPathError
from apimachinery.kubeconfig import KubeconfigError


class CLIError(Exception):
    """A user-facing error found by kctl itself; the message is printed after "error: "."""


class ManifestError(CLIError):
    """A manifest file is missing, unreadable or not valid YAML/JSON."""


def server_address(server: str) -> str:
    """`127.0.0.1:6443` from `https://127.0.0.1:6443/` (the way kubectl names the server in errors)."""
    url = httpx.URL(server)
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.host}:{port}"


def status_line(err: StatusError, action: str | None = None) -> str:
    """kubectl's line for an error Status; `action` (e.g. 'error when creating "pod.yaml"') goes before it."""
    if is_unauthorized(err):
        return "error: You must be logged in to the server (Unauthorized)"
    message = err.message or err.reason
    if action:
        message = f"{action}: {message}"
    return f"Error from server ({err.reason}): {message}"


def connection_line(exc: ClientConnectionError, server: str) -> str:
    """kubectl's line for a server it could not reach."""
    cause = exc.__cause__
    address = server_address(server)
    if isinstance(cause, httpx.ConnectTimeout | httpx.PoolTimeout):
        return f"Unable to connect to the server: dial tcp {address}: i/o timeout"
    if isinstance(cause, httpx.TimeoutException):
        return f"Unable to connect to the server: net/http: request to {address} timed out"
    if isinstance(cause, httpx.ConnectError):
        text = str(cause)
        if "refused" in text.lower() or "all connection attempts failed" in text.lower():
            return f"The connection to the server {address} was refused - did you specify the right host or port?"
        return f"Unable to connect to the server: {text or type(cause).__name__}"
    detail = str(cause) if cause else str(exc)
    return f"Unable to connect to the server: {detail or type(cause).__name__}"


def describe(exc: BaseException, server: str | None) -> str:
    """The one line printed for an error that ended a command."""
    if isinstance(exc, StatusError):
        return status_line(exc)
    if isinstance(exc, ClientConnectionError):
        return connection_line(exc, server or "")
    if isinstance(exc, KubeconfigError):
        return f"error: {exc}"
    if isinstance(exc, CLIError | JSONPathError):
        return f"error: {exc}"
    return f"error: {type(exc).__name__}: {exc}"
