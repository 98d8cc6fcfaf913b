"""Two "machines" of a test's own: containers of the node image (kubelite/node:<tag>, deploy/build.sh), each with
its own dockerd, on a Docker network the test creates. Nothing in it can leave this host: the network has no
masquerading, and each machine's default route is deleted before anything runs in it. (Not an `--internal`
network: Docker drops traffic there whose source is outside the network's subnet, which pod-to-pod traffic between
the machines is, by design of host-gw routing.) Made as
/work/shared/tools/fresh-machine makes its machines: every capability but SYS_RESOURCE, no seccomp or AppArmor
profile, writable /proc/sys, never --privileged. Everything made here is removed by `Machines.destroy`, which the
fixture runs even when the test fails."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass, field

from tests.harness import REPO, wait_until

# The compose deployment's node image (deploy/build.sh, built before the tests by tests/prebuild.py): it brings
# dockerd, the CNI plugins, iptables and the Python dependencies; the code under test is this checkout's.
IMAGE = f"kubelite/node:{os.environ.get('KUBELITE_TAG', 'dev')}"

# What the node image's entrypoint does before its kubelet starts: writable cgroups and /proc/sys, forwarding on,
# and a dockerd that leaves bridges and iptables to kubelite; then the pod sandbox and busybox images.
START_DOCKERD = r"""
mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true
for d in /sys/fs/cgroup/*/; do mountpoint -q "$d" && { mount -o remount,rw,bind "$d" 2>/dev/null || true; }; done
mount -o remount,rw,bind /proc/sys 2>/dev/null || true
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || true
  sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control || true
fi
echo 1 >/proc/sys/net/ipv4/ip_forward
nohup dockerd --host unix:///var/run/docker.sock --storage-driver overlay2 --bridge none --iptables=false \
  --ip-masq=false --log-level warn >/var/log/dockerd.log 2>&1 &
for _ in $(seq 300); do docker info >/dev/null 2>&1 && break; sleep 0.1; done
docker info >/dev/null
docker load -q -i /opt/kubelite/images.tar >/dev/null
"""


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(
            f"docker {' '.join(args[:3])}... exited {done.returncode}: {done.stderr[-2000:]}"
        )
    return done


@dataclass
class Machine:
    name: str
    ip: str = ""

    def sh(
        self, script: str, *, check: bool = True, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """Run a bash script in the machine as root, with kctl's venv on PATH."""
        done = docker("exec", "-e", "HOME=/root", "-e", "PATH=/opt/kubelite/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                      self.name, "bash", "-c", script, check=False, timeout=timeout)  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(
                f"{self.name}: {script!r} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done

    def kctl(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return self.sh(" ".join(["kctl", *(_quote(a) for a in args)]), check=check, timeout=timeout)

    def json(self, *args: str) -> dict:
        return dict(json.loads(self.kctl(*args, "-o", "json").stdout))


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


@dataclass
class Machines:
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    made: list[tuple[str, str]] = field(default_factory=list)  # (kind, name) to remove, in reverse

    @property
    def network(self) -> str:
        return f"kl-join-{self.suffix}"

    def create(self, count: int) -> list[Machine]:
        docker(
            "network", "create", "--opt", "com.docker.network.bridge.enable_ip_masquerade=false", self.network
        )
        self.made.append(("network", self.network))
        machines = []
        for i in range(1, count + 1):
            name = f"kl-join-{self.suffix}-m{i}"
            volume = f"{name}-docker"
            docker("volume", "create", volume)
            self.made.append(("volume", volume))
            docker("run", "-d", "--name", name, "--hostname", f"m{i}", "--network", self.network,
                   "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE", "--security-opt", "systempaths=unconfined",
                   "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
                   "--sysctl", "net.ipv4.conf.all.route_localnet=0", "--tmpfs", "/run",
                   "-v", f"{volume}:/var/lib/docker", "--entrypoint", "sleep", IMAGE, "infinity")  # fmt: skip
            self.made.append(("container", name))
            inspect = json.loads(docker("inspect", name).stdout)[0]
            machine = Machine(name, inspect["NetworkSettings"]["Networks"][self.network]["IPAddress"])
            machine.sh('ip route del default; test -z "$(ip route show default)"')
            install_tree(machine)
            machine.sh(START_DOCKERD, timeout=120)
            machines.append(machine)
        return machines

    def destroy(self) -> None:
        for kind, name in reversed(self.made):
            if kind == "container":
                docker("rm", "-f", "-v", name, check=False)
            elif kind == "volume":
                docker("volume", "rm", "-f", name, check=False)
            else:
                docker("network", "rm", name, check=False)
        self.made.clear()


PACKAGES = ("apimachinery", "apiserver", "scheduler", "controller_manager", "kubelet", "kube_proxy", "netpol",
            "kube_dns", "cli")  # fmt: skip


def install_tree(machine: Machine) -> None:
    """This checkout's code over the image's installed copy: the test runs the tree, not the image's build."""
    site = machine.sh(
        "/opt/kubelite/bin/python -c 'import cli, os; print(os.path.dirname(os.path.dirname(cli.__file__)))'"
    ).stdout.strip()
    tar = subprocess.run(
        ["tar", "-C", str(REPO), "--exclude=__pycache__", "-c", *PACKAGES], capture_output=True, check=True
    )
    done = subprocess.run(["docker", "exec", "-i", machine.name, "tar", "-C", site, "-x"], input=tar.stdout,
                          capture_output=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def image_present() -> bool:
    return docker("image", "inspect", IMAGE, check=False).returncode == 0


def wait(what: str, predicate, timeout: float = 120) -> object:  # type: ignore[no-untyped-def]
    return wait_until(predicate, timeout, interval=1, what=what)
