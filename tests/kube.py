"""Kubeconfig files for the clients under test (kubectl, kctl, lightkube): one cluster, one user, one context.

Written by hand rather than by `apimachinery.kubeconfig`, so that tests of the clients do not depend on the
code that some of them test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def write_kubeconfig(
    path: Path,
    server: Any,
    namespace: str | None = None,
    token: str | None = None,
    name: str = "kubelite",
    *,
    user: str | None = None,
    groups: tuple[str, ...] | None = None,
) -> Path:
    """Write a kubeconfig whose current context `name` points at `server` with `namespace` as the context's
    default. `server` is a URL, or a tests.harness.ApiServer: then the kubeconfig carries its CA and a client
    certificate for `user` in `groups` (default: the cluster admin). `token` adds a bearer token."""
    cluster: dict[str, Any] = {}
    creds: dict[str, Any] = {"token": token} if token else {}
    if isinstance(server, str):
        cluster["server"] = server
    else:
        cluster["server"] = server.url
        cluster["certificate-authority"] = server.ca_file
        if not token:
            kwargs = {} if user is None else {"user": user, "groups": groups}
            config = server.config(**kwargs)
            creds = {"client-certificate": config.cert_file, "client-key": config.key_file}
    ctx: dict[str, Any] = {"cluster": name, "user": name}
    if namespace:
        ctx["namespace"] = namespace
    data = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": creds}],
        "contexts": [{"name": name, "context": ctx}],
        "current-context": name,
    }
    path.write_text(yaml.safe_dump(data))
    path.chmod(0o600)
    return path
