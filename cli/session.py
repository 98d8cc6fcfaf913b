"""The global options every command shares, the client they make, and running a command's coroutine.

Global options may appear anywhere on the command line, as with kubectl (`kctl get pods -n web`);
`hoist_globals` moves them in front of the subcommand, where the root callback reads them into `Globals`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from apimachinery.client import Client
from apimachinery.durations import parse_flag_duration
from apimachinery.kubeconfig import ClientConfig, KubeconfigError, load
from cli.errors import CLIError

T = TypeVar("T")

# flag -> takes a value. Anything after "--" belongs to the command (e.g. `kctl run x --command -- sh -n`).
GLOBAL_FLAGS: dict[str, bool] = {
    "--kubeconfig": True,
    "--context": True,
    "--server": True,
    "-s": True,
    "--token": True,
    "--namespace": True,
    "-n": True,
    "--request-timeout": True,
}


def hoist_globals(argv: list[str]) -> list[str]:
    """Move global flags (and their values) to the front of `argv`, keeping their order."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_FLAGS:
            front.append(arg)
            if "=" not in arg and i + 1 < len(argv):
                front.append(argv[i + 1])
                i += 1
        elif re.fullmatch(r"-n[^-=].*", arg):  # -nkube-system
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def parse_duration(text: str | None, default: float | None = None) -> float | None:
    """Seconds from a Go-style duration (`30s`, `1m30s`, `2h`, `500ms`) or a bare number of seconds; 0 = none."""
    if text is None or text == "":
        return default
    try:
        return parse_flag_duration(text)
    except ValueError:
        raise CLIError(f'invalid duration "{text}" (use e.g. 30s, 5m, 1h)') from None


@dataclass
class Globals:
    kubeconfig: str | None = None
    context: str | None = None
    server: str | None = None
    token: str | None = None
    namespace: str | None = None
    request_timeout: str | None = None

    def client_config(self) -> ClientConfig:
        """The kubeconfig's context with --server/--token applied; --server alone needs no kubeconfig."""
        try:
            config = load(self.kubeconfig, self.context)
        except KubeconfigError:
            if not self.server:
                raise
            config = ClientConfig(server=self.server)
        if self.server:
            server = self.server if "://" in self.server else f"http://{self.server}"
            config.server = server.rstrip("/")
        if self.token:
            config.token = self.token
        return config

    @property
    def server_hint(self) -> str | None:
        """The server URL for error messages, without failing when the kubeconfig is broken."""
        try:
            return self.client_config().server
        except Exception:  # a broken kubeconfig is reported by the command itself
            return self.server

    def make_client(self) -> Client:
        return Client(self.client_config(), user_agent="kctl/0.1.0")

    def default_namespace(self) -> str:
        if self.namespace:
            return self.namespace
        try:
            return self.client_config().namespace or "default"
        except KubeconfigError:
            return "default"

    def timeout(self) -> float | None:
        return parse_duration(self.request_timeout, None) or None


GLOBALS = Globals()


def run(fn: Callable[[Client], Awaitable[T]]) -> T:
    """Run `fn(client)` in a fresh event loop, closing the client afterwards; honour --request-timeout."""
    timeout = GLOBALS.timeout()

    async def main() -> T:
        client = GLOBALS.make_client()
        try:
            if timeout:
                async with asyncio.timeout(timeout):
                    return await fn(client)
            return await fn(client)
        finally:
            await client.aclose()

    try:
        return asyncio.run(main())
    except TimeoutError as exc:
        raise CLIError(f"the request timed out after {GLOBALS.request_timeout}") from exc


def current_namespace() -> str:
    """-n, else the context's namespace, else "default"."""
    return GLOBALS.default_namespace()


def namespace_of(all_namespaces: bool = False) -> str | None:
    """The namespace a command works in: None for -A, else -n, the context's namespace or "default"."""
    return None if all_namespaces else GLOBALS.default_namespace()
