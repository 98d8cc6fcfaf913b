"""What the dashboard asks the apiserver, always as the user whose kubeconfig it was started with.

The dashboard holds no credentials of its own and no cache: every page is read afresh through the user's
`Client`, so it shows exactly what that user may see. A list the user may not read is not an error page but a
`Listing` with `denied` set, which the page prints in place of the table.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from apimachinery.client import Client
from apimachinery.errors import StatusError, is_forbidden, is_not_found, is_unauthorized
from apimachinery.resources import ResourceInfo, must_resource
from apimachinery.streams import stream_lines

Obj = dict[str, Any]

PODS = must_resource("", "pods")
NODES = must_resource("", "nodes")
NAMESPACES = must_resource("", "namespaces")
EVENTS = must_resource("", "events")
SERVICES = must_resource("", "services")
ENDPOINTS = must_resource("", "endpoints")
DEPLOYMENTS = must_resource("apps", "deployments")
REPLICASETS = must_resource("apps", "replicasets")
STATEFULSETS = must_resource("apps", "statefulsets")
DAEMONSETS = must_resource("apps", "daemonsets")
JOBS = must_resource("batch", "jobs")
WORKLOADS = (DEPLOYMENTS, STATEFULSETS, DAEMONSETS, REPLICASETS, JOBS)
METRICS_GROUP = "metrics.k8s.io"

# What may be put into an apiserver path: checked here, where the path is built, whatever the caller checked.
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
OBJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._@-]{0,252}")
API_VERSION = re.compile(
    r"(?:[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?v[1-9][0-9]*(?:(?:alpha|beta)[1-9][0-9]*)?"
)
RESOURCE = re.compile(r"[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?")


class BadRequest(ValueError):
    """A name or version from the browser that cannot be part of an apiserver path."""


@dataclass
class Listing:
    items: list[Obj] = field(default_factory=list)
    denied: str | None = None  # why the user cannot see this list (the apiserver's message)


async def list_items(client: Client, res: ResourceInfo, namespace: str | None = None) -> Listing:
    """Every object of `res` (in `namespace`, or all the user may list); 403/404 become `denied`."""
    try:
        return Listing((await client.list_all(res, namespace or None))["items"])
    except StatusError as err:
        if is_unauthorized(err) or is_forbidden(err) or is_not_found(err):
            return Listing([], err.message or err.reason)
        raise


async def has_group(client: Client, group: str) -> bool:
    """Whether discovery lists `group` (the metrics API exists only where a metrics server is installed)."""
    try:
        body = await client.request("GET", "/apis")
    except StatusError:
        return False
    return any(isinstance(g, dict) and g.get("name") == group for g in (body or {}).get("groups") or [])


async def node_usage(client: Client) -> dict[str, Obj]:
    """node name -> NodeMetrics `usage`, or {} when there is no metrics API or the user may not read it."""
    if not await has_group(client, METRICS_GROUP):
        return {}
    try:
        body = await client.request("GET", f"/apis/{METRICS_GROUP}/v1beta1/nodes")
    except StatusError:
        return {}
    out = {}
    for item in (body or {}).get("items") or []:
        if isinstance(item, dict) and isinstance(item.get("usage"), dict):
            out[str((item.get("metadata") or {}).get("name"))] = item["usage"]
    return out


async def allowed(
    client: Client, verb: str, res: ResourceInfo, namespace: str, subresource: str = ""
) -> bool:
    """A SelfSubjectAccessReview: may this user `verb` `res` in `namespace`? (False when it cannot be asked.)"""
    attrs = {"verb": verb, "group": res.group, "resource": res.resource, "namespace": namespace}
    if subresource:
        attrs["subresource"] = subresource
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attrs},
    }
    try:
        answer = await client.request(
            "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=body
        )
    except StatusError:
        return False
    return bool(((answer or {}).get("status") or {}).get("allowed"))


def object_path(api_version: str, resource: str, namespace: str, name: str) -> str:
    """The apiserver path of one object, from parts a browser sent; `BadRequest` unless every part is a name."""
    if not API_VERSION.fullmatch(api_version) or not RESOURCE.fullmatch(resource):
        raise BadRequest("invalid apiVersion or resource")
    if not OBJECT_NAME.fullmatch(name) or (namespace and not DNS_LABEL.fullmatch(namespace)):
        raise BadRequest("invalid name or namespace")
    prefix = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    return (
        f"{prefix}/namespaces/{namespace}/{resource}/{name}" if namespace else f"{prefix}/{resource}/{name}"
    )


async def get_object(client: Client, api_version: str, resource: str, namespace: str, name: str) -> Obj:
    return dict(await client.request("GET", object_path(api_version, resource, namespace, name)))


async def log_lines(
    client: Client, namespace: str, pod: str, *, container: str, follow: bool, previous: bool, tail: int
) -> AsyncIterator[str]:
    """The lines of a container's log (`GET pods/{name}/log`), following it as it grows when `follow`."""
    path = object_path("v1", "pods", namespace, pod) + "/log"
    if container and not DNS_LABEL.fullmatch(container):
        raise BadRequest("invalid container name")
    params = {"tailLines": str(tail)}
    if container:
        params["container"] = container
    if follow:
        params["follow"] = "true"
    if previous:
        params["previous"] = "true"
    # No read timeout while following: a quiet container may write nothing for minutes.
    async for line in stream_lines(
        client,
        path,
        params,
        accept="*/*",
        user_agent="kubelite-dashboard",
        read_timeout=None if follow else 30.0,
    ):
        yield line


def to_json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))
