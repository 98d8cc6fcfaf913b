"""`kctl cordon`, `uncordon` and `drain` (cordon, then evict or delete the node's pods and wait until gone).

Drain skips mirror pods (static pods the kubelet mirrors), refuses DaemonSet-owned pods unless
--ignore-daemonsets (then skips them: the DaemonSet would recreate them at once), refuses pods no controller
would recreate unless --force, and pods with emptyDir data unless --delete-emptydir-data.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer

from apimachinery.client import Client
from apimachinery.errors import (
    StatusError,
    ignore_not_found,
    is_method_not_supported,
    is_not_found,
    is_too_many_requests,
)
from cli.delete import wait_deleted
from cli.errors import CLIError
from cli.session import parse_duration, run
from cli.targets import builtin

app = typer.Typer()

MIRROR = "kubernetes.io/config.mirror"
NODES = builtin("nodes")
PODS = builtin("pods")


async def set_unschedulable(client: Client, node: str, value: bool) -> str:
    obj = await client.get(NODES, node)
    current = bool((obj.get("spec") or {}).get("unschedulable"))
    word = "cordoned" if value else "uncordoned"
    if current == value:
        return f"node/{node} already {word}"
    await client.patch(
        NODES, node, {"spec": {"unschedulable": True if value else None}}, patch_type="strategic"
    )
    return f"node/{node} {word}"


@app.command()
def cordon(node: str = typer.Argument(..., help="Node name")) -> None:
    """Mark a node unschedulable."""
    print(run(lambda c: set_unschedulable(c, node, True)))


@app.command()
def uncordon(node: str = typer.Argument(..., help="Node name")) -> None:
    """Mark a node schedulable again."""
    print(run(lambda c: set_unschedulable(c, node, False)))


def _controller(pod: dict[str, Any]) -> dict[str, Any] | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref  # type: ignore[no-any-return]
    return None


@dataclass(frozen=True)
class _Filter:
    """One of kubectl drain's pod filters. A pod it `applies` to blocks the drain (`error`) unless its override
    flag is on; then the pod is removed with a `warning`, or (`keep`) left where it is."""

    applies: Callable[[dict[str, Any], dict[str, Any] | None, bool], bool]  # (pod, its controller, finished)
    warning: str
    error: str
    keep: bool = False


DAEMONSET_PODS = _Filter(
    lambda _pod, owner, _finished: owner is not None and owner.get("kind") == "DaemonSet",
    "ignoring DaemonSet-managed Pods",
    "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)",
    keep=True,
)
UNREPLICATED_PODS = _Filter(
    lambda _pod, owner, finished: not owner and not finished,
    "deleting Pods that declare no controller",
    "cannot delete Pods that declare no controller (use --force to override)",
)
LOCAL_STORAGE_PODS = _Filter(
    lambda pod, _owner, finished: (
        not finished and any("emptyDir" in v for v in (pod.get("spec") or {}).get("volumes") or [])
    ),
    "deleting Pods with local storage",
    "cannot delete Pods with local storage (use --delete-emptydir-data to override)",
)


def classify(
    pods: list[dict[str, Any]], ignore_daemonsets: bool, force: bool, delete_emptydir: bool
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """(pods to remove, warnings, errors) for a drain, by kubectl's filters."""
    filters = (
        (DAEMONSET_PODS, ignore_daemonsets),
        (UNREPLICATED_PODS, force),
        (LOCAL_STORAGE_PODS, delete_emptydir),
    )
    remove: list[dict[str, Any]] = []
    warnings: dict[str, list[str]] = {}
    errors: dict[str, list[str]] = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        if MIRROR in (meta.get("annotations") or {}):
            continue
        ref = f"{meta.get('namespace')}/{meta.get('name')}"
        finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        owner = _controller(pod)
        for check, overridden in filters:
            if not check.applies(pod, owner, finished):
                continue
            if overridden:
                warnings.setdefault(check.warning, []).append(ref)
            else:
                errors.setdefault(check.error, []).append(ref)
            if check.keep or not overridden:
                break
        else:
            remove.append(pod)
    return (
        remove,
        [f"{k}: {', '.join(v)}" for k, v in warnings.items()],
        [f"{k}: {', '.join(v)}" for k, v in errors.items()],
    )


