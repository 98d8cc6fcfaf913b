from kubelet.config import KubeletConfig
from kubelet.network.cni import bridge_name, node_conflist, port_mappings, result_ip
from kubelet.node import node_object


def test_conflist_for_a_node() -> None:
    conf = node_conflist("node-1", "10.244.3.0/24", "/var/lib/kubelet/cni/networks")
    assert conf["cniVersion"] == "1.0.0" and conf["name"] == "kubelite-node-1"
    bridge, portmap = conf["plugins"]
    assert bridge["type"] == "bridge" and bridge["bridge"] == "cni-node-1"
    assert bridge["isGateway"] and bridge["hairpinMode"] and bridge["ipMasq"] is False
    assert bridge["ipam"]["type"] == "host-local"
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.244.3.0/24"}]]
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}


def test_bridge_names_fit_linux_limits() -> None:
    assert bridge_name("n1") == "cni-n1"
    long = bridge_name("a-very-long-node-name.example.com")
    assert len(long) <= 15 and long.startswith("cni-")
    assert long != bridge_name("a-very-long-node-name.example.org")


def test_port_mappings_and_result_ip() -> None:
    pod = {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080},
                                                           {"containerPort": 53, "protocol": "UDP"}]}]}}  # fmt: skip
    assert port_mappings(pod) == [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]
    result = {"ips": [{"address": "fd00::2/64"}, {"address": "10.244.3.7/24", "gateway": "10.244.3.1"}]}
    assert result_ip(result) == "10.244.3.7"


def test_node_object_has_everything_the_api_expects() -> None:
    config = KubeletConfig(node_name="n1", port=10555, pod_cidr="10.244.9.0/24", node_labels={"tier": "x"},
                           register_with_taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}])  # fmt: skip
    facts = {"cpu": 4, "memory": 8 * 2**30, "nodeInfo": {k: "x" for k in (
        "machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion",
        "kubeletVersion", "kubeProxyVersion", "operatingSystem")} | {"architecture": "amd64"}}  # fmt: skip
    node = node_object(config, facts, "192.0.2.10")
    assert node["spec"] == {"podCIDR": "10.244.9.0/24", "podCIDRs": ["10.244.9.0/24"],
                            "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]}  # fmt: skip
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "n1" and labels["kubernetes.io/arch"] == "amd64"
    assert labels["tier"] == "x"
    status = node["status"]
    assert status["capacity"]["cpu"] == "4" and status["capacity"]["memory"] == f"{8 * 2**20}Ki"
    assert status["allocatable"]["pods"] == "110"
    assert status["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10555}}
    assert {c["type"] for c in status["conditions"]} == {
        "Ready",
        "MemoryPressure",
        "DiskPressure",
        "PIDPressure",
    }
    assert len(status["nodeInfo"]) == 10
