"""`kctl logs`: a container's log through the apiserver (`GET pods/{name}/log`, text), `-f` streamed."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import typer

from apimachinery import labels as labelsel
from apimachinery.client import Client
from apimachinery.resources import resolve
from cli import completion, streams
from cli.errors import CLIError
from cli.session import current_namespace, run
from cli.targets import single_target

app = typer.Typer()

DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"


def pick_container(pod: dict[str, Any], container: str | None) -> str:
    """The container to read: -c, else the default-container annotation, else the only/first container."""
    names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    if container:
        init = [c["name"] for c in (pod.get("spec") or {}).get("initContainers") or []]
        if container not in names + init:
            pod_name = pod["metadata"]["name"]
            raise CLIError(f"container {container} is not valid for pod {pod_name}")
        return container
    annotated = ((pod.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CONTAINER)
    if annotated in names:
        return str(annotated)
    if not names:
        raise CLIError(f"pod {pod['metadata']['name']} has no containers")
    if len(names) > 1:
        print(f'Defaulted container "{names[0]}" out of: {", ".join(names)}', file=sys.stderr)
    return names[0]


async def pods_for(client: Client, target: list[str], selector: str | None, ns: str) -> list[dict[str, Any]]:
    """The pods whose logs to show: POD, TYPE/NAME of a workload (its newest pod), or -l."""
    pods_res = resolve("pods")
    assert pods_res is not None
    if selector:
        lst = await client.list(pods_res, ns, label_selector=selector)
        return sorted(lst["items"], key=lambda p: p["metadata"]["name"])
    if not target:
        raise CLIError("expected POD, TYPE/NAME or -l selector")
    if len(target) == 1 and "/" not in target[0]:
        return [await client.get(pods_res, target[0], ns)]
    res, name = single_target(target, "logs")
    if res.resource == "pods":
        return [await client.get(pods_res, name, ns)]
    obj = await client.get(res, name, ns)
    sel = labelsel.to_string((obj.get("spec") or {}).get("selector"))
    if res.resource == "services":
        sel = ",".join(f"{k}={v}" for k, v in ((obj.get("spec") or {}).get("selector") or {}).items())
    if not sel:
        raise CLIError(f"{res.qualified}/{name} has no pod selector")
    lst = await client.list(pods_res, ns, label_selector=sel)
    pods = lst["items"]
    if not pods:
        raise CLIError(f"no pods found for {res.singular}/{name}")
    # kubectl prefers a running pod, then the newest.
    pods.sort(
        key=lambda p: (
            (p.get("status") or {}).get("phase") == "Running",
            p["metadata"].get("creationTimestamp", ""),
        ),
        reverse=True,
    )
    return pods[:1]


@app.command()
def logs(
    target: list[str] = typer.Argument(
        None, help="POD, or TYPE/NAME (deployment/web)", autocompletion=completion.resource_args
    ),
    container: str = typer.Option(None, "-c", "--container", help="Container name"),
    follow: bool = typer.Option(False, "-f", "--follow", help="Stream the log as it grows"),
    tail: int = typer.Option(-1, "--tail", help="Lines from the end to show (-1: all)"),
    previous: bool = typer.Option(False, "-p", "--previous", help="The previous (crashed) container's log"),
    timestamps: bool = typer.Option(False, "--timestamps", help="Prefix each line with its time"),
    selector: str = typer.Option(None, "-l", "--selector", help="Logs of every pod matching the selector"),
    prefix: bool = typer.Option(False, "--prefix", help="Prefix lines with [pod/NAME/CONTAINER]"),
) -> None:
    """Print the logs of a container in a pod."""

    async def go(client: Client) -> None:
        ns = current_namespace()
        pods = await pods_for(client, target or [], selector, ns)
        pods_res = resolve("pods")
        assert pods_res is not None
        many = len(pods) > 1 or prefix
        tasks = []
        for pod in pods:
            name = pod["metadata"]["name"]
            cname = pick_container(pod, container)
            params: dict[str, str] = {"container": cname}
            if tail >= 0:
                params["tailLines"] = str(tail)
            if previous:
                params["previous"] = "true"
            if timestamps:
                params["timestamps"] = "true"
            tag = f"[pod/{name}/{cname}] " if many else ""
            path = pods_res.object_path(name, ns, "log")
            if follow:
                tasks.append(_follow(client, path, params, tag))
            else:
                text = await client.request("GET", path, params=params, headers={"Accept": "*/*"})
                _write(text if isinstance(text, str) else str(text), tag)
        if tasks:
            await asyncio.gather(*tasks)

    run(go)


def _write(text: str, tag: str) -> None:
    if tag:
        text = "".join(tag + line + "\n" for line in text.splitlines())
    sys.stdout.write(text)
    sys.stdout.flush()


async def _follow(client: Client, path: str, params: dict[str, str], tag: str) -> None:
    async for line in streams.lines(client, path, {**params, "follow": "true"}, accept="*/*"):
        _write(line + "\n", tag)
