"""An apiserver with the aggregation layer wired as `kctl up` wires it: a front-proxy CA of its own, the
apiserver's front-proxy client certificate (CN front-proxy-client), and the metrics APIService kept registered."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from apimachinery.pki import CertificateAuthority
from tests.harness import ApiServer, running_apiserver
from tests.harness import test_pki as cluster_pki


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


@pytest.fixture(scope="module")
def front_proxy(tmp_path_factory: pytest.TempPathFactory) -> FrontProxy:
    directory = tmp_path_factory.mktemp("front-proxy")
    ca = CertificateAuthority.create("front-proxy-ca")
    ca.save(directory)
    cert, key = ca.issue_files(directory, "front-proxy-client", "front-proxy-client")
    return FrontProxy(directory / "ca.crt", cert, key, ca, directory)


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory, front_proxy: FrontProxy) -> Iterator[ApiServer]:
    data = tmp_path_factory.mktemp("aggregator-apiserver")
    args = ["--data-dir", str(data), "--proxy-client-cert-file", str(front_proxy.client_cert),
            "--proxy-client-key-file", str(front_proxy.client_key),
            "--register-metrics-apiservice", cluster_pki().ca_file]  # fmt: skip
    with running_apiserver(None, args) as running:
        yield running
