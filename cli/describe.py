"""`kctl describe`: one readable page per object, with related objects and its events (as kubectl)."""

from __future__ import annotations

import copy
import sys
from typing import Any

import typer

from apimachinery import labels as labelsel
from apimachinery.client import Client
from apimachinery.errors import StatusError, is_bad_request, is_forbidden, is_not_found
from apimachinery.resources import ResourceInfo, resolve
from cli import (
    completion,
    describe_autoscaling,
    describe_kinds,
    describe_netpol,
    describe_storage,
    describe_workloads,
    describers,
)
from cli.errors import status_line
from cli.session import namespace_of, run
from cli.targets import parse_targets

app = typer.Typer()

Obj = dict[str, Any]


def _res(name: str) -> ResourceInfo:
    res = resolve(name)
    assert res is not None
    return res


async def events_for(client: Client, obj: Obj, res: ResourceInfo) -> list[Obj]:
    meta = obj["metadata"]
    fields = [f"involvedObject.name={meta['name']}"]
    ns = meta.get("namespace")
    if ns:
        fields.append(f"involvedObject.namespace={ns}")
    if meta.get("uid") and res.namespaced:
        fields.append(f"involvedObject.uid={meta['uid']}")
    else:
        fields.append(f"involvedObject.kind={res.kind}")
    try:
        lst = await client.list(
            _res("events"), ns if res.namespaced else None, field_selector=",".join(fields)
        )
    except StatusError as err:
        if not (is_bad_request(err) or is_forbidden(err) or is_not_found(err)):
            raise
        return []  # events are optional context: a server that cannot select them still gets a describe
    return list(lst["items"])


def _without_hash(tmpl: Obj) -> Obj:
    t = copy.deepcopy(tmpl or {})
    ((t.get("metadata") or {}).get("labels") or {}).pop("pod-template-hash", None)
    return t


async def describe_object(client: Client, res: ResourceInfo, obj: Obj) -> str:
    evs = await events_for(client, obj, res)
    meta = obj["metadata"]
    ns = meta.get("namespace")
    if res.resource == "pods":
        return describers.pod_text(obj, evs)
    if res.resource == "deployments":
        sel = labelsel.to_string((obj.get("spec") or {}).get("selector"))
        rss = (await client.list(_res("replicasets"), ns, label_selector=sel or None))["items"]
        owned = [
            r
            for r in rss
            if any(
                o.get("uid") == meta.get("uid") and o.get("controller")
                for o in r["metadata"].get("ownerReferences") or []
            )
        ]
        tmpl = _without_hash((obj.get("spec") or {}).get("template") or {})
        new = next((r for r in owned if _without_hash(r["spec"].get("template") or {}) == tmpl), None)
        old = [r for r in owned if r is not new and (r.get("spec") or {}).get("replicas", 0) > 0]
        return describe_kinds.deployment_text(obj, new, old, evs)
    if res.resource == "replicasets":
        sel = labelsel.to_string((obj.get("spec") or {}).get("selector"))
        pods = (await client.list(_res("pods"), ns, label_selector=sel or None))["items"]
        pods = [
            p
            for p in pods
            if any(o.get("uid") == meta.get("uid") for o in p["metadata"].get("ownerReferences") or [])
        ]
        return describe_kinds.replicaset_text(obj, pods, evs)
    if res.resource in _WORKLOAD_PAGES:
        return await _workload_page(client, res, obj, evs)
    if res.resource == "services":
        # As kubectl (1.32): the Service's EndpointSlices, found by their kubernetes.io/service-name label.
        slices = await client.list(
            _res("endpointslices.discovery.k8s.io"),
            ns,
            label_selector=f"kubernetes.io/service-name={meta['name']}",
        )
        return describe_kinds.service_text(obj, slices["items"], evs)
    if res.resource == "endpoints":
        return describe_kinds.endpoints_text(obj, evs)
    if res.resource == "nodes":
        pods = (await client.list_all(_res("pods"), None, field_selector=f"spec.nodeName={meta['name']}"))[
            "items"
        ]
        return describe_kinds.node_text(obj, pods, evs)
    if res.resource == "namespaces":
        return describe_kinds.namespace_text(obj)
    if res.resource == "persistentvolumes":
        return describe_storage.pv_text(obj, evs)
    if res.resource == "persistentvolumeclaims":
        pods = (await client.list(_res("pods"), ns))["items"]
        return describe_storage.pvc_text(obj, describe_storage.claim_users(pods, meta["name"]), evs)
    if res.resource == "storageclasses":
        return describe_storage.storage_class_text(obj, evs)
    if res.resource == "horizontalpodautoscalers" and res.version == "v2":
        return describe_autoscaling.hpa_text(obj, evs)
    if res.resource == "networkpolicies" and res.group == "networking.k8s.io":
        return describe_netpol.networkpolicy_text(obj)
    obj = {"apiVersion": res.api_version, "kind": res.kind, **obj}
    return describe_kinds.generic_text(obj, evs)


