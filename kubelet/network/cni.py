"""Pod networking through the CNI reference plugins, called the way libcni calls them (we are the runtime).

The kubelet writes one network config list per node (`node_conflist`): a Linux bridge for the node's podCIDR
(`bridge` with `host-local` IPAM), then `portmap` for hostPorts. For each pod sandbox it runs `loopback` on `lo`
and the list on `eth0` in the pause container's network namespace (`/proc/<pid>/ns/net`): ADD in order, each plugin
getting the previous result; DEL in reverse order with the cached ADD result. The pod IP is the first address of
the final result.

No masquerading by the bridge plugin (`ipMasq: false`): pod-to-pod traffic across nodes must keep its source IP.
The node's host rules (network.host) masquerade only traffic that leaves the cluster CIDR.

What the machine allows shapes the list (`machine_portmap`): without iptables there is no `portmap` (hostPorts are
not published), and where /proc/sys is read-only `portmap` runs without `snat` (which needs route_localnet on the
bridge), so hostPorts are reachable on the node's addresses but not on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from apimachinery import hostcheck
from apimachinery.validation import is_port, parse_ip

log = logging.getLogger("kubelet.cni")

CNI_VERSION = "1.0.0"
PortmapMode = Literal["snat", "no-snat", "none"]
_CNI_ARG_VALUE = re.compile(r"[a-z0-9A-Z][-a-zA-Z0-9.]{0,252}")  # names and uids: no ';', '=' or spaces
_CONTAINER_ID = re.compile(r"[0-9a-zA-Z][-0-9a-zA-Z_.]{0,127}")
DEFAULT_BIN_DIRS = ("/usr/lib/cni", "/opt/cni/bin")
REQUIRED_PLUGINS = ("bridge", "host-local", "loopback", "portmap")


class CniError(Exception):
    """A CNI plugin failed; carries the plugin's error code and message."""

    def __init__(self, plugin: str, command: str, code: int, msg: str, details: str = "") -> None:
        super().__init__(
            f"CNI {plugin} {command} failed (code {code}): {msg}{': ' + details if details else ''}"
        )
        self.code = code


def bridge_name(node_name: str) -> str:
    """A Linux interface name (at most 15 bytes) for the node's bridge: cni-<node> when it fits, else a hash."""
    if len(node_name) <= 11 and all(c.isalnum() or c == "-" for c in node_name):
        return f"cni-{node_name}"
    return "cni-" + hashlib.sha1(node_name.encode()).hexdigest()[:11]


def network_name(node_name: str) -> str:
    return f"kubelite-{node_name}"


def machine_portmap() -> PortmapMode:
    """How this machine lets `portmap` publish hostPorts (see the module docstring)."""
    if not hostcheck.iptables_installed():
        return "none"
    if not hostcheck.sysctl_settable(hostcheck.ROUTE_LOCALNET, "1"):
        return "no-snat"
    return "snat"


def node_conflist(
    node_name: str, pod_cidr: str, data_dir: str, portmap: PortmapMode = "snat"
) -> dict[str, Any]:
    """The CNI network config list for a node: bridge + host-local over `pod_cidr`, then portmap."""
    plugins: list[dict[str, Any]] = []
    if portmap != "none":
        plugins.append({"type": "portmap", "capabilities": {"portMappings": True}, "snat": portmap == "snat"})
    return {
        "cniVersion": CNI_VERSION,
        "name": network_name(node_name),
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge_name(node_name),
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": pod_cidr}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": data_dir,
                },
            },
            *plugins,
        ],
    }


def loopback_conf() -> dict[str, Any]:
    return {"cniVersion": CNI_VERSION, "name": "cni-loopback", "type": "loopback"}


