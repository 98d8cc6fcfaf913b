"""`kctl delete` by name, selector, --all or manifest, then (by default) waiting until the objects are gone."""

from __future__ import annotations

import asyncio
import sys
from contextlib import aclosing

import typer

from apimachinery.client import Client
from apimachinery.errors import StatusError, is_not_found
from apimachinery.resources import ResourceInfo
from cli import completion, manifests
from cli.errors import CLIError, status_line
from cli.session import namespace_of, parse_duration, run
from cli.targets import parse_targets
from cli.waiting import Progress, object_states

app = typer.Typer()

CASCADE = {
    "background": "Background",
    "foreground": "Foreground",
    "orphan": "Orphan",
    "true": "Background",
    "false": "Orphan",
}
FORCE_WARNING = (
    "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. "
    "The resource may continue to run on the cluster indefinitely."
)


def deleted_line(res: ResourceInfo, name: str) -> str:
    return f'{res.singular}{"." + res.group if res.group else ""} "{name}" deleted'


@app.command(no_args_is_help=False)
def delete(
    args: list[str] = typer.Argument(
        None, help="TYPE NAME... or TYPE/NAME...", autocompletion=completion.resource_args
    ),
    filename: list[str] = typer.Option(None, "-f", "--filename", help="Manifest files, directories or '-'"),
    recursive: bool = typer.Option(
        False, "-R", "--recursive", help="Read directories given with -f recursively"
    ),
    selector: str = typer.Option(
        None, "-l", "--selector", help="Delete the objects matching this label selector"
    ),
    all_: bool = typer.Option(False, "--all", help="Delete every object of the type in the namespace"),
    all_namespaces: bool = typer.Option(False, "-A", "--all-namespaces"),
    grace_period: int = typer.Option(
        -1, "--grace-period", help="Seconds to let the object terminate (-1: its default)"
    ),
    now: bool = typer.Option(False, "--now", help="Same as --grace-period=1"),
    force: bool = typer.Option(False, "--force", help="With --grace-period=0: remove at once"),
    cascade: str = typer.Option("background", "--cascade", help="background|foreground|orphan"),
    ignore_not_found: bool = typer.Option(False, "--ignore-not-found", help="No error for missing objects"),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until the objects are gone"),
    timeout: str = typer.Option("0s", "--timeout", help="How long to wait for removal (0: a week)"),
    output: str = typer.Option(None, "-o", "--output", help="name: print kind/name only"),
) -> None:
    """Delete resources by names, label selector, --all, or manifests (-f)."""
    if cascade not in CASCADE:
        raise CLIError(f'invalid cascade value ({cascade}). Must be "background", "foreground", or "orphan"')
    grace = _grace(grace_period, now=now, force=force)
    wait_for = parse_duration(timeout, 0) or 7 * 24 * 3600.0
    ns = namespace_of(all_namespaces)

    async def go(client: Client) -> bool:
        if filename:
            if args:
                raise CLIError("cannot specify both resource names and -f")
            todo = _from_manifests(filename, recursive, ns)
        else:
            todo = await _from_args(client, args or [], ns, selector, all_=all_)
            if not todo:
                print(f"No resources found{f' in {ns} namespace' if ns else ''}", file=sys.stderr)
                return False
        failed, gone = await _delete_each(
            client, todo, CASCADE[cascade], grace, ignore_not_found=ignore_not_found, output=output
        )
        if wait and gone:
            await _wait_all(client, gone, wait_for)
        return failed

    if run(go):
        raise typer.Exit(1)


Target = tuple[ResourceInfo, str | None, str]  # resource, namespace (None: cluster-scoped), name
Deleted = tuple[ResourceInfo, str | None, str, str | None]  # ... and the uid the server answered


def _grace(grace_period: int, *, now: bool, force: bool) -> int | None:
    """The grace period to send (None: the object's default), as kubectl derives it from its flags."""
    grace: int | None = None if grace_period < 0 else grace_period
    if now:
        grace = 1
    if force:
        grace = 0 if grace is None else grace
        if grace == 0:
            print(FORCE_WARNING, file=sys.stderr)
    return grace


def _from_manifests(filename: list[str], recursive: bool, ns: str | None) -> list[Target]:
    todo: list[Target] = []
    for m in manifests.load(filename, recursive):
        res = m.resource()
        obj_ns = (m.obj.get("metadata") or {}).get("namespace") or ns
        todo.append((res, obj_ns if res.namespaced else None, m.name))
    return todo


async def _from_args(
    client: Client, args: list[str], ns: str | None, selector: str | None, *, all_: bool
) -> list[Target]:
    """Named objects, or every object of a type that matches `selector` (or all of them, with --all)."""
    todo: list[Target] = []
    for t in parse_targets(args):
        if t.names:
            if selector or all_:
                raise CLIError("name cannot be provided when a selector is specified")
            todo += [(t.res, ns, n) for n in t.names]
            continue
        if not selector and not all_:
            raise CLIError(
                "resource(s) were provided, but no name was specified (use --all or -l to delete many)"
            )
        lst = await client.list_all(t.res, ns if t.res.namespaced else None, selector or None)
        todo += [(t.res, i["metadata"].get("namespace"), i["metadata"]["name"]) for i in lst["items"]]
    return todo


async def _delete_each(
    client: Client,
    todo: list[Target],
    propagation: str,
    grace: int | None,
    *,
    ignore_not_found: bool,
    output: str | None,
) -> tuple[bool, list[Deleted]]:
    """Delete every target, printing a line for each; (whether one was missing, the ones deleted)."""
    failed = False
    gone: list[Deleted] = []
    for res, obj_ns, name in todo:
        try:
            result = await client.delete(res, name, obj_ns, propagation, grace)
        except StatusError as err:
            if not is_not_found(err):
                raise
            if not ignore_not_found:
                print(status_line(err), file=sys.stderr)
                failed = True
            continue
        uid = (result.get("metadata") or {}).get("uid") if result.get("kind") != "Status" else None
        uid = uid or (result.get("details") or {}).get("uid")
        print(
            f"{res.singular}{'.' + res.group if res.group else ''}/{name}"
            if output == "name"
            else deleted_line(res, name),
            flush=True,
        )
        gone.append((res, obj_ns, name, uid))
    return failed, gone


async def _wait_all(client: Client, gone: list[Deleted], wait_for: float) -> None:
    res, name = gone[0][0], gone[0][2]
    try:
        async with asyncio.timeout(wait_for):
            for res, obj_ns, name, uid in gone:
                await wait_deleted(client, res, obj_ns, name, uid)
    except TimeoutError as exc:
        raise CLIError(f"timed out waiting for the condition on {res.qualified}/{name}") from exc


async def wait_deleted(
    client: Client, res: ResourceInfo, ns: str | None, name: str, uid: str | None = None
) -> None:
    """Return once no object named `name` with this uid exists (a new object of the same name does not count)."""
    progress: Progress | None = None
    try:
        async with aclosing(object_states(client, res, ns, name)) as states:
            async for obj in states:
                if obj is None or (uid and (obj.get("metadata") or {}).get("uid") != uid):
                    return
                if progress is None:
                    progress = Progress(sys.stderr).__enter__()
                progress.update(f"waiting for {res.singular}/{name} to be deleted...")
    finally:
        if progress is not None:
            progress.__exit__(None, None, None)
