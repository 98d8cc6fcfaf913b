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
    server: str,
    namespace: str | None = None,
    token: str | None = None,
    name: str = "kubelite",
) -> Path:
    """Write a kubeconfig whose current context `name` points at `server` (plain HTTP unless `server` says
    otherwise), with `namespace` as the context's default and `token` as the user's bearer token if given."""
    ctx: dict[str, Any] = {"cluster": name, "user": name}
    if namespace:
        ctx["namespace"] = namespace
    data = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server}}],
        "users": [{"name": name, "user": {"token": token} if token else {}}],
        "contexts": [{"name": name, "context": ctx}],
        "current-context": name,
    }
    path.write_text(yaml.safe_dump(data))
    return path