def port_mappings(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """portmap's runtimeConfig entries for every container port with a hostPort. portmap turns them into iptables
    rules, so each value is checked again here; a bad one fails the pod's sandbox (CniError), no other pod's."""
    mappings = []
    for container in pod.get("spec", {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                host_port, container_port = port.get("hostPort"), port.get("containerPort")
                protocol = str(port.get("protocol") or "TCP").lower()
                host_ip = port.get("hostIP")
                if (
                    not is_port(host_port)
                    or not is_port(container_port)
                    or protocol not in ("tcp", "udp", "sctp")
                ):
                    raise CniError("portmap", "ADD", 7, f"invalid port mapping {port!r}")
                if host_ip and parse_ip(host_ip) is None:
                    raise CniError("portmap", "ADD", 7, f"invalid hostIP {host_ip!r}")
                mappings.append(
                    {
                        "hostPort": host_port,
                        "containerPort": container_port,
                        "protocol": protocol,
                        **({"hostIP": host_ip} if host_ip else {}),
                    }
                )
    return mappings


def result_ip(result: dict[str, Any]) -> str:
    """The first IPv4 address of a CNI result, without its prefix length."""
    for entry in result.get("ips") or []:
        address = str(entry.get("address", ""))
        if "." in address:
            return address.split("/")[0]
    raise ValueError(f"CNI result has no IPv4 address: {result}")


def find_bin_dir(configured: str | None) -> str | None:
    """The first directory holding all required plugins (the configured one only, when given)."""
    return hostcheck.cni_bin_dir(configured)


@dataclass
class CniInvoker:
    """Runs plugin binaries from `bin_dir`; caches ADD results under `cache_dir` for the matching DEL."""

    bin_dir: str
    cache_dir: Path
    timeout: float = 30.0

    async def _exec(self, plugin_conf: dict[str, Any], command: str, env: dict[str, str]) -> dict[str, Any]:
        plugin = plugin_conf["type"]
        full_env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "CNI_COMMAND": command,
            "CNI_PATH": self.bin_dir,
            **env,
        }
        proc = await asyncio.create_subprocess_exec(
            os.path.join(self.bin_dir, plugin),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=full_env,
        )
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(json.dumps(plugin_conf).encode()), self.timeout
            )
        except TimeoutError as exc:
            proc.kill()
            await proc.wait()
            raise CniError(plugin, command, 999, f"timed out after {self.timeout}s") from exc
        if proc.returncode != 0:
            try:
                body = json.loads(out or b"{}")
            except ValueError:
                body = {}
            raise CniError(
                plugin,
                command,
                int(body.get("code", proc.returncode or 0)),
                str(body.get("msg") or err.decode(errors="replace").strip() or out.decode(errors="replace")),
                str(body.get("details", "")),
            )
        return json.loads(out) if out.strip() else {}

    def _env(self, container_id: str, netns: str, ifname: str, pod: dict[str, Any] | None) -> dict[str, str]:
        """The CNI environment. CNI_ARGS is `K=V;K=V`: a ';' or '=' in a pod's namespace, name or uid would add
        arguments of its own, so those are checked again first."""
        args = "IgnoreUnknown=1"
        if not _CONTAINER_ID.fullmatch(container_id):
            raise CniError("cni", "ADD", 4, f"invalid container id {container_id!r}")
        if pod is not None:
            md = pod["metadata"]
            for value in (md.get("namespace", "default"), md.get("name"), md.get("uid")):
                if not isinstance(value, str) or not _CNI_ARG_VALUE.fullmatch(value):
                    raise CniError("cni", "ADD", 4, f"invalid pod identity {value!r} for CNI_ARGS")
            args += (
                f";K8S_POD_NAMESPACE={md.get('namespace', 'default')};K8S_POD_NAME={md['name']}"
                f";K8S_POD_INFRA_CONTAINER_ID={container_id};K8S_POD_UID={md['uid']}"
            )
        return {"CNI_CONTAINERID": container_id, "CNI_NETNS": netns, "CNI_IFNAME": ifname, "CNI_ARGS": args}

    async def add(
        self,
        conflist: dict[str, Any],
        container_id: str,
        netns: str,
        pod: dict[str, Any],
        ifname: str = "eth0",
    ) -> dict[str, Any]:
        """ADD the sandbox to the network: loopback, then the list in order. Returns the final result."""
        await self._exec(loopback_conf(), "ADD", self._env(container_id, netns, "lo", pod))
        runtime_config = {"portMappings": port_mappings(pod)}
        prev: dict[str, Any] | None = None
        env = self._env(container_id, netns, ifname, pod)
        for plugin in conflist["plugins"]:
            conf = self._plugin_conf(conflist, plugin, prev, runtime_config)
            if plugin["type"] == "portmap" and not runtime_config["portMappings"]:
                continue  # nothing to map: save the plugin's iptables work
            prev = await self._exec(conf, "ADD", env) or prev
        assert prev is not None
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        (self.cache_dir / container_id).write_text(json.dumps({"result": prev, "pod": pod_ref(pod)}))
        return prev

    async def delete(
        self, conflist: dict[str, Any], container_id: str, netns: str, ifname: str = "eth0"
    ) -> None:
        """DEL in reverse order. A gone namespace is fine: plugins release what they hold (IPs, iptables)."""
        cached_path = self.cache_dir / container_id
        cached: dict[str, Any] = {}
        if cached_path.exists():
            cached = json.loads(cached_path.read_text())
        prev = cached.get("result")
        env = self._env(container_id, netns, ifname, None)
        runtime_config = {"portMappings": cached.get("pod", {}).get("portMappings", [])}
        for plugin in reversed(conflist["plugins"]):
            if plugin["type"] == "portmap" and not runtime_config["portMappings"]:
                continue
            await self._exec(self._plugin_conf(conflist, plugin, prev, runtime_config), "DEL", env)
        cached_path.unlink(missing_ok=True)

    def cached_ids(self) -> list[str]:
        """Container ids with a cached ADD result (sandboxes this node has networked and not yet torn down)."""
        if not self.cache_dir.exists():
            return []
        return [p.name for p in self.cache_dir.iterdir()]

    @staticmethod
    def _plugin_conf(
        conflist: dict[str, Any], plugin: dict[str, Any], prev: dict[str, Any] | None, runtime: dict[str, Any]
    ) -> dict[str, Any]:
        conf = {**plugin, "cniVersion": conflist["cniVersion"], "name": conflist["name"]}
        caps = plugin.get("capabilities") or {}
        wanted = {k: v for k, v in runtime.items() if caps.get(k)}
        if wanted:
            conf["runtimeConfig"] = wanted
        if prev is not None:
            conf["prevResult"] = prev
        return conf


def pod_ref(pod: dict[str, Any]) -> dict[str, Any]:
    md = pod["metadata"]
    return {
        "namespace": md.get("namespace"),
        "name": md["name"],
        "uid": md["uid"],
        "portMappings": port_mappings(pod),
    }


def write_conflist(conf_dir: Path, conflist: dict[str, Any]) -> Path:
    """Write the node's conflist as <conf_dir>/10-<name>.conflist (atomically) and return its path."""
    conf_dir.mkdir(parents=True, exist_ok=True)
    path = conf_dir / f"10-{conflist['name']}.conflist"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(conflist, indent=2))
    tmp.replace(path)
    return path
