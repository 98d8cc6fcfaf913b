"""Shell completion (typer's `--install-completion`): resource types, then names asked from the server."""

from __future__ import annotations

import asyncio

import typer

from apimachinery.resources import RESOURCES, resolve
from cli.session import Globals


def resource_types(incomplete: str) -> list[str]:
    names = sorted({n for r in RESOURCES for n in (r.resource, *r.short_names)} | {"all"})
    return [n for n in names if n.startswith(incomplete)]


def _globals_from(ctx: typer.Context) -> Globals:
    root = ctx.find_root().params
    return Globals(
        kubeconfig=root.get("kubeconfig"),
        context=root.get("context"),
        server=root.get("server"),
        token=root.get("token"),
        namespace=root.get("namespace"),
    )


def object_names(ctx: typer.Context, type_name: str, incomplete: str) -> list[str]:
    """Names of objects of a type, for completion; nothing when the server cannot say within 2 s."""
    res = resolve(type_name)
    if res is None:
        return []
    g = _globals_from(ctx)

    async def names() -> list[str]:
        client = g.make_client()
        try:
            lst = await client.list(res, g.default_namespace() if res.namespaced else None, limit=500)
            return [i["metadata"]["name"] for i in lst["items"]]
        finally:
            await client.aclose()

    try:
        found = asyncio.run(asyncio.wait_for(names(), 2.0))
    except Exception:  # completion must never print errors into the user's shell
        return []
    return [n for n in found if n.startswith(incomplete)]


def resource_args(ctx: typer.Context, incomplete: str) -> list[str]:
    """First argument: a type (or TYPE/NAME); later ones: names of that type."""
    given = ctx.params.get("args") or []
    if "/" in incomplete:
        kind, _, part = incomplete.partition("/")
        return [f"{kind}/{n}" for n in object_names(ctx, kind, part)]
    if not given:
        return resource_types(incomplete)
    return object_names(ctx, given[0].split(",")[0], incomplete)
