"""pods/{name}/log: find the pod's node and stream the container log from that node's kubelet API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from apimachinery import errors
from apimachinery.validation import is_port, parse_ip
from apiserver import kubeletclient
from apiserver.request import int_param

if TYPE_CHECKING:
    from apiserver.registry import Store
    from apiserver.server import APIServer

Obj = dict[str, Any]

_PASSED_ON = ("follow", "tailLines", "timestamps", "previous", "sinceSeconds", "limitBytes")


def pick_container(pod: Obj, requested: str | None) -> str:
    name = pod["metadata"]["name"]
    spec = pod.get("spec") or {}
    names = [c.get("name") for c in spec.get("containers") or []]
    init_names = [c.get("name") for c in spec.get("initContainers") or []]
    if requested:
        if requested not in names and requested not in init_names:
            raise errors.bad_request(f"container {requested} is not valid for pod {name}")
        return requested
    default = (pod["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
    if default in names:
        return str(default)
    if len(names) == 1:
        return str(names[0])
    raise errors.bad_request(
        f"a container name must be specified for pod {name}, choose one of: [{' '.join(map(str, names))}]"
        + (f" or one of the init containers: [{' '.join(map(str, init_names))}]" if init_names else "")
    )


def kubelet_address(node: Obj) -> str:
    """`https://<ip>:<port>` of the node's kubelet, built only from an address that parses as an IP and a port
    number: a Node object (which a kubelet writes) must not be able to point the apiserver at another URL."""
    status = node.get("status") if isinstance(node.get("status"), dict) else {}
    assert isinstance(status, dict)
    endpoint = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    port = endpoint if is_port(endpoint) else 10250
    addresses = [a for a in status.get("addresses") or [] if isinstance(a, dict)]
    for kind in ("InternalIP", "ExternalIP"):
        for a in addresses:
            ip = parse_ip(a.get("address")) if a.get("type") == kind else None
            if ip is not None:
                host = f"[{ip}]" if ip.version == 6 else str(ip)
                return f"https://{host}:{port}"
    raise errors.StatusError(
        500, "InternalError", f"node {node['metadata']['name']} has no valid IP address to reach its kubelet"
    )


def log_params(request: Request) -> dict[str, str]:
    """The log options passed on to the kubelet, each checked (Kubernetes' ValidatePodLogOptions)."""
    params: dict[str, str] = {}
    for key in _PASSED_ON:
        raw = request.query_params.get(key)
        if raw is None:
            continue
        if key in ("follow", "timestamps", "previous"):
            params[key] = "true" if raw.lower() in ("true", "1") else "false"
            continue
        value = int_param(request, key)
        low = 0 if key == "tailLines" else 1
        if value is None or value < low:
            raise errors.bad_request(
                f"invalid value for {key}: {raw[:32]!r}: must be an integer of at least {low}"
            )
        params[key] = str(value)
    return params


async def pod_log(server: APIServer, request: Request, store: Store, namespace: str, name: str) -> Response:
    params = log_params(request)
    pod = await store.get(namespace, name)
    container = pick_container(pod, request.query_params.get("container"))
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise errors.bad_request(
            f'container "{container}" in pod "{name}" is waiting to start: the pod is not scheduled yet'
        )
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting")
        if cs.get("name") == container and waiting and not cs.get("lastState") and not cs.get("containerID"):
            raise errors.bad_request(
                f'container "{container}" in pod "{name}" is waiting to start: {waiting.get("reason", "")}'
            )
    from apimachinery.resources import by_resource

    node_info = by_resource("", "nodes")
    assert node_info is not None
    node = await server.store(node_info).get(None, node_name)
    base = kubelet_address(node)
    url = (
        f"{base}/containerLogs/{quote(namespace, safe='')}/{quote(name, safe='')}/{quote(container, safe='')}"
    )
    # kubeletclient's client: the apiserver's kubelet client certificate, the kubelet CA checked for the node's
    # name, and trust_env=False (HTTP(S)_PROXY in the apiserver's environment must not reroute this request).
    client = kubeletclient.client(server.options)
    to_kubelet = client.build_request(
        "GET", url, params=params, extensions=kubeletclient.request_extensions(node_name)
    )
    try:
        upstream = await client.send(to_kubelet, stream=True)
    except httpx.HTTPError as exc:
        await client.aclose()
        raise errors.StatusError(500, "InternalError", f'Get "{url}": {exc}') from None
    if upstream.status_code != 200:
        text = (await upstream.aread()).decode(errors="replace").strip()
        await upstream.aclose()
        await client.aclose()
        raise errors.StatusError(
            upstream.status_code if upstream.status_code < 500 else 500,
            "BadRequest" if upstream.status_code == 400 else "InternalError",
            text or f"the kubelet answered {upstream.status_code}",
        )

    return StreamingResponse(kubeletclient.relay(client, upstream), media_type="text/plain")
