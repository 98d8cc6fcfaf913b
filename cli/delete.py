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
    grace: int | None = None if grace_period < 0 else grace_period
    if now:
        grace = 1
    if force:
        grace = 0 if grace is None else grace
        if grace == 0:
            print(FORCE_WARNING, file=sys.stderr)
    wait_for = parse_duration(timeout, 0) or 7 * 24 * 3600.0
    ns = namespace_of(all_namespaces)

    async def go(client: Client) -> bool:
        todo: list[tuple[ResourceInfo, str | None, str]] = []
        if filename:
            if args:
                raise CLIError("cannot specify both resource names and -f")
            for m in manifests.load(filename, recursive):
                res = m.resource()
                obj_ns = (m.obj.get("metadata") or {}).get("namespace") or ns
                todo.append((res, obj_ns if res.namespaced else None, m.name))
        else:
            targets = parse_targets(args or [])
            for t in targets:
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
            if not todo:
                print(f"No resources found{f' in {ns} namespace' if ns else ''}", file=sys.stderr)
                return False
        failed = False
        gone: list[tuple[ResourceInfo, str | None, str, str | None]] = []
        for res, obj_ns, name in todo:
            try:
                result = await client.delete(res, name, obj_ns, CASCADE[cascade], grace)
            except StatusError as err:
                if is_not_found(err) and ignore_not_found:
                    continue
                if not is_not_found(err):
                    raise
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
        if wait and gone:
            try:
                async with asyncio.timeout(wait_for):
                    for res, obj_ns, name, uid in gone:
                        await wait_deleted(client, res, obj_ns, name, uid)
            except TimeoutError as exc:
                raise CLIError(f"timed out waiting for the condition on {res.qualified}/{name}") from exc
        return failed

    if run(go):
        raise typer.Exit(1)


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
