"""Service address allocation: cluster IPs, node ports and load-balancer IPs, race-free through storage.

Each allocated address is its own storage key, written put-if-absent (`/registry/allocations/clusterips/10.96.0.7`,
like Kubernetes' IPAddress objects). Two concurrent creates can never get the same address: the second put-if-absent
fails and that create picks another. Release deletes the key. No in-memory state needs to agree across apiservers.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apimachinery import errors
from apiserver.storage.interface import ErrorCode, Storage, StorageError

Obj = dict[str, Any]
_PREFIX = "/registry/allocations"


def _invalid(name: str, field: str, message: str) -> errors.StatusError:
    return errors.invalid(
        "Service", name, [{"reason": "FieldValueInvalid", "field": field, "message": message}]
    )


@dataclass(eq=False)
class Pool:
    """One allocation space (an IP range or a port range) with keys under `_PREFIX/<name>/`."""

    storage: Storage
    name: str
    first: int
    last: int
    render: Callable[[int], str]
    parse: Callable[[str], int]
    # The first `reserved` values are handed out only when asked for by name, or (from `fallback_first` on) once
    # every other value is taken.
    reserved: int = 0
    fallback_first: int | None = None

    @property
    def dynamic_first(self) -> int:
        return min(self.first + self.reserved, self.last)

    def key(self, value: int) -> str:
        return f"{_PREFIX}/{self.name}/{self.render(value)}"

    def contains(self, value: int) -> bool:
        return self.first <= value <= self.last

    async def claim(self, value: int, owner: str) -> bool:
        try:
            await self.storage.create(
                self.key(value), {"metadata": {"name": self.render(value)}, "owner": owner}
            )
        except StorageError as exc:
            if exc.code is ErrorCode.EXISTS:
                return False
            raise
        return True

    async def allocate(self, owner: str) -> int:
        size = self.last - self.dynamic_first + 1
        for _ in range(min(32, size)):
            value = random.randint(self.dynamic_first, self.last)
            if await self.claim(value, owner):
                return value
        # Crowded: look at what is taken and pick from the rest.
        taken = {
            self.parse(kv.key.rsplit("/", 1)[1])
            for kv in (await self.storage.list(f"{_PREFIX}/{self.name}/")).items
        }
        free = [v for v in range(self.dynamic_first, self.last + 1) if v not in taken]
        random.shuffle(free)
        if self.fallback_first is not None:
            free += [v for v in range(self.fallback_first, self.dynamic_first) if v not in taken]
        for value in free[:64]:
            if await self.claim(value, owner):
                return value
        raise errors.StatusError(500, "InternalError", f"range {self.name} is full: no free addresses")

    async def free(self, value: int) -> None:
        try:
            await self.storage.delete(self.key(value))
        except StorageError as exc:
            if exc.code is not ErrorCode.NOT_FOUND:
                raise


def static_band(size: int) -> int:
    """How many addresses at the bottom of a service range are kept for Services that ask for one by name (the
    kube-dns Service's 10th address, say): Kubernetes' rule (KEP-3070), min(max(16, size/16), 256), none for a
    range under 16 addresses. Dynamic allocation takes them only when the rest of the range is full."""
    if size < 16:
        return 0
    return min(max(16, size // 16), 256)


def _ip_pool(
    storage: Storage, name: str, cidr: str, reserved: int = 0, fallback_first: int | None = None
) -> Pool:
    net = ipaddress.ip_network(cidr, strict=False)
    # Never the network or the broadcast address.
    first = int(net.network_address) + 1
    last = int(net.broadcast_address) - 1
    return Pool(
        storage,
        name,
        first,
        last,
        lambda v: str(ipaddress.ip_address(v)),
        lambda s: int(ipaddress.ip_address(s)),
        reserved,
        None if fallback_first is None else first + fallback_first,
    )


class ServiceAllocator:
    def __init__(self, storage: Storage, service_cidr: str, node_ports: str, lb_cidr: str | None) -> None:
        lo, _, hi = node_ports.partition("-")
        # The first host of the range is kept for the `kubernetes` service, as Kubernetes does; the static band
        # above it for addresses asked for by name (such as kube-dns's), handed out last.
        size = ipaddress.ip_network(service_cidr, strict=False).num_addresses
        self.cluster_ips = _ip_pool(
            storage, "clusterips", service_cidr, reserved=max(1, static_band(size)), fallback_first=1
        )
        self.node_ports = Pool(storage, "nodeports", int(lo), int(hi or lo), str, int)
        self.lb_ips = _ip_pool(storage, "loadbalancerips", lb_cidr) if lb_cidr else None
        self.service_cidr = service_cidr
        self.node_port_range = node_ports

    async def allocate(self, svc: Obj, *, dry_run: bool) -> None:
        """Fill spec.clusterIP(s), nodePorts and the load-balancer ingress IP; honour requested values or refuse them
        with 422. On failure, whatever was claimed for this service is released."""
        spec = svc.setdefault("spec", {})
        md = svc.get("metadata") or {}
        owner = f"{md.get('namespace')}/{md.get('name')}"
        claimed: list[tuple[Pool, int]] = []
        try:
            await self._allocate(svc, spec, owner, claimed, dry_run)
        except BaseException:
            for pool, value in claimed:
                await pool.free(value)
            raise
        if dry_run:
            for pool, value in claimed:
                await pool.free(value)

    async def _allocate(
        self, svc: Obj, spec: Obj, owner: str, claimed: list[tuple[Pool, int]], dry_run: bool
    ) -> None:
        name = str((svc.get("metadata") or {}).get("name"))
        svc_type = spec.get("type") or "ClusterIP"
        if svc_type == "ExternalName":
            return
        requested = spec.get("clusterIP")
        if requested in (None, ""):
            value = await self.cluster_ips.allocate(owner)
            claimed.append((self.cluster_ips, value))
            spec["clusterIP"] = self.cluster_ips.render(value)
        elif requested != "None":
            try:
                value = int(ipaddress.ip_address(requested))
            except ValueError:
                raise _invalid(
                    name, "spec.clusterIP", f'Invalid value: "{requested}": must be a valid IP address'
                ) from None
            if not self.cluster_ips.contains(value):
                raise _invalid(
                    name,
                    "spec.clusterIPs",
                    f'Invalid value: []string{{"{requested}"}}: failed to allocate IP {requested}: '
                    f"the provided IP ({requested}) is not in the valid range. The range of valid IPs is {self.service_cidr}",
                )
            if not await self.cluster_ips.claim(value, owner):
                raise _invalid(
                    name,
                    "spec.clusterIPs",
                    f'Invalid value: []string{{"{requested}"}}: failed to allocate IP {requested}: '
                    "provided IP is already allocated",
                )
            claimed.append((self.cluster_ips, value))
        spec["clusterIPs"] = [spec["clusterIP"]]
        if spec["clusterIP"] != "None":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        if svc_type in ("NodePort", "LoadBalancer"):
            await self._node_ports(spec, name, owner, claimed)
        if svc_type == "LoadBalancer" and self.lb_ips is not None:
            want_ip = spec.get("loadBalancerIP")
            if want_ip:
                try:
                    value = int(ipaddress.ip_address(want_ip))
                except ValueError:
                    value = -1
                if not self.lb_ips.contains(value) or not await self.lb_ips.claim(value, owner):
                    raise _invalid(
                        name,
                        "spec.loadBalancerIP",
                        f'Invalid value: "{want_ip}": not available in the load-balancer pool',
                    )
            else:
                value = await self.lb_ips.allocate(owner)
            claimed.append((self.lb_ips, value))
            svc["status"] = {
                "loadBalancer": {"ingress": [{"ip": self.lb_ips.render(value), "ipMode": "VIP"}]}
            }

    async def _node_ports(
        self,
        spec: Obj,
        name: str,
        owner: str,
        claimed: list[tuple[Pool, int]],
        *,
        kept: dict[tuple[Any, Any], Any] | None = None,
        held: set[tuple[str, int]] | None = None,
    ) -> None:
        """Give every port a node port: the one asked for (422 when out of range or taken), else the one the same
        port had before (`kept`, on update), else a free one. Ports already `held` by this service are not claimed
        again; what is claimed is appended to `claimed`."""
        for i, port in enumerate(spec.get("ports") or []):
            want = port.get("nodePort") or (kept or {}).get((port.get("port"), port.get("protocol", "TCP")))
            if not want:
                value = await self.node_ports.allocate(owner)
                claimed.append((self.node_ports, value))
                port["nodePort"] = value
                continue
            port["nodePort"] = int(want)
            if (self.node_ports.name, int(want)) in (held or set()):
                continue
            if not self.node_ports.contains(int(want)):
                message = (
                    f"Invalid value: {want}: provided port is not in the valid range. "
                    f"The range of valid ports is {self.node_port_range}"
                )
                raise _invalid(name, f"spec.ports[{i}].nodePort", message)
            if not await self.node_ports.claim(int(want), owner):
                message = f"Invalid value: {want}: provided port is already allocated"
                raise _invalid(name, f"spec.ports[{i}].nodePort", message)
            claimed.append((self.node_ports, int(want)))

    def holdings(self, svc: Obj) -> set[tuple[str, int]]:
        """What a stored service holds in the pools, as (pool name, value) pairs."""
        held: set[tuple[str, int]] = set()
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        if ip and ip != "None":
            try:
                value = int(ipaddress.ip_address(ip))
                if self.cluster_ips.contains(value):
                    held.add((self.cluster_ips.name, value))
            except ValueError:
                pass  # never allocated by us
        for port in spec.get("ports") or []:
            if port.get("nodePort"):
                held.add((self.node_ports.name, int(port["nodePort"])))
        if self.lb_ips is not None:
            for ing in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
                try:
                    held.add((self.lb_ips.name, int(ipaddress.ip_address(ing.get("ip", "")))))
                except ValueError:
                    pass  # an address written by someone else
        return held

    def _pool(self, name: str) -> Pool | None:
        return {p.name: p for p in (self.cluster_ips, self.node_ports, self.lb_ips) if p is not None}.get(
            name
        )

    async def release_difference(self, holder: Obj, other: Obj) -> None:
        """Free what `holder` holds and `other` does not."""
        await self._free(self.holdings(holder) - self.holdings(other))

    async def _free(self, holdings: set[tuple[str, int]]) -> None:
        for name, value in holdings:
            pool = self._pool(name)
            if pool is not None:
                await pool.free(value)

    async def reallocate(self, new: Obj, old: Obj) -> None:
        """Admission for an update: keep what the service holds and still needs, claim what it newly needs (a type
        change to NodePort or LoadBalancer, a requested nodePort), and drop from `new` what it no longer needs. What
        `old` held and `new` does not is freed by release_difference after the write."""
        spec = new.setdefault("spec", {})
        old_spec = old.get("spec") or {}
        md = new.get("metadata") or {}
        owner = f"{md.get('namespace')}/{md.get('name')}"
        name = str(md.get("name"))
        svc_type = spec.get("type") or "ClusterIP"
        held = self.holdings(old)
        claimed: list[tuple[Pool, int]] = []
        try:
            if svc_type != "ExternalName" and not spec.get("clusterIP"):
                if old_spec.get("clusterIP"):
                    spec["clusterIP"] = old_spec["clusterIP"]
                    spec["clusterIPs"] = old_spec.get("clusterIPs") or [old_spec["clusterIP"]]
                else:
                    value = await self.cluster_ips.allocate(owner)
                    claimed.append((self.cluster_ips, value))
                    spec["clusterIP"] = self.cluster_ips.render(value)
                    spec["clusterIPs"] = [spec["clusterIP"]]
            if svc_type in ("NodePort", "LoadBalancer"):
                kept = {
                    (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                    for p in old_spec.get("ports") or []
                    if p.get("nodePort")
                }
                await self._node_ports(spec, name, owner, claimed, kept=kept, held=held)
            else:
                for port in spec.get("ports") or []:
                    port.pop("nodePort", None)
            status = new.setdefault("status", {})
            has_lb_ip = any(n == "loadbalancerips" for n, _ in self.holdings(new))
            if svc_type == "LoadBalancer" and self.lb_ips is not None and not has_lb_ip:
                value = await self.lb_ips.allocate(owner)
                claimed.append((self.lb_ips, value))
                status["loadBalancer"] = {"ingress": [{"ip": self.lb_ips.render(value), "ipMode": "VIP"}]}
            elif svc_type != "LoadBalancer":
                status["loadBalancer"] = {}
        except BaseException:
            for pool, value in claimed:
                await pool.free(value)
            raise

    async def release(self, svc: Obj) -> None:
        """Free everything a deleted service held."""
        await self._free(self.holdings(svc))
