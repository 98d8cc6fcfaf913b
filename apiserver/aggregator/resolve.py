"""Where an aggregated APIService is served: its Service, then one ready endpoint of that Service's EndpointSlices
(kube-aggregator's endpoint routing, which kube-apiserver uses when it cannot reach Service IPs itself), and the
TLS to reach it.

The backend's certificate is checked against `spec.caBundle` for the name `<service>.<namespace>.svc` (sent as
SNI), unless `spec.insecureSkipTLSVerify`; the apiserver presents its front-proxy client certificate, which is how
the backend knows that the X-Remote-* headers come from the apiserver. The names and port that make the URL were
validated at the API; they are checked again here, where the URL is built.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import ssl
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from apimachinery import errors

if TYPE_CHECKING:
    from apiserver.server import APIServer

Obj = dict[str, Any]
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True)
class Backend:
    url: str  # https://<address>:<port>
    server_name: str  # <service>.<namespace>.svc: the name its certificate must carry
    ssl_context: ssl.SSLContext


def service_unavailable(message: str = "service unavailable") -> errors.StatusError:
    """What kube-aggregator answers when it cannot reach a backend: 503 ServiceUnavailable."""
    return errors.StatusError(503, "ServiceUnavailable", message, details={})


def resolve(server: APIServer, api_service: Obj) -> Backend:
    """The backend of an aggregated APIService, or a 503 StatusError saying why there is none."""
    spec = api_service.get("spec") or {}
    ref = spec.get("service") or {}
    namespace, name, port = ref.get("namespace"), ref.get("name"), ref.get("port", 443)
    if not (isinstance(namespace, str) and _DNS_LABEL.fullmatch(namespace) and isinstance(name, str)
            and _DNS_LABEL.fullmatch(name) and isinstance(port, int) and 1 <= port <= 65535):  # fmt: skip
        raise service_unavailable(f"service reference of {api_service['metadata']['name']} is invalid")
    services = server.stores[("", "services")].cache
    service = services.get(f"/registry/services/{namespace}/{name}")
    if service is None:
        raise service_unavailable(f'service "{namespace}/{name}" not found')
    port_name = _service_port_name(service, port)
    if port_name is None:
        raise service_unavailable(f'service "{namespace}/{name}" has no port {port}')
    address, target = _ready_endpoint(server, namespace, name, port_name)
    host = f"[{address}]" if ":" in address else address
    return Backend(
        url=f"https://{host}:{target}",
        server_name=f"{name}.{namespace}.svc",
        ssl_context=client_context(
            str(spec.get("caBundle") or ""),
            bool(spec.get("insecureSkipTLSVerify")),
            server.options.proxy_client_cert,
            server.options.proxy_client_key,
        ),
    )


def _service_port_name(service: Obj, port: int) -> str | None:
    for entry in (service.get("spec") or {}).get("ports") or []:
        if isinstance(entry, dict) and entry.get("port") == port and entry.get("protocol", "TCP") == "TCP":
            return str(entry.get("name") or "")
    return None


def _ready_endpoint(server: APIServer, namespace: str, service: str, port_name: str) -> tuple[str, int]:
    slices = server.stores[("discovery.k8s.io", "endpointslices")].cache.objects.values()
    for endpoint_slice in slices:
        md = endpoint_slice.get("metadata") or {}
        if md.get("namespace") != namespace or (md.get("labels") or {}).get(SERVICE_NAME_LABEL) != service:
            continue
        target = next(
            (p.get("port") for p in endpoint_slice.get("ports") or [] if (p.get("name") or "") == port_name),
            None,
        )
        if not isinstance(target, int) or not 1 <= target <= 65535:
            continue
        for endpoint in endpoint_slice.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            for address in endpoint.get("addresses") or []:
                try:
                    return str(ipaddress.ip_address(address)), target
                except ValueError:
                    continue  # validated at the API; never build a URL from anything else
    raise service_unavailable(f'no endpoints available for service "{namespace}/{service}"')


@lru_cache(maxsize=64)
def client_context(ca_bundle: str, insecure: bool, cert: str | None, key: str | None) -> ssl.SSLContext:
    """TLS towards a backend: verified against the caBundle (base64 PEM) unless insecure; with the front-proxy
    client certificate when the apiserver has one."""
    if insecure:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif ca_bundle:
        try:
            pem = base64.b64decode(ca_bundle).decode()
            ctx = ssl.create_default_context(cadata=pem)
        except (ValueError, ssl.SSLError) as exc:
            raise service_unavailable(f"the APIService's caBundle is not a PEM certificate: {exc}") from exc
    else:
        ctx = ssl.create_default_context()  # the system's roots, as kube-aggregator without a caBundle
    if cert:
        try:
            ctx.load_cert_chain(cert, key or None)
        except (OSError, ssl.SSLError) as exc:
            raise service_unavailable(f"the front-proxy client certificate cannot be loaded: {exc}") from exc
    return ctx
