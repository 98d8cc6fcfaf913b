"""What the integration apiserver hostile tests share besides their fixtures (those are in conftest.py)."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import uuid
from typing import Any

import httpx

from apimachinery import serialization
from tests.harness import ApiServer, Etcd

HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
MAX_MUTATING = 4


FLAGS = [
    "--request-header-timeout", str(HEADER_TIMEOUT),
    "--request-body-timeout", str(BODY_TIMEOUT),
    "--keep-alive-timeout", "2",
    "--max-mutating-requests-inflight", str(MAX_MUTATING),
    "--max-requests-inflight", "50",
    "--cluster-cidr", "10.244.0.0/16",
]  # fmt: skip


class Hostile:
    def __init__(self, etcd: Etcd, server: ApiServer) -> None:
        self.etcd = etcd
        self.server = server
        self.api = server.client(timeout=15)  # as the admin (client certificate, system:masters)
        self.sentinels: dict[str, str] = {}  # path -> resourceVersion

    def put_raw(self, key: str, value: bytes | str) -> None:
        """Write `value` at `key` in etcd with etcdctl (nothing of ours in between)."""
        data = value if isinstance(value, bytes) else value.encode()
        etcdctl = shutil.which("etcdctl") or "/usr/bin/etcdctl"
        subprocess.run(
            [etcdctl, "--endpoints", self.etcd.url, "put", key],
            input=data,
            check=True,
            capture_output=True,
            env={**os.environ, "ETCDCTL_API": "3"},
            timeout=20,
        )

    def put_object(self, key: str, obj: dict[str, Any]) -> None:
        obj.setdefault("metadata", {}).setdefault("uid", str(uuid.uuid4()))
        obj["metadata"].setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        self.put_raw(key, serialization.dumps(obj))  # no recursion limit, unlike json.dumps

    def delete_raw(self, key: str) -> None:
        etcdctl = shutil.which("etcdctl") or "/usr/bin/etcdctl"
        subprocess.run(
            [etcdctl, "--endpoints", self.etcd.url, "del", key],
            check=True, capture_output=True, env={**os.environ, "ETCDCTL_API": "3"}, timeout=20,
        )  # fmt: skip

    def namespace(self, labels: dict[str, str] | None = None) -> str:
        name = f"h-{uuid.uuid4().hex[:8]}"
        r = self.api.post("/api/v1/namespaces", json={"metadata": {"name": name, "labels": labels or {}}})
        assert r.status_code == 201, r.text
        return name


def tls_connection(server: ApiServer) -> ssl.SSLSocket:
    """A raw connection to the apiserver as the admin: TCP, then TLS with the admin's client certificate (the
    handshake done); what is sent on it after that is up to the test."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        return server.ssl_context().wrap_socket(sock, server_hostname="127.0.0.1")
    except BaseException:
        sock.close()
        raise


def assert_status(
    r: httpx.Response, code: int, reason: str | None = None, contains: str = ""
) -> dict[str, Any]:
    assert r.status_code == code, f"{r.status_code} {r.text[:500]}"
    body = r.json()
    assert body["kind"] == "Status" and body["status"] == "Failure" and body["code"] == code, body
    assert body["message"], body
    if reason:
        assert body["reason"] == reason, body
    if contains:
        assert contains in body["message"], body["message"]
    assert "Traceback" not in r.text
    return dict(body)
