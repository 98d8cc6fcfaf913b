"""`kctl exec` and `kctl attach`: a command in (or the main process of) a container, through the apiserver's
pods/exec and pods/attach WebSocket, with kubectl's flags and exit codes (the remote command's code is ours)."""

from __future__ import annotations

import contextlib
import os
import sys
import termios
import tty as ttymod
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from apimachinery import channels
from apimachinery.client import Client
from cli import streaming
from cli.errors import CLIError
from cli.logs import pick_container
from cli.session import current_namespace, run
from cli.targets import builtin

app = typer.Typer()

PROTOCOLS = (channels.V5, channels.V4)

# The flags exec and attach share (kubectl's StreamOptions).
Pod = Annotated[str, typer.Argument(help="POD (or pod/NAME)")]
Container = Annotated[str | None, typer.Option("-c", "--container", help="Container name")]
Stdin = Annotated[bool, typer.Option("-i", "--stdin", help="Pass stdin to the container")]
Tty = Annotated[bool, typer.Option("-t", "--tty", help="Stdin is a TTY")]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="Only print output from the remote session")]


async def _pod(client: Client, name: str, ns: str, verb: str) -> dict[str, Any]:
    pod = await client.get(builtin("pods"), name, ns)
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise CLIError(f"cannot {verb} into a container in a completed pod; current phase is {phase}")
    return pod


@contextlib.contextmanager
def raw_terminal(enabled: bool) -> Iterator[None]:
    """The local terminal in raw mode while a remote tty owns it (keys go through as typed)."""
    if not enabled or not sys.stdin.isatty():
        yield
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    ttymod.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def terminal_size() -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return None
    return size.columns, size.lines


async def stream_to(
    client: Client, pod: str, ns: str, sub: str, query: dict[str, Any], *, stdin: bool, tty: bool
) -> int:
    path = builtin("pods").object_path(pod, ns, sub)
    ws = await streaming.open_socket(client.config, path, streaming.query_pairs(query), PROTOCOLS)
    local_in, local_out, local_err = streaming.stdio()
    with raw_terminal(tty):
        return await streaming.run_session(
            ws,
            stdin=local_in if stdin else None,
            stdout=local_out,
            stderr=local_err,
            resize=terminal_size if tty else None,
        )


def _pod_name(pod: str) -> str:
    return pod.removeprefix("pod/").removeprefix("pods/")


def _finish(code: int) -> None:
    if code:
        print(f"command terminated with exit code {code}", file=sys.stderr)
        raise typer.Exit(code)


@app.command()
def exec(
    pod: Pod,
    command: Annotated[
        list[str] | None, typer.Argument(help="The command and its arguments, after --")
    ] = None,
    container: Container = None,
    stdin: Stdin = False,
    tty: Tty = False,
    quiet: Quiet = False,
) -> None:
    """Execute a command in a container."""
    name = _pod_name(pod)
    command = command[1:] if command and command[0] == "--" else command
    if not command:
        raise CLIError("you must specify at least one command for the container")
    use_tty = tty and sys.stdin.isatty()
    if tty and not use_tty and not quiet:
        print("Unable to use a TTY - input is not a terminal or the right kind of file", file=sys.stderr)

    async def go(client: Client) -> int:
        ns = current_namespace()
        found = await _pod(client, name, ns, "exec")
        query = {"container": pick_container(found, container), "command": list(command), "stdin": stdin,
                 "stdout": True, "stderr": not use_tty, "tty": use_tty}  # fmt: skip
        return await stream_to(client, name, ns, "exec", query, stdin=stdin, tty=use_tty)

    _finish(_remote(go))


@app.command()
def attach(
    pod: Pod,
    container: Container = None,
    stdin: Stdin = False,
    tty: Tty = False,
    quiet: Quiet = False,
) -> None:
    """Attach to the main process of a running container."""
    name = _pod_name(pod)

    async def go(client: Client) -> int:
        ns = current_namespace()
        found = await _pod(client, name, ns, "attach")
        cname = pick_container(found, container)
        spec = next(c for c in found["spec"]["containers"] + found["spec"].get("initContainers", [])
                    if c["name"] == cname)  # fmt: skip
        use_tty = tty and bool(spec.get("tty")) and sys.stdin.isatty()
        if tty and not spec.get("tty") and not quiet:
            print(f"Unable to use a TTY - container {cname} did not allocate one", file=sys.stderr)
        if not quiet:
            print("If you don't see a command prompt, try pressing enter.", file=sys.stderr)
        query = {"container": cname, "stdin": stdin, "stdout": True, "stderr": not use_tty, "tty": use_tty}
        return await stream_to(client, name, ns, "attach", query, stdin=stdin, tty=use_tty)

    _finish(_remote(go))


def _remote(fn: Any) -> int:
    try:
        return int(run(fn))
    except streaming.RemoteError as exc:
        raise CLIError(str(exc)) from None
