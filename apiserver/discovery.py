"""Discovery documents: /version, /api, /apis, per-group-version resource lists and aggregated discovery (v2 and
v2beta1), in the exact shapes kubectl and the Python client accept (reference/kubernetes-wire.md §3)."""

from __future__ import annotations

import platform
from typing import Any

from apimachinery.resources import RESOURCES, ResourceInfo, groups

Obj = dict[str, Any]

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-kubelite",
    "gitCommit": "kubelite",
    "gitTreeState": "clean",
    "buildDate": "2026-11-27T00:00:00Z",
    "goVersion": "python" + platform.python_version(),
    "compiler": "cpython",
    "platform": "linux/amd64",
}

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

# Subresources by resource, with the kind they answer and their verbs.
_SUBRESOURCE_KINDS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "status": ("", "", "", ("get", "patch", "update")),
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "binding": ("", "v1", "Binding", ("create",)),
    "eviction": ("policy", "v1", "Eviction", ("create",)),
    "log": ("", "v1", "Pod", ("get",)),
    "finalize": ("", "v1", "Namespace", ("update",)),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ("create",)),
}


def _sub(r: ResourceInfo, sub: str) -> tuple[str, str, str, tuple[str, ...]]:
    group, version, kind, verbs = _SUBRESOURCE_KINDS[sub]
    if sub == "status":
        return r.group, r.version, r.kind, verbs
    return group, version or r.version, kind, verbs


def api_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group_list() -> Obj:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [api_group(g) for g, _ in groups() if g]}


def api_group(group: str) -> Obj:
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for g, v in groups() if g == group]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": versions,
        "preferredVersion": versions[0],
    }


def resource_list(group: str, version: str) -> Obj | None:
    items: list[Obj] = []
    for r in RESOURCES:
        if (r.group, r.version) != (group, version):
            continue
        entry: Obj = {
            "name": r.resource,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(r.verbs),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        items.append(entry)
        for sub in r.subresources:
            sg, sv, kind, verbs = _sub(r, sub)
            s_entry: Obj = {
                "name": f"{r.resource}/{sub}",
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": kind,
                "verbs": list(verbs),
            }
            if sg != r.group or sv != r.version:
                s_entry["group"], s_entry["version"] = sg, sv
            items.append(s_entry)
    if not items:
        return None
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": items}


def _aggregated_group(group: str, api_version: str) -> Obj:
    versions = []
    for g, v in groups():
        if g != group:
            continue
        resources = []
        for r in RESOURCES:
            if (r.group, r.version) != (g, v):
                continue
            entry: Obj = {
                "resource": r.resource,
                "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                "scope": "Namespaced" if r.namespaced else "Cluster",
                "singularResource": r.singular,
                "verbs": list(r.verbs),
            }
            if r.short_names:
                entry["shortNames"] = list(r.short_names)
            if r.categories:
                entry["categories"] = list(r.categories)
            subs = []
            for sub in r.subresources:
                sg, sv, kind, verbs = _sub(r, sub)
                subs.append(
                    {
                        "subresource": sub,
                        "responseKind": {"group": sg, "version": sv, "kind": kind},
                        "verbs": list(verbs),
                    }
                )
            if subs:
                entry["subresources"] = subs
            resources.append(entry)
        versions.append({"version": v, "resources": resources, "freshness": "Current"})
    return {"metadata": {"name": group}, "versions": versions}


def aggregated(core: bool, api_version: str) -> Obj:
    """APIGroupDiscoveryList for /api (core=True) or /apis; api_version is apidiscovery.k8s.io/v2 or v2beta1."""
    names = [""] if core else [g for g, _ in groups() if g]
    unique = list(dict.fromkeys(names))
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": api_version,
        "metadata": {},
        "items": [_aggregated_group(g, api_version) for g in unique],
    }


def negotiate_aggregated(accept: str) -> str | None:
    """The aggregated content type the client asked for first, or None for legacy discovery."""
    for part in accept.split(","):
        p = part.replace(" ", "")
        if "g=apidiscovery.k8s.io" in p and "as=APIGroupDiscoveryList" in p:
            if "v=v2beta1" in p:
                return AGGREGATED_V2BETA1
            if "v=v2" in p:
                return AGGREGATED_V2
    return None
