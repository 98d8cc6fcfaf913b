"""Reading cgroup v1 and v2 files as cAdvisor does (working set = usage - inactive_file), finding hierarchies in
mountinfo, and refusing cgroup paths that would leave a hierarchy. The trees here are built in a temporary
directory (this machine has one cgroup version only); tests/e2e/kubelet/test_stats.py reads the real one."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelet.stats import cgroups
from kubelet.stats.cgroups import Cgroup, CgroupError, Hierarchies
from kubelet.stats.netdev import parse_net_dev

CID = "ab" * 32


def _v1_tree(root: Path, path: str) -> Hierarchies:
    cpu = root / "cpuacct" / path.lstrip("/")
    mem = root / "memory" / path.lstrip("/")
    cpu.mkdir(parents=True)
    mem.mkdir(parents=True)
    (cpu / "cpuacct.usage").write_text("1500000000\n")
    (mem / "memory.usage_in_bytes").write_text(str(100 << 20) + "\n")
    (mem / "memory.stat").write_text(
        f"cache 1\nrss 2\ninactive_file 3\ntotal_rss {40 << 20}\ntotal_inactive_file {30 << 20}\n"
        "total_pgfault 77\ntotal_pgmajfault 5\n"
    )
    return Hierarchies(v1={"cpuacct": (root / "cpuacct", "/"), "memory": (root / "memory", "/")})


def test_v1_cpu_and_working_set(tmp_path: Path) -> None:
    h = _v1_tree(tmp_path, f"/docker/{CID}")
    group = Cgroup(h, {"cpuacct": f"/docker/{CID}", "memory": f"/docker/{CID}"})
    assert group.version == 1 and group.path == f"/docker/{CID}"
    assert group.cpu().usage_ns == 1_500_000_000
    m = group.memory()
    assert (m.usage, m.working_set, m.rss) == (100 << 20, 70 << 20, 40 << 20)
    assert (m.page_faults, m.major_page_faults) == (77, 5)


def test_v2_cpu_and_working_set(tmp_path: Path) -> None:
    d = tmp_path / "system.slice" / f"docker-{CID}.scope"
    d.mkdir(parents=True)
    (d / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
    (d / "memory.current").write_text(str(64 << 20))
    (d / "memory.stat").write_text(
        f"anon {20 << 20}\nfile 9\ninactive_file {60 << 20}\npgfault 3\npgmajfault 1\n"
    )
    h = Hierarchies(v2=(tmp_path, "/"))
    path = cgroups.docker_cgroup_path(CID, "systemd")
    assert path == f"/system.slice/docker-{CID}.scope"
    group = Cgroup.for_path(h, path)
    assert group.version == 2 and group.exists()
    assert group.cpu().usage_ns == 2_500_000_000
    m = group.memory()
    assert (m.usage, m.working_set, m.rss) == (64 << 20, 4 << 20, 20 << 20)
    (d / "memory.stat").write_text(f"inactive_file {80 << 20}\n")
    assert group.memory().working_set == 0  # never negative


def test_docker_naming_without_a_process() -> None:
    assert cgroups.docker_cgroup_path(CID, "cgroupfs") == f"/docker/{CID}"
    assert cgroups.docker_cgroup_path(CID, "cgroupfs", "/kubelite") == f"/kubelite/{CID}"
    assert cgroups.docker_cgroup_path(CID, "systemd", "k.slice") == f"/k.slice/docker-{CID}.scope"
    with pytest.raises(CgroupError):
        cgroups.docker_cgroup_path("../../etc", "cgroupfs")


@pytest.mark.parametrize("bad", ["/docker/../../etc", "/a/./b", "relative", "/a\nb", "/a b"])
def test_paths_that_leave_the_hierarchy_are_refused(tmp_path: Path, bad: str) -> None:
    h = Hierarchies(v2=(tmp_path, "/"))
    with pytest.raises(CgroupError):
        Cgroup.for_path(h, bad)


def test_a_namespaced_mount_root_is_stripped(tmp_path: Path) -> None:
    h = Hierarchies(v2=(tmp_path, "/outer"))
    assert Cgroup.for_path(h, "/outer/docker/x").cpu_dir == tmp_path / "docker" / "x"


def test_hierarchies_from_mountinfo(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(
        "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
        "31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
        "32 25 0:28 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n"
    )
    h = cgroups.read_hierarchies(str(info))
    assert h.version == 1
    assert h.v1["cpuacct"] == (Path("/sys/fs/cgroup/cpu,cpuacct"), "/")
    assert h.v2 == (Path("/sys/fs/cgroup/unified"), "/")
    info.write_text("32 25 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n")
    assert cgroups.read_hierarchies(str(info)).version == 2


def test_process_cgroups(tmp_path: Path) -> None:
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "cgroup").write_text(f"4:memory:/docker/{CID}\n2:cpu,cpuacct:/docker/{CID}\n0::/x\n")
    paths = cgroups.proc_cgroups(42, str(tmp_path))
    assert paths == {
        "memory": f"/docker/{CID}",
        "cpu": f"/docker/{CID}",
        "cpuacct": f"/docker/{CID}",
        "": "/x",
    }
    with pytest.raises(CgroupError):
        cgroups.proc_cgroups(43, str(tmp_path))
    with pytest.raises(CgroupError):
        cgroups.proc_cgroups(0, str(tmp_path))


def test_node_totals_from_proc(tmp_path: Path) -> None:
    (tmp_path / "stat").write_text("cpu  100 10 50 1000 20 5 5 3 0 0\ncpu0 1 2 3 4\nbtime 1700000000\n")
    (tmp_path / "meminfo").write_text(
        "MemTotal: 1000 kB\nMemFree: 200 kB\nMemAvailable: 600 kB\nInactive(file): 300 kB\nAnonPages: 100 kB\n"
    )
    hz = cgroups.os.sysconf("SC_CLK_TCK")
    assert cgroups.node_cpu(str(tmp_path)).usage_ns == (100 + 10 + 50 + 5 + 5 + 3) * 1_000_000_000 // hz
    m, available, total = cgroups.node_memory(str(tmp_path))
    assert (m.usage, m.working_set, m.rss, available, total) == (
        800 << 10,
        500 << 10,
        100 << 10,
        600 << 10,
        1000 << 10,
    )
    assert cgroups.boot_time(str(tmp_path)) == 1700000000


def test_net_dev_without_loopback() -> None:
    text = (
        "Inter-|   Receive                            |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
        "    lo:    100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n"
        "  eth0:   5000      10    2    0    0     0          0         0     7000      12    1    0    0     0       0          0\n"
    )
    [eth0] = parse_net_dev(text)
    assert (eth0.name, eth0.rx_bytes, eth0.rx_errors, eth0.tx_bytes, eth0.tx_errors) == (
        "eth0",
        5000,
        2,
        7000,
        1,
    )
