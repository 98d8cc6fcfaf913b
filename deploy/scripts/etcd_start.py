"""Start one etcd member of the compose cluster, then exec etcd.

    etcd_start.py NAME [--join ENDPOINT]

Without --join the member bootstraps a one-member cluster. With --join (the `ha` profile's etcd-2 and etcd-3) it
first registers itself through ENDPOINT's v3 HTTP gateway (member add, runtime reconfiguration) and starts with
initial-cluster-state "existing". A member whose data folder already holds a member directory just restarts.
So the default profile needs no knowledge of the ha one: the cluster grows when the ha members start.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from typing import Any

DATA_DIR = "/var/lib/etcd"


def peer_url(name: str) -> str:
    return f"http://{name}:2380"


def _post(endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(
        endpoint.rstrip("/") + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"{}")


def join(name: str, endpoint: str) -> str:
    """Add this member (unless present) and return the --initial-cluster value naming every member."""
    deadline = time.monotonic() + 60
    while True:
        try:
            members = _post(endpoint, "/v3/cluster/member/list", {}).get("members") or []
            if not any(peer_url(name) in (m.get("peerURLs") or []) for m in members):
                members = _post(endpoint, "/v3/cluster/member/add", {"peerURLs": [peer_url(name)]})["members"]
            break
        except OSError as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"cannot join the etcd cluster through {endpoint}: {exc}") from exc
            print(f"waiting for {endpoint}: {exc}", file=sys.stderr)
            time.sleep(1)
    parts = []
    for m in members:
        url = (m.get("peerURLs") or [peer_url(name)])[0]
        parts.append(f"{m.get('name') or name}={url}")
    return ",".join(parts)


def main() -> None:
    name = sys.argv[1]
    join_endpoint = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--join" else ""
    args = [
        "etcd",
        f"--name={name}",
        f"--data-dir={DATA_DIR}",
        "--listen-client-urls=http://0.0.0.0:2379",
        f"--advertise-client-urls=http://{name}:2379",
        "--listen-peer-urls=http://0.0.0.0:2380",
        f"--initial-advertise-peer-urls={peer_url(name)}",
        "--initial-cluster-token=kubelite",
        "--logger=zap",
        "--log-level=warn",
    ]
    if os.path.isdir(os.path.join(DATA_DIR, "member")):
        pass  # a restart: the data folder knows the cluster
    elif join_endpoint:
        args += [f"--initial-cluster={join(name, join_endpoint)}", "--initial-cluster-state=existing"]
    else:
        args += [f"--initial-cluster={name}={peer_url(name)}", "--initial-cluster-state=new"]
    print("exec " + " ".join(args), file=sys.stderr, flush=True)
    os.execvp(args[0], args)


if __name__ == "__main__":
    main()
