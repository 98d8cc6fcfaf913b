"""Discovery documents: /version, /api, /apis, per-group-version resource lists and aggregated discovery (v2 and
v2beta1), in the exact shapes kubectl and the Python client accept (reference/kubernetes-wire.md §3).

Everything is read from the apiserver's resource table, so custom resources appear as soon as their CRD is
established. kubectl caches discovery on disk, but looks again when a resource it is asked for is missing, so
a new CRD's kind is found on first use."""

from __future__ import annotations

from typing import Any

from apimachinery.buildinfo import VERSION as VERSION  # served at /version
from apimachinery.resources import ResourceInfo
from apiserver.resourcetable import ResourceTable

Obj = dict[str, Any]


AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

# Subresources by resource, with the kind they answer and their verbs.
_SUBRESOURCE_KINDS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "status": ("", "", "", ("get", "patch", "update")),
    "approval": ("", "", "", ("get", "patch", "update")),  # a CertificateSigningRequest's
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "binding": ("", "v1", "Binding", ("create",)),
    "eviction": ("policy", "v1", "Eviction", ("create",)),
    "log": ("", "v1", "Pod", ("get",)),
    "exec": ("", "v1", "PodExecOptions", ("create", "get")),
    "attach": ("", "v1", "PodAttachOptions", ("create", "get")),
    "portforward": ("", "v1", "PodPortForwardOptions", ("create", "get")),
    "finalize": ("", "v1", "Namespace", ("update",)),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ("create",)),
}


def _sub(r: ResourceInfo, sub: str) -> tuple[str, str, str, tuple[str, ...]]:
    group, version, kind, verbs = _SUBRESOURCE_KINDS[sub]
    if sub in ("status", "approval"):
        return r.group, r.version, r.kind, verbs
    return group, version or r.version, kind, verbs


def api_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group_list(table: ResourceTable) -> Obj:
    names = list(dict.fromkeys(g for g, _ in table.groups() if g))
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [api_group(table, g) for g in names]}


def api_group(table: ResourceTable, group: str) -> Obj | None:
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in table.versions(group)]
    if not versions:
        return None
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": versions,
        "preferredVersion": versions[0],
    }


def resource_list(table: ResourceTable, group: str, version: str) -> Obj | None:
    items: list[Obj] = []
    for r in table.in_group_version(group, version):
        entry: Obj = {
            "name": r.resource,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(r.verbs),
            **_aliases(r),
        }
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


def _aliases(r: ResourceInfo) -> Obj:
    """The optional shortNames and categories of a resource's discovery entry."""
    aliases: Obj = {}
    if r.short_names:
        aliases["shortNames"] = list(r.short_names)
    if r.categories:
        aliases["categories"] = list(r.categories)
    return aliases


def _aggregated_group(table: ResourceTable, group: str) -> Obj:
    versions = []
    for v in table.versions(group):
        resources = []
        for r in table.in_group_version(group, v):
            entry: Obj = {
                "resource": r.resource,
                "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                "scope": "Namespaced" if r.namespaced else "Cluster",
                "singularResource": r.singular,
                "verbs": list(r.verbs),
                **_aliases(r),
            }
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


def aggregated(table: ResourceTable, core: bool, api_version: str) -> Obj:
    """APIGroupDiscoveryList for /api (core=True) or /apis; api_version is apidiscovery.k8s.io/v2 or v2beta1."""
    names = [""] if core else [g for g, _ in table.groups() if g]
    unique = list(dict.fromkeys(names))
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": api_version,
        "metadata": {},
        "items": [_aggregated_group(table, g) for g in unique],
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
