"""The aggregation layer's credentials for tests: a front-proxy CA of its own and the apiserver's front-proxy client
certificate (CN front-proxy-client), as `kctl up` makes them; and an address of this machine that an
EndpointSlice may name."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from apimachinery.pki import CertificateAuthority


@dataclass(frozen=True)
class FrontProxy:
    ca_file: Path
    client_cert: Path
    client_key: Path
    ca: CertificateAuthority
    dir: Path


def local_address() -> str:
    """A global IPv4 address of this machine (an EndpointSlice may not name loopback); traffic to it stays here."""
    out = subprocess.run(["ip", "-j", "-4", "addr", "show", "scope", "global"], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    for link in json.loads(out):
        for info in link.get("addr_info") or []:
            address = ipaddress.ip_address(info["local"])
            if not address.is_loopback:
                return str(address)
    pytest.fail("this machine has no global IPv4 address to advertise")


def make_front_proxy(directory: Path) -> FrontProxy:
    ca = CertificateAuthority.create("front-proxy-ca")
    ca.save(directory)
    cert, key = ca.issue_files(directory, "front-proxy-client", "front-proxy-client")
    return FrontProxy(directory / "ca.crt", cert, key, ca, directory)


def apiserver_args(front_proxy: FrontProxy, metrics_ca: str) -> list[str]:
    return ["--proxy-client-cert-file", str(front_proxy.client_cert), "--proxy-client-key-file",
            str(front_proxy.client_key), "--register-metrics-apiservice", metrics_ca]  # fmt: skip
