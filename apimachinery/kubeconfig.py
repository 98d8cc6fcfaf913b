"""Kubeconfig files: read the standard format into a `ClientConfig`, and merge new entries into one.

Reading follows kubectl's rules:
* `$KUBECONFIG` is a ':'-separated list of files (missing ones skipped), else `~/.kube/config`.
* Merging: for each named cluster, user and context the first file that defines it wins; so does the first
  `current-context`.
* Relative file paths in a file (certificate-authority, client-certificate, client-key, tokenFile) are relative
  to the directory of that file.
* `*-data` fields are base64 of the PEM text; `ClientConfig` holds the decoded PEM.

Writing (`write_kubeconfig`) changes only the named cluster, user and context of one file, so the file's other
contexts survive.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class KubeconfigError(ValueError):
    """The kubeconfig is missing, unreadable, or does not name what was asked for."""


@dataclass
class ClientConfig:
    """Everything a client needs to reach one apiserver as one user."""

    server: str
    token: str | None = None
    ca_file: str | None = None
    ca_data: str | None = None  # PEM text
    cert_file: str | None = None
    key_file: str | None = None
    cert_data: str | None = None  # PEM text
    key_data: str | None = None  # PEM text
    insecure: bool = False
    namespace: str = "default"
    context: str | None = None
    _tmp_files: list[str] = field(default_factory=list, repr=False)

    @property
    def is_tls(self) -> bool:
        return self.server.startswith("https://")

    def ssl_context(self) -> ssl.SSLContext | bool:
        """What httpx takes as `verify=`: an SSLContext with the CA and client certificate, or True/False."""
        if not self.is_tls:
            return True
        if self.insecure:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_file or self.ca_data:
            ctx = ssl.create_default_context(cafile=self.ca_file, cadata=self.ca_data)
        else:
            ctx = ssl.create_default_context()
        cert, key = self.cert_file, self.key_file
        # The ssl module loads client certificates only from files, so inline data goes to private temp files.
        if self.cert_data:
            cert = self._tmp(self.cert_data)
        if self.key_data:
            key = self._tmp(self.key_data)
        if cert:
            ctx.load_cert_chain(cert, key)
            self.cleanup()
        return ctx

    def _tmp(self, pem: str) -> str:
        fd, path = tempfile.mkstemp(prefix="kubelite-cred-", suffix=".pem")
        with os.fdopen(fd, "w") as f:
            f.write(pem)
        self._tmp_files.append(path)
        return path

    def cleanup(self) -> None:
        for path in self._tmp_files:
            Path(path).unlink(missing_ok=True)
        self._tmp_files.clear()


def default_paths() -> list[Path]:
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise KubeconfigError(f"cannot read kubeconfig {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise KubeconfigError(f"kubeconfig {path} is not a mapping")
    return data


def _absolutize(entry: dict[str, Any], keys: tuple[str, ...], base: Path) -> dict[str, Any]:
    entry = dict(entry)
    for k in keys:
        v = entry.get(k)
        if isinstance(v, str) and v and not os.path.isabs(os.path.expanduser(v)):
            entry[k] = str(base / v)
        elif isinstance(v, str) and v:
            entry[k] = os.path.expanduser(v)
    return entry


def merge_files(paths: list[Path]) -> dict[str, Any]:
    """One kubeconfig dict from several files, by kubectl's first-wins rule; missing files are skipped."""
    merged: dict[str, Any] = {"clusters": {}, "users": {}, "contexts": {}, "current-context": ""}
    found = False
    for path in paths:
        if not path.exists():
            continue
        found = True
        data = _read(path)
        base = path.resolve().parent
        path_keys = {
            "clusters": ("cluster", ("certificate-authority",)),
            "users": ("user", ("client-certificate", "client-key", "tokenFile")),
            "contexts": ("context", ()),
        }
        for section, (inner, keys) in path_keys.items():
            for item in data.get(section) or []:
                name = item.get("name")
                if name is None or name in merged[section]:
                    continue
                merged[section][name] = _absolutize(item.get(inner) or {}, keys, base)
        if not merged["current-context"] and data.get("current-context"):
            merged["current-context"] = data["current-context"]
    if not found:
        raise KubeconfigError("no kubeconfig found at " + ", ".join(str(p) for p in paths))
    return merged


def _b64(text: str, what: str) -> str:
    try:
        return base64.b64decode(text).decode()
    except ValueError as exc:
        raise KubeconfigError(f"{what} is not valid base64") from exc


