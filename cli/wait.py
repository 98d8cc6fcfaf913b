"""`kctl wait --for=condition=C[=status] | --for=delete | --for=jsonpath='{...}'=VALUE` on objects."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

import typer

from apimachinery import jsonpath
from apimachinery.client import Client
from apimachinery.errors import StatusError
from apimachinery.resources import ResourceInfo
from cli import completion, printing
from cli.errors import CLIError
from cli.session import namespace_of, parse_duration, run
from cli.targets import parse_targets
from cli.waiting import Progress, object_states

app = typer.Typer()

Check = Callable[[dict[str, Any] | None], bool]


def parse_for(spec: str) -> tuple[str, Check]:
    """`--for` into a description and a predicate on the object (None = deleted)."""
    if spec == "delete":
        return "deletion", lambda obj: obj is None
    if spec.startswith("condition="):
        cond, _, want = spec[len("condition=") :].partition("=")
        if not cond:
            raise CLIError(f"invalid --for: {spec!r} (expected condition=NAME[=VALUE])")
        want = want or "True"

        def has_condition(obj: dict[str, Any] | None) -> bool:
            for c in ((obj or {}).get("status") or {}).get("conditions") or []:
                if str(c.get("type", "")).lower() == cond.lower():
                    return str(c.get("status", "")).lower() == want.lower()
            return False

        return f"condition {cond}={want}", has_condition
    if spec.startswith("jsonpath="):
        expr = spec[len("jsonpath=") :]
        template, value = expr, None
        if "}=" in expr:
            template, _, value = expr.rpartition("=")
        template = template.strip("'\"")
        if not template.startswith("{"):
            template = "{" + template + "}"
        jsonpath.parse(template)

        def matches(obj: dict[str, Any] | None) -> bool:
            if obj is None:
                return False
            got = jsonpath.render(template, obj)
            return got == value if value is not None else got != ""

        return f"jsonpath {template}{'=' + value if value is not None else ''}", matches
    raise CLIError(
        f"unrecognized condition: {spec!r} (use condition=NAME, delete or jsonpath='{{...}}'=VALUE)"
    )


@app.command()
def wait(
    args: list[str] = typer.Argument(
        None, help="TYPE NAME... or TYPE/NAME...", autocompletion=completion.resource_args
    ),
    for_: str = typer.Option(..., "--for", help="condition=NAME[=VALUE] | delete | jsonpath='{...}'=VALUE"),
    selector: str = typer.Option(None, "-l", "--selector"),
    all_: bool = typer.Option(False, "--all"),
    all_namespaces: bool = typer.Option(False, "-A", "--all-namespaces"),
    timeout: str = typer.Option("30s", "--timeout", help="Give up after this long (0: check once)"),
) -> None:
    """Wait until objects reach a condition, are deleted, or a field has a value."""
    what, check = parse_for(for_)
    seconds = parse_duration(timeout, 30.0) or 0.0
    targets = parse_targets(args or [])

    async def go(client: Client) -> None:
        ns = namespace_of(all_namespaces)
        objects: list[tuple[ResourceInfo, str | None, str]] = []
        for t in targets:
            if t.names:
                objects += [(t.res, ns, n) for n in t.names]
            elif selector or all_:
                lst = await client.list_all(t.res, ns if t.res.namespaced else None, selector or None)
                objects += [
                    (t.res, i["metadata"].get("namespace"), i["metadata"]["name"]) for i in lst["items"]
                ]
            else:
                raise CLIError("resource(s) were provided, but no name was specified (use --all or -l)")
        if not objects:
            raise CLIError("no matching resources found")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        for res, obj_ns, name in objects:
            ref = f"{printing.kind_prefix(res)}/{name}"
            with Progress(sys.stderr) as progress:
                try:
                    async with asyncio.timeout_at(deadline if seconds > 0 else loop.time() + 5):
                        async with aclosing(object_states(client, res, obj_ns, name)) as states:
                            async for obj in states:
                                if check(obj):
                                    break
                                if obj is None and for_ != "delete":
                                    raise StatusError(404, "NotFound", f'{res.qualified} "{name}" not found')
                                if seconds <= 0:
                                    raise TimeoutError
                                progress.update(f"waiting for {ref}: {what}")
                except TimeoutError as exc:
                    raise CLIError(f"timed out waiting for the condition on {res.qualified}/{name}") from exc
            print(f"{ref} condition met", flush=True)

    run(go)
