"""The environment every container gets to find the apiserver: KUBERNETES_SERVICE_HOST/PORT and the Docker-link
style KUBERNETES_PORT_* variables, from the `kubernetes` Service in `default` (as the kubelet sets them for every
pod, whatever enableServiceLinks says). Read from the API at most once a minute."""

from __future__ import annotations

import logging
import time
from typing import Any

from apimachinery.client import Client, ClientConnectionError
from apimachinery.errors import StatusError
from apimachinery.resources import must_resource

log = logging.getLogger("kubelet.env")

SERVICES = must_resource("", "services")
TTL = 60.0


def service_env(service: dict[str, Any]) -> dict[str, str]:
    """KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT(_<NAME>) and KUBERNETES_PORT(_<port>_<PROTO>...)."""
    spec = service.get("spec") or {}
    host = spec.get("clusterIP")
    ports = spec.get("ports") or []
    if not host or host == "None" or not ports:
        return {}
    env = {"KUBERNETES_SERVICE_HOST": str(host), "KUBERNETES_SERVICE_PORT": str(ports[0].get("port"))}
    for port in ports:
        if port.get("name"):
            env[f"KUBERNETES_SERVICE_PORT_{str(port['name']).upper().replace('-', '_')}"] = str(
                port.get("port")
            )
    first = ports[0]
    env["KUBERNETES_PORT"] = f"{str(first.get('protocol') or 'TCP').lower()}://{host}:{first.get('port')}"
    for port in ports:
        proto = str(port.get("protocol") or "TCP")
        prefix = f"KUBERNETES_PORT_{port.get('port')}_{proto}"
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

    async def get(self) -> dict[str, str]:
        if time.monotonic() - self._read_at < TTL:
            return self._env
        try:
            self._env = service_env(await self.client.get(SERVICES, "kubernetes", "default"))
        except StatusError as exc:
            if exc.code != 404:
                log.warning("cannot read the kubernetes service: %s", exc)
            self._env = {}
        except ClientConnectionError as exc:
            log.warning("cannot read the kubernetes service: %s", exc)
            return self._env
        self._read_at = time.monotonic()
        return self._env
