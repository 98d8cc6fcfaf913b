"""deploy/scripts/prometheus_sd.py: the file_sd target groups it writes from Nodes and Endpoints (the labels of
Prometheus's kubernetes_sd roles node and endpoints), and the ServiceAccount's role: read-only, nothing more."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("prometheus_sd", DEPLOY / "scripts" / "prometheus_sd.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("prometheus_sd", module)
    spec.loader.exec_module(module)
    return module


sd = _load()


def node(name: str, port: object = 10250) -> dict[str, object]:
    return {
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name, "node-role.kubernetes.io/x": ""},
        },
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": "172.18.0.5"},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
        },
    }


def test_a_node_is_a_target_at_its_name_and_kubelet_port_with_kubernetes_sd_labels() -> None:
    groups = sd.node_targets([node("node-1"), node("node-2", 10251)])
    assert [g["targets"] for g in groups] == [["node-1:10250"], ["node-2:10251"]]
    labels = groups[0]["labels"]
    assert labels["__meta_kubernetes_node_name"] == "node-1"
    assert labels["__meta_kubernetes_node_label_kubernetes_io_hostname"] == "node-1"
    assert labels["__meta_kubernetes_node_label_node_role_kubernetes_io_x"] == ""
    assert labels["__meta_kubernetes_node_address_InternalIP"] == "172.18.0.5"


def test_a_node_without_a_kubelet_port_or_name_is_left_out() -> None:
    no_port = node("node-3")
    no_port["status"] = {}
    assert sd.node_targets([no_port, node("node-4", "10250"), {"metadata": {}}]) == []


def test_endpoints_give_the_ready_addresses_at_the_named_port_only() -> None:
    endpoints = {
        "metadata": {"name": "kubernetes", "namespace": "default"},
        "subsets": [
            {
                "addresses": [{"ip": "172.18.0.3"}, {"ip": "172.18.0.2"}],
                "notReadyAddresses": [{"ip": "172.18.0.9"}],
                "ports": [{"name": "https", "port": 6443}, {"name": "other", "port": 1}],
            }
        ],
    }
    (group,) = sd.endpoint_targets(endpoints, "https")
    assert group["targets"] == ["172.18.0.2:6443", "172.18.0.3:6443"]
    assert group["labels"]["__meta_kubernetes_service_name"] == "kubernetes"
    assert sd.endpoint_targets(endpoints, "http") == []
    assert sd.endpoint_targets({"metadata": {}}, "https") == []


def test_the_role_only_reads() -> None:
    (role,) = [obj for _, obj in sd.OBJECTS if obj["kind"] == "ClusterRole"]
    verbs = {v for rule in role["rules"] for v in rule["verbs"]}
    assert verbs == {"get", "list", "watch"}
    resources = {r for rule in role["rules"] for r in rule.get("resources", [])}
    assert "secrets" not in resources and "*" not in resources
    assert [rule["nonResourceURLs"] for rule in role["rules"] if "nonResourceURLs" in rule] == [["/metrics"]]


def test_prometheus_config_reads_the_files_this_job_writes() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    files = {
        f for job in config["scrape_configs"] for sdc in job.get("file_sd_configs", []) for f in sdc["files"]
    }
    assert files == {str(sd.TOKEN_DIR / "sd" / name) for name in ("apiserver.json", "kubelet.json")}
    tokens = {
        job["authorization"]["credentials_file"] for job in config["scrape_configs"] if "authorization" in job
    }
    assert tokens == {str(sd.TOKEN_DIR / "token")}
