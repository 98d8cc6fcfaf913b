"""Kubeconfig loading (contexts, merge of $KUBECONFIG files, credentials) and writing without loss."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from apimachinery.client import Client
from apimachinery.kubeconfig import KubeconfigError, load, write_kubeconfig

CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def loaded(path: Path, *, like: dict[str, Any], context: str | None = None) -> dict[str, Any]:
    """The fields that `like` names of the config loaded from `path` (in `context`), to compare with `like`."""
    cfg = load(path, context=context)
    return {name: getattr(cfg, name) for name in like}


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def one_context(cluster: dict, user: dict) -> dict:
    """A config whose current context `ctx` joins the cluster `c` and the user `u`."""
    return config(clusters=[("c", cluster)], users=[("u", user)], contexts=[("ctx", {"cluster": "c", "user": "u"})],
                  current="ctx")  # fmt: skip


def config(clusters=(), users=(), contexts=(), current=None) -> dict:
    data: dict = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in clusters],
        "users": [{"name": n, "user": u} for n, u in users],
        "contexts": [{"name": n, "context": c} for n, c in contexts],
    }
    if current:
        data["current-context"] = current
    return data


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_current_context_and_named_context(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("file-token\n")
    path = write(
        tmp_path / "config",
        config(
            clusters=[
                ("a", {"server": "https://a:6443/", "certificate-authority-data": b64(CA_PEM)}),
                ("b", {"server": "http://b:8080", "insecure-skip-tls-verify": True}),
            ],
            users=[("ua", {"token": "tok-a"}), ("ub", {"tokenFile": "token"})],
            contexts=[
                ("ca", {"cluster": "a", "user": "ua", "namespace": "team"}),
                ("cb", {"cluster": "b", "user": "ub"}),
            ],
            current="ca",
        ),
    )
    want = {
        "server": "https://a:6443",
        "token": "tok-a",
        "namespace": "team",
        "ca_data": CA_PEM,
        "insecure": False,
    }
    assert loaded(path, like=want) == want
    want = {"server": "http://b:8080", "token": "file-token", "namespace": "default", "insecure": True}
    assert loaded(path, context="cb", like=want) == want
    with pytest.raises(KubeconfigError, match="nope"):
        load(path, context="nope")


def test_relative_cert_paths_resolve_against_the_file(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    cluster = {"server": "https://x", "certificate-authority": "ca.crt"}
    path = write(
        sub / "config", one_context(cluster, {"client-certificate": "u.crt", "client-key": "/abs/u.key"})
    )
    cfg = load(path)
    assert cfg.ca_file == str(sub.resolve() / "ca.crt")
    assert cfg.cert_file == str(sub.resolve() / "u.crt")
    assert cfg.key_file == "/abs/u.key"


def test_kubeconfig_env_merges_first_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = write(
        tmp_path / "one",
        config(
            clusters=[("shared", {"server": "http://first"})],
            users=[("u", {"token": "t1"})],
            contexts=[("c1", {"cluster": "shared", "user": "u"})],
        ),
    )
    two = write(
        tmp_path / "two",
        config(
            clusters=[("shared", {"server": "http://second"}), ("other", {"server": "http://other"})],
            users=[("u", {"token": "t2"})],
            contexts=[("c2", {"cluster": "other", "user": "u"})],
            current="c2",
        ),
    )
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(one), str(tmp_path / "missing"), str(two)]))
    cfg = load()
    assert (cfg.context, cfg.server, cfg.token) == ("c2", "http://other", "t1")
    assert load(context="c1").server == "http://first"


def test_default_path_and_missing(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="no kubeconfig"):
        load()
    home = Path(os.environ["HOME"])
    write_kubeconfig(home / ".kube" / "config", "local", "http://127.0.0.1:1", token="t")
    assert load().server == "http://127.0.0.1:1"


def test_client_certificate_data(tmp_path: Path) -> None:
    path = write(
        tmp_path / "config",
        one_context(
            {"server": "https://x"}, {"client-certificate-data": b64("CERT"), "client-key-data": b64("KEY")}
        ),
    )
    cfg = load(path)
    assert (cfg.cert_data, cfg.key_data) == ("CERT", "KEY")


def test_write_merges_without_destroying_other_contexts(tmp_path: Path) -> None:
    path = write(
        tmp_path / "config",
        config(
            clusters=[("prod", {"server": "https://prod"})],
            users=[("admin", {"token": "secret"})],
            contexts=[("prod", {"cluster": "prod", "user": "admin"})],
            current="prod",
        ),
    )
    write_kubeconfig(path, "kubelite", "https://127.0.0.1:6443", token="abc", ca_data=CA_PEM, namespace="dev")
    want = {"context": "kubelite", "server": "https://127.0.0.1:6443", "token": "abc", "ca_data": CA_PEM,
            "namespace": "dev"}  # fmt: skip
    assert loaded(path, like=want) == want
    prod = load(path, context="prod")
    assert (prod.server, prod.token) == ("https://prod", "secret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # Rewriting the same entries replaces them instead of duplicating; make_current=False keeps the current one.
    write_kubeconfig(path, "kubelite", "https://127.0.0.1:7443", token="xyz", make_current=False)
    write_kubeconfig(
        path, "prod", "https://prod2", context="prod", user="admin", token="s2", make_current=True
    )
    data = yaml.safe_load(path.read_text())
    assert sorted(c["name"] for c in data["clusters"]) == ["kubelite", "prod"]
    assert sorted(c["name"] for c in data["contexts"]) == ["kubelite", "prod"]
    assert data["current-context"] == "prod"
    assert load(path, context="kubelite").server == "https://127.0.0.1:7443"
    assert load(path).token == "s2"


def test_write_creates_file_and_parents(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "config"
    write_kubeconfig(path, "c", "http://h:1", context="ctx", namespace="ns1")
    cfg = load(path)
    assert (cfg.context, cfg.server, cfg.token, cfg.namespace) == ("ctx", "http://h:1", None, "ns1")


async def test_client_from_args(tmp_path: Path) -> None:
    path = tmp_path / "config"
    write_kubeconfig(path, "c", "http://h:1", token="t", namespace="ns1")
    c = Client.from_args(kubeconfig=str(path))
    assert (c.server, c.namespace) == ("http://h:1", "ns1")
    await c.aclose()
    c = Client.from_args(master="http://override:2", kubeconfig=str(path))
    assert (c.server, c.namespace, c.config.token) == ("http://override:2", "ns1", "t")
    await c.aclose()
    c = Client.from_args(master="http://only:3/")
    assert (c.server, c.namespace, c.config.token) == ("http://only:3", "default", None)
    await c.aclose()
    with pytest.raises(KubeconfigError, match="--master"):
        Client.from_args()