def load(path: str | os.PathLike[str] | None = None, context: str | None = None) -> ClientConfig:
    """The `ClientConfig` of `context` (default: current-context) from `path` (default: $KUBECONFIG / ~/.kube)."""
    paths = [Path(p).expanduser() for p in str(path).split(os.pathsep)] if path else default_paths()
    merged = merge_files(paths)
    name = context or merged["current-context"]
    if not name:
        raise KubeconfigError("kubeconfig has no current-context; pass a context")
    ctx = merged["contexts"].get(name)
    if ctx is None:
        raise KubeconfigError(f'context "{name}" not found in kubeconfig')
    cluster = merged["clusters"].get(ctx.get("cluster"))
    if cluster is None:
        raise KubeconfigError(f'cluster "{ctx.get("cluster")}" of context "{name}" not found in kubeconfig')
    user = merged["users"].get(ctx.get("user"), {}) if ctx.get("user") else {}
    server = cluster.get("server")
    if not server:
        raise KubeconfigError(f'cluster "{ctx.get("cluster")}" has no server')

    token = user.get("token")
    if not token and user.get("tokenFile"):
        try:
            token = Path(user["tokenFile"]).read_text().strip()
        except OSError as exc:
            raise KubeconfigError(f"cannot read tokenFile {user['tokenFile']}: {exc}") from exc
    return ClientConfig(
        server=str(server).rstrip("/"),
        token=token or None,
        ca_file=cluster.get("certificate-authority"),
        ca_data=_b64(cluster["certificate-authority-data"], "certificate-authority-data")
        if cluster.get("certificate-authority-data")
        else None,
        cert_file=user.get("client-certificate"),
        key_file=user.get("client-key"),
        cert_data=_b64(user["client-certificate-data"], "client-certificate-data")
        if user.get("client-certificate-data")
        else None,
        key_data=_b64(user["client-key-data"], "client-key-data") if user.get("client-key-data") else None,
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
        namespace=ctx.get("namespace") or "default",
        context=name,
    )


def _upsert(
    items: list[dict[str, Any]], name: str, inner: str, value: dict[str, Any]
) -> list[dict[str, Any]]:
    out = [i for i in items if i.get("name") != name]
    out.append({"name": name, inner: value})
    return out


def _pem_b64(pem: str | bytes) -> str:
    raw = pem.encode() if isinstance(pem, str) else pem
    return base64.b64encode(raw).decode()


def write_kubeconfig(
    path: str | os.PathLike[str],
    cluster: str,
    server: str,
    token: str | None = None,
    ca_data: str | bytes | None = None,
    context: str | None = None,
    namespace: str | None = None,
    make_current: bool = True,
    *,
    user: str | None = None,
    insecure: bool = False,
    client_cert_data: str | bytes | None = None,
    client_key_data: str | bytes | None = None,
) -> None:
    """Add or replace cluster `cluster`, user `user` (default: the context name) and context `context` (default:
    the cluster name) in the file at `path`, keeping every other entry. `ca_data` and client cert/key are PEM.

    The file is created (mode 0600, parents too) if absent and replaced atomically.
    """
    p = Path(path).expanduser()
    data: dict[str, Any] = _read(p) if p.exists() else {}
    context = context or cluster
    user = user or context
    cluster_entry: dict[str, Any] = {"server": server}
    if ca_data:
        cluster_entry["certificate-authority-data"] = _pem_b64(ca_data)
    if insecure:
        cluster_entry["insecure-skip-tls-verify"] = True
    user_entry: dict[str, Any] = {}
    if token:
        user_entry["token"] = token
    if client_cert_data:
        user_entry["client-certificate-data"] = _pem_b64(client_cert_data)
    if client_key_data:
        user_entry["client-key-data"] = _pem_b64(client_key_data)
    context_entry: dict[str, Any] = {"cluster": cluster, "user": user}
    if namespace:
        context_entry["namespace"] = namespace

    data.setdefault("apiVersion", "v1")
    data.setdefault("kind", "Config")
    data.setdefault("preferences", {})
    data["clusters"] = _upsert(data.get("clusters") or [], cluster, "cluster", cluster_entry)
    data["users"] = _upsert(data.get("users") or [], user, "user", user_entry)
    data["contexts"] = _upsert(data.get("contexts") or [], context, "context", context_entry)
    if make_current or not data.get("current-context"):
        data["current-context"] = context

    write_file(p, data)


def write_file(path: Path, data: dict[str, Any]) -> None:
    """Write kubeconfig `data` as YAML to `path`: mode 0600, parents created, replaced atomically (a reader sees
    the old file or the new one, never a partial one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".kubeconfig-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(data, f, default_flow_style=False, sort_keys=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