async def evict(client: Client, pod: dict[str, Any], grace: int | None, use_eviction: bool) -> str:
    """Evict (or delete) one pod; returns the verb for the final line. Retries while a budget forbids it."""
    meta = pod["metadata"]
    name, ns = meta["name"], meta.get("namespace")
    if use_eviction:
        body: dict[str, Any] = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": name, "namespace": ns},
        }
        if grace is not None:
            body["deleteOptions"] = {"gracePeriodSeconds": grace}
        while True:
            try:
                await client.create(PODS, body, ns, subresource="eviction")
                return "evicted"
            except StatusError as err:
                if is_too_many_requests(err):
                    print(
                        f'error when evicting pods/"{name}" -n "{ns}" (will retry after 5s): {err.message}',
                        file=sys.stderr,
                    )
                    await asyncio.sleep(5)
                    continue
                if is_not_found(err) and err.details.get("name") == name:
                    return "evicted"  # already gone
                if not (is_not_found(err) or is_method_not_supported(err)):
                    raise
                break  # the server has no eviction subresource: delete instead, as kubectl does
    with ignore_not_found():
        await client.delete(PODS, name, ns, grace_period_seconds=grace)
    return "deleted"


@app.command()
def drain(
    node: str = typer.Argument(..., help="Node name"),
    ignore_daemonsets: bool = typer.Option(False, "--ignore-daemonsets", help="Skip DaemonSet-managed pods"),
    force: bool = typer.Option(False, "--force", help="Also remove pods that no controller manages"),
    delete_emptydir_data: bool = typer.Option(
        False, "--delete-emptydir-data", help="Also remove pods with emptyDir"
    ),
    grace_period: int = typer.Option(
        -1, "--grace-period", help="Seconds each pod gets to stop (-1: its own)"
    ),
    timeout: str = typer.Option("0s", "--timeout", help="Give up after this long (0: no limit)"),
    disable_eviction: bool = typer.Option(
        False, "--disable-eviction", help="Delete pods instead of evicting"
    ),
    pod_selector: str = typer.Option(None, "--pod-selector", help="Only pods matching this label selector"),
) -> None:
    """Cordon a node, then evict its pods and wait until they are gone."""
    seconds = parse_duration(timeout, 0) or None
    grace = None if grace_period < 0 else grace_period

    async def go(client: Client) -> None:
        print(await set_unschedulable(client, node, True), flush=True)
        lst = await client.list_all(PODS, None, pod_selector or None, f"spec.nodeName={node}")
        remove, warnings, errors = classify(lst["items"], ignore_daemonsets, force, delete_emptydir_data)
        if errors:
            raise CLIError(f'unable to drain node "{node}": ' + "; ".join(errors))
        for w in warnings:
            print(f"Warning: {w}", file=sys.stderr)

        async def one(pod: dict[str, Any]) -> None:
            meta = pod["metadata"]
            print(f"evicting pod {meta.get('namespace')}/{meta['name']}", flush=True)
            verb = await evict(client, pod, grace, not disable_eviction)
            await wait_deleted(client, PODS, meta.get("namespace"), meta["name"], meta.get("uid"))
            print(f"pod/{meta['name']} {verb}", flush=True)

        try:
            async with asyncio.timeout(seconds):
                await asyncio.gather(*(one(p) for p in remove))
        except TimeoutError as exc:
            raise CLIError(f'drain did not complete within {timeout}; node "{node}" stays cordoned') from exc
        print(f"node/{node} drained")

    run(go)
