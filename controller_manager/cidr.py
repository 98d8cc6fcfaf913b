"""Pod CIDR allocation: one fixed-size subnet per Node out of the cluster CIDR (Kubernetes' range allocator)."""

from __future__ import annotations

import ipaddress


class CIDRExhaustedError(Exception):
    """Every subnet of the cluster CIDR is in use."""


class CIDRAllocator:
    """Hands out `/mask` subnets of `cluster_cidr` in order, lowest free first; `occupy` marks existing ones."""

    def __init__(self, cluster_cidr: str = "10.244.0.0/16", mask: int = 24) -> None:
        self.network = ipaddress.ip_network(cluster_cidr, strict=False)
        if mask < self.network.prefixlen:
            raise ValueError(f"node mask /{mask} is larger than the cluster CIDR {cluster_cidr}")
        self.mask = mask
        self.size = 2 ** (mask - self.network.prefixlen)
        self._used: set[int] = set()
        self._next = 0

    def _index(self, cidr: str) -> int | None:
        net = ipaddress.ip_network(cidr, strict=False)
        if net.version != self.network.version or not net.subnet_of(self.network):  # type: ignore[arg-type]
            return None
        if net.prefixlen != self.mask:
            return None
        offset = int(net.network_address) - int(self.network.network_address)
        return offset >> (self.network.max_prefixlen - self.mask)

    def _cidr(self, index: int) -> str:
        base = int(self.network.network_address) + (index << (self.network.max_prefixlen - self.mask))
        return str(ipaddress.ip_network((base, self.mask)))

    def occupy(self, cidr: str) -> bool:
        """Mark a subnet in use (a Node that already has it); False when it is not one of ours."""
        index = self._index(cidr)
        if index is None:
            return False
        self._used.add(index)
        return True

    def allocate(self) -> str:
        for step in range(self.size):
            index = (self._next + step) % self.size
            if index not in self._used:
                self._used.add(index)
                self._next = (index + 1) % self.size
                return self._cidr(index)
        raise CIDRExhaustedError(f"no free /{self.mask} left in {self.network}")

    def release(self, cidr: str) -> None:
        index = self._index(cidr)
        if index is not None:
            self._used.discard(index)