_WORKLOAD_PAGES = ("jobs", "cronjobs", "daemonsets", "statefulsets", "replicationcontrollers")


async def _owned_pods(client: Client, obj: Obj, selector: str) -> list[Obj]:
    meta = obj["metadata"]
    pods = (await client.list(_res("pods"), meta.get("namespace"), label_selector=selector or None))["items"]
    return [
        p
        for p in pods
        if any(o.get("uid") == meta.get("uid") for o in p["metadata"].get("ownerReferences") or [])
    ]


async def _workload_page(client: Client, res: ResourceInfo, obj: Obj, evs: list[Obj]) -> str:
    if res.resource == "jobs":
        return describe_workloads.job_text(obj, evs)
    if res.resource == "cronjobs":
        return describe_workloads.cronjob_text(obj, evs)
    if res.resource == "replicationcontrollers":
        selector = ",".join(
            f"{k}={v}" for k, v in sorted(((obj.get("spec") or {}).get("selector") or {}).items())
        )
        return describe_workloads.replication_controller_text(
            obj, await _owned_pods(client, obj, selector), evs
        )
    selector = labelsel.to_string((obj.get("spec") or {}).get("selector"))
    pods = await _owned_pods(client, obj, "" if selector in ("<none>", "<error>") else selector)
    if res.resource == "daemonsets":
        return describe_workloads.daemonset_text(obj, pods, evs)
    return describe_workloads.statefulset_text(obj, pods, evs)


async def _find(client: Client, res: ResourceInfo, ns: str | None, name: str) -> list[Obj]:
    """The object called `name`, or (as kubectl) every object whose name starts with it."""
    try:
        return [await client.get(res, name, ns)]
    except StatusError as err:
        if not is_not_found(err):
            raise
        lst = await client.list_all(res, ns if res.namespaced else None)
        found = [o for o in lst["items"] if o["metadata"]["name"].startswith(name)]
        if not found:
            raise
        return found


@app.command()
def describe(
    args: list[str] = typer.Argument(
        ..., help="TYPE [NAME_PREFIX...] or TYPE/NAME", autocompletion=completion.resource_args
    ),
    selector: str = typer.Option(None, "-l", "--selector"),
    all_namespaces: bool = typer.Option(False, "-A", "--all-namespaces"),
) -> None:
    """Show details of resources (pods, deployments, replicasets, services, endpoints, nodes, namespaces...)."""
    targets = parse_targets(args)

    async def go(client: Client) -> bool:
        ns = namespace_of(all_namespaces)
        pages: list[str] = []
        failed = False
        for t in targets:
            objs: list[Obj] = []
            if t.names:
                for n in t.names:
                    try:
                        objs += await _find(client, t.res, ns, n)
                    except StatusError as err:
                        if not is_not_found(err):
                            raise
                        print(status_line(err), file=sys.stderr)
                        failed = True
            else:
                lst = await client.list_all(t.res, ns if t.res.namespaced else None, selector or None)
                objs = lst["items"]
            for o in objs:
                pages.append(await describe_object(client, t.res, o))
        if not pages and not failed:
            print(f"No resources found{f' in {ns} namespace' if ns else ''}.", file=sys.stderr)
        sys.stdout.write("\n\n".join(p.rstrip("\n") for p in pages) + ("\n" if pages else ""))
        return failed

    if run(go):
        raise typer.Exit(1)
