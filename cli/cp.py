"""`kctl cp`: files and directories to and from a container, as kubectl does it: `tar` at the other end of a
pods/exec stream (the container needs a tar binary), the archive streamed through stdin or stdout.

    kctl cp LOCAL [NAMESPACE/]POD:PATH      upload: `tar -xmf - -C DIR` in the container
    kctl cp [NAMESPACE/]POD:PATH LOCAL      download: `tar cf - PATH`, unpacked here with tarfile's "data"
                                            filter (no absolute paths, no links out, no devices)
"""

from __future__ import annotations

import posixpath
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import IO, Any

import typer

from apimachinery import channels
from apimachinery.client import Client
from cli import streaming
from cli.errors import CLIError
from cli.exec import _pod
from cli.logs import pick_container
from cli.session import current_namespace, run
from cli.targets import builtin

app = typer.Typer()


def split_remote(spec: str) -> tuple[str | None, str, str] | None:
    """(namespace, pod, path) of `[ns/]pod:path`, None for a local path."""
    head, sep, path = spec.partition(":")
    if not sep or not head or "\\" in head or (len(head) == 1 and head.isalpha()):
        return None
    ns, _, pod = head.rpartition("/")
    return (ns or None), pod, path


async def _exec(client: Client, pod: str, ns: str, container: str, command: list[str],
                stdin: object | None, stdout: object) -> None:  # fmt: skip
    path = builtin("pods").object_path(pod, ns, "exec")
    query = {"container": container, "command": command, "stdin": stdin is not None, "stdout": True,
             "stderr": True, "tty": False}  # fmt: skip
    ws = await streaming.open_socket(
        client.config, path, streaming.query_pairs(query), (channels.V5, channels.V4)
    )
    code = await streaming.run_session(ws, stdin=stdin, stdout=stdout, stderr=sys.stderr.buffer)  # type: ignore[arg-type]
    if code:
        raise CLIError(f"command terminated with exit code {code}")


@app.command()
def cp(
    source: str = typer.Argument(..., help="LOCAL or [NAMESPACE/]POD:PATH"),
    dest: str = typer.Argument(..., help="LOCAL or [NAMESPACE/]POD:PATH"),
    container: str = typer.Option(None, "-c", "--container", help="Container name"),
    no_preserve: bool = typer.Option(False, "--no-preserve", help="Do not keep ownership and permissions"),
) -> None:
    """Copy files and directories to and from containers."""
    remote_src, remote_dst = split_remote(source), split_remote(dest)
    if (remote_src is None) == (remote_dst is None):
        raise CLIError("one of src or dest must be a local file specification and the other a remote one")
    ns_given, pod, path = remote_dst or remote_src  # type: ignore[misc]
    path = path.rstrip("/") or "/"
    if not path:
        raise CLIError("remote path cannot be empty")
    with tempfile.TemporaryFile() as archive:
        if remote_dst is not None:
            directory, name = posixpath.split(path)
            pack(Path(source), name, archive)
            command = (
                ["tar", "-xmf", "-"] + (["--no-same-owner"] if no_preserve else []) + ["-C", directory or "/"]
            )
            _remote(ns_given, pod, container, command, archive, _Discard())
        else:
            _remote(ns_given, pod, container, ["tar", "cf", "-", path], None, archive)
            unpack(archive, path, Path(dest))


def _remote(ns_given: str | None, pod: str, container: str | None, command: list[str], stdin: Any,
            stdout: Any) -> None:  # fmt: skip
    async def go(client: Client) -> None:
        ns = ns_given or current_namespace()
        cname = pick_container(await _pod(client, pod, ns, "exec"), container)
        await _exec(client, pod, ns, cname, command, stdin, stdout)

    run(go)


def pack(local: Path, name: str, archive: IO[bytes]) -> None:
    if not local.exists():
        raise CLIError(f"{local} doesn't exist in local filesystem")
    with tarfile.open(fileobj=archive, mode="w") as tar:
        tar.add(str(local), arcname=name or local.name)
    archive.seek(0)


def _extract(tar: tarfile.TarFile, dest: str) -> None:
    if hasattr(tarfile, "data_filter"):
        tar.extractall(dest, filter="data")
        return
    # Python before 3.11.4 (Debian 12's 3.11.2) has no extraction filters: take plain files and directories that
    # stay inside `dest`, without set-id bits, and refuse anything else (links, devices).
    for member in tar.getmembers():
        name = member.name
        if name.startswith("/") or ".." in Path(name).parts or not (member.isreg() or member.isdir()):
            raise tarfile.TarError(f"refused {name!r}: only files and directories inside the target")
        member.mode &= 0o777
    tar.extractall(dest)


def unpack(archive: IO[bytes], remote: str, local: Path) -> None:
    archive.seek(0)
    with tempfile.TemporaryDirectory() as unpacked:
        try:
            with tarfile.open(fileobj=archive, mode="r") as tar:
                _extract(tar, unpacked)
        except tarfile.TarError as exc:
            raise CLIError(f"cannot unpack what the container sent: {exc}") from None
        got = Path(unpacked) / remote.lstrip("/")
        if not got.exists():
            raise CLIError(f"{remote}: no such file or directory in the container")
        if local.is_dir():
            local = local / got.name
        shutil.move(str(got), str(local))


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        return None
