"""scripts/egress-guard and scripts/with-egress-guard (what scripts/test runs pytest under), each test in a network
namespace of its own (`unshare --net`) with a dummy interface as its default route: the host's own guard and
rules are never touched, and no packet is sent."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.harness import REPO

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("iptables") or not shutil.which("unshare"),
    reason="the egress guard needs root, iptables and unshare",
)

GUARD = REPO / "scripts" / "egress-guard"
WITH_GUARD = REPO / "scripts" / "with-egress-guard"

# A machine whose default route leaves through `uplink0` (a dummy device: nothing it is given goes anywhere).
MACHINE = """
set -e
ip link set lo up
ip link add uplink0 type dummy 2>/dev/null || ip link add uplink0 type ifb
ip addr add 192.0.2.10/24 dev uplink0
ip link set uplink0 up
ip route add default via 192.0.2.1 dev uplink0
set +e
"""


def in_netns(script: str, with_default_route: bool = True) -> str:
    """Run a bash script in a new network namespace; return its output (stdout and stderr, in order)."""
    body = (MACHINE if with_default_route else "ip link set lo up\n") + script
    done = subprocess.run(
        ["unshare", "--net", "--", "bash", "-c", body],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    return done.stdout


def test_on_drops_private_ranges_leaving_by_the_default_route_and_lets_dns_out() -> None:
    out = in_netns(f"{GUARD} on; {GUARD} status; echo status=$?; iptables -S OUTPUT; iptables -S FORWARD")
    assert "status=0" in out
    resolvers = [
        line.split()[1]
        for line in Path("/etc/resolv.conf").read_text().splitlines()
        if line.startswith("nameserver") and ":" not in line and not line.split()[1].startswith("127.")
    ]
    for chain in ("OUTPUT", "FORWARD"):
        rules = [line for line in out.splitlines() if line.startswith(f"-A {chain} ")]
        assert all("-o uplink0" in rule and "--comment kubelite-egress-guard" in rule for rule in rules), (
            rules
        )
        drops = [rule.split(" -d ")[1].split()[0] for rule in rules if rule.endswith("-j DROP")]
        assert drops == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"]
        accepts = [rule for rule in rules if rule.endswith("-j ACCEPT")]
        assert len(accepts) == 2 * len(resolvers) and all("--dport 53" in rule for rule in accepts)
        assert rules[: len(accepts)] == accepts  # DNS first, then the drops


def test_on_twice_then_off_leaves_no_rule() -> None:
    out = in_netns(f"{GUARD} on >/dev/null; {GUARD} on >/dev/null; iptables -S OUTPUT | grep -c egress-guard; "
                   f"{GUARD} off; {GUARD} status; echo status=$?; iptables -S | grep -c egress-guard")  # fmt: skip
    counts = [line for line in out.splitlines() if line.strip().isdigit()]
    assert int(counts[0]) >= 5 and counts[1] == "0"  # `on` again replaced its rules instead of adding more
    assert "egress-guard: OFF" in out and "status=1" in out


def test_the_wrapper_turns_the_guard_on_for_the_command_and_off_after_it() -> None:
    out = in_netns(f"{WITH_GUARD} bash -c '{GUARD} status; exit 3'; echo rc=$?; {GUARD} status")
    lines = out.splitlines()
    assert "egress-guard: on" in lines  # during the command
    assert "rc=3" in lines  # the command's exit status
    assert lines[-1] == "egress-guard: OFF"  # turned off again by whoever turned it on


def test_the_wrapper_leaves_a_guard_it_did_not_turn_on_on_even_when_the_command_fails() -> None:
    out = in_netns(f"{GUARD} on >/dev/null; {WITH_GUARD} false; echo rc=$?; {GUARD} status")
    lines = out.splitlines()
    assert "egress-guard: already on (it stays on afterwards)" in lines
    assert "rc=1" in lines
    assert lines[-1] == "egress-guard: on"


def test_the_wrapper_turns_its_guard_off_when_stopped_by_a_signal() -> None:
    out = in_netns(
        f"{WITH_GUARD} sleep 1 & pid=$!; sleep 0.3; {GUARD} status; kill -TERM $pid; wait $pid; echo rc=$?; "
        f"{GUARD} status"
    )
    lines = out.splitlines()
    assert lines.count("egress-guard: on") == 1 and "rc=143" in lines
    assert lines[-1] == "egress-guard: OFF"


def test_without_a_default_route_there_is_nothing_to_guard() -> None:
    out = in_netns(
        f"{WITH_GUARD} true; echo rc=$?; iptables -S | grep -c egress-guard", with_default_route=False
    )
    assert "nothing can leave" in out and "rc=0" in out and out.splitlines()[-1] == "0"
