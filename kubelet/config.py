"""The kubelet's settings (from the command line; tests build them directly)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class KubeletConfig:
    node_name: str
    node_ip: str = ""  # "" = the address of the default route's interface
    address: str = "0.0.0.0"  # where the kubelet HTTP API listens
    port: int = 10250
    pod_cidr: str = ""
    cluster_cidr: str = "10.244.0.0/16"
    cni_bin_dir: str = ""  # "" = /usr/lib/cni or /opt/cni/bin, whichever has the plugins
    cni_conf_dir: Path = Path("/etc/cni/net.d")
    root_dir: Path = Path("/var/lib/kubelet")
    local_path_root: Path | None = None  # local PersistentVolumes live here; None = <root_dir>/local-volumes
    pause_image: str = "kubelite/pause:1"
    node_labels: dict[str, str] = field(default_factory=dict)
    register_with_taints: list[dict[str, str]] = field(default_factory=list)
    capacity: dict[str, str] = field(default_factory=dict)  # overrides of the host's cpu/memory/pods
    max_pods: int = 110
    lease_duration: int = 40
    lease_renew_interval: float = 10.0
    node_status_update_frequency: float = 10.0
    node_status_report_frequency: float = 60.0
    resync_interval: float = 10.0
    stats_interval: float = 10.0  # how often container and node stats are collected (0 = not at all)
    crashloop_backoff_initial: float = 10.0
    crashloop_backoff_max: float = 300.0
    crashloop_backoff_reset: float = 600.0
    network_mode: str = "auto"  # auto | cni | docker-bridge
    # The HTTPS API: serving certificate and key, and the CA of the client certificates it accepts.
    tls_cert_file: str = ""
    tls_private_key_file: str = ""
    client_ca_file: str = ""
    cluster_dns: list[str] = field(default_factory=list)  # the nameservers of ClusterFirst pods (kube-dns)
    cluster_domain: str = "cluster.local"
    resolv_conf: str = "/etc/resolv.conf"  # the node's resolvers, for dnsPolicy Default ("" = none)

    @property
    def local_root(self) -> Path:
        return Path(os.path.abspath(self.local_path_root or self.root_dir / "local-volumes"))
