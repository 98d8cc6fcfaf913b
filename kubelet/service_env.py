"""The environment containers get to find services: `<NAME>_SERVICE_HOST/PORT` and the Docker-link style
`<NAME>_PORT_*` variables.

Every pod gets those of the `kubernetes` Service in `default` (whatever enableServiceLinks says), read from the API
at most once a minute. A pod whose `enableServiceLinks` is not false also gets those of every Service of its own
namespace that has a cluster IP, as they are when its container is created (the kubelet's service links); the
`kubernetes` ones win over a same-named variable of another service."""

from __future__ import annotations

import logging
import time
from typing import Any

from apimachinery.client import Client, ClientConnectionError
from apimachinery.errors import StatusError, is_not_found
from apimachinery.resources import must_resource
from kubelet.shared_reads import SharedReads

log = logging.getLogger("kubelet.env")

SERVICES = must_resource("", "services")
TTL = 60.0


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def service_env(service: dict[str, Any]) -> dict[str, str]:
    """<NAME>_SERVICE_HOST, <NAME>_SERVICE_PORT(_<PORT NAME>) and <NAME>_PORT(_<port>_<PROTO>...) of a Service
    with a cluster IP (none for a headless one); NAME is the Service's name, upper case, `-` as `_`."""
    spec = service.get("spec") or {}
    host = spec.get("clusterIP")
    ports = spec.get("ports") or []
    if not host or host == "None" or not ports:
        return {}
    svc = _env_name(str((service.get("metadata") or {}).get("name") or "kubernetes"))
    env = {f"{svc}_SERVICE_HOST": str(host), f"{svc}_SERVICE_PORT": str(ports[0].get("port"))}
    for port in ports:
        if port.get("name"):
            env[f"{svc}_SERVICE_PORT_{_env_name(str(port['name']))}"] = str(port.get("port"))
    first = ports[0]
    env[f"{svc}_PORT"] = f"{str(first.get('protocol') or 'TCP').lower()}://{host}:{first.get('port')}"
    for port in ports:
        proto = str(port.get("protocol") or "TCP")
        prefix = f"{svc}_PORT_{port.get('port')}_{proto}"
        env[prefix] = f"{proto.lower()}://{host}:{port.get('port')}"
        env[f"{prefix}_PROTO"] = proto.lower()
        env[f"{prefix}_PORT"] = str(port.get("port"))
        env[f"{prefix}_ADDR"] = str(host)
    return env


class MasterServiceEnv:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._env: dict[str, str] = {}
        self._read_at = float("-inf")
        # Pods synced at once share one read: of the master service, and of each namespace's Services.
        self._master: SharedReads[str, dict[str, str]] = SharedReads()
        self._lists: SharedReads[str, dict[str, Any]] = SharedReads()

    async def get(self) -> dict[str, str]:
        if time.monotonic() - self._read_at < TTL:
            return self._env
        return await self._master.get("", self._read_master)

    async def _read_master(self) -> dict[str, str]:
        try:
            self._env = service_env(await self.client.get(SERVICES, "kubernetes", "default"))
        except StatusError as exc:
            if not is_not_found(exc):
                log.warning("cannot read the kubernetes service: %s", exc)
            self._env = {}
        except ClientConnectionError as exc:
            log.warning("cannot read the kubernetes service: %s", exc)
            return self._env
        self._read_at = time.monotonic()
        return self._env

    async def for_pod(self, pod: dict[str, Any]) -> dict[str, str]:
        """The service environment of a container of `pod` (see the module docstring)."""
        master = await self.get()
        if (pod.get("spec") or {}).get("enableServiceLinks") is False:
            return master
        namespace = (pod.get("metadata") or {}).get("namespace") or "default"
        try:
            listed = await self._lists.get(namespace, lambda: self.client.list(SERVICES, namespace))
            services = listed.get("items") or []
        except (StatusError, ClientConnectionError) as exc:
            # The container still starts, as it would have before it had links; say so.
            log.warning("cannot list the services of %s for service links: %s", namespace, exc)
            return master
        env: dict[str, str] = {}
        for service in sorted(services, key=lambda s: str(s.get("metadata", {}).get("name"))):
            env.update(service_env(service))
        return {**env, **master}
