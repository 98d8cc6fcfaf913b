"""Starting the real metrics-server (`python -m metrics_server`) against a test apiserver: its own identity
(system:metrics-server), a serving certificate for metrics-server.kube-system.svc from the cluster CA (the
APIService's caBundle), the front-proxy CA as its requestheader CA, and a short scrape interval."""

from __future__ import annotations

from pathlib import Path

from apimachinery.user import METRICS_SERVER
from tests.harness import ApiServer, free_port, start_component, stop_process
from tests.harness import test_pki as cluster_pki


class MetricsServer:
    def __init__(self, apiserver: ApiServer, front_proxy_ca: Path, directory: Path, address: str,
                 resolution: float = 1.0, extra: list[str] | None = None) -> None:  # fmt: skip
        cert, key = cluster_pki().ca.issue_files(directory, "metrics-server", "metrics-server", server=True,
                                                 client=False, dns_names=["metrics-server.kube-system.svc"])  # fmt: skip
        self.port = free_port()
        self.health_port = free_port()
        self.address = address
        self.proc, self.log = start_component(
            ["metrics_server", *apiserver.component_args(METRICS_SERVER), "--tls-cert-file", str(cert),
             "--tls-private-key-file", str(key), "--requestheader-client-ca-file", str(front_proxy_ca),
             "--secure-port", str(self.port), "--health-port", str(self.health_port), "--advertise-address", address,
             "--metric-resolution", str(resolution), *(extra or [])],
            "metrics-server",
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def stop(self) -> int | None:
        stop_process(self.proc)
        return self.proc.returncode

    def logs(self) -> str:
        return self.log.read_text(errors="replace")
