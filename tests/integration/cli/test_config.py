"""kctl config: view, get-contexts, current-context, use-context, set-context; --context and -n."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.etcd


@pytest.fixture
def two_contexts(tmp_path: Path, apiserver, ns) -> Path:
    cfg = tmp_path / "config"
    admin = apiserver.config()
    cfg.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "live",
                        "cluster": {"server": apiserver.url, "certificate-authority": apiserver.ca_file},
                    },
                    {"name": "dead", "cluster": {"server": "http://127.0.0.1:1"}},
                ],
                # The client certificate authenticates (x509 comes first); the token is there for `config view`.
                "users": [
                    {
                        "name": "me",
                        "user": {
                            "token": "secret-token",
                            "client-certificate": admin.cert_file,
                            "client-key": admin.key_file,
                        },
                    }
                ],
                "contexts": [
                    {"name": "live", "context": {"cluster": "live", "user": "me", "namespace": ns}},
                    {"name": "dead", "context": {"cluster": "dead", "user": "me"}},
                ],
                "current-context": "dead",
            }
        )
    )
    return cfg


def test_config_commands(kctl, two_contexts: Path, ns):
    env = {"KUBECONFIG": str(two_contexts)}
    r = kctl("config", "get-contexts", env=env)
    assert r.out.splitlines() == [
        "CURRENT   NAME   CLUSTER   AUTHINFO   NAMESPACE",
        f"          live   live      me         {ns}",
        "*         dead   dead      me         ",
    ]
    assert kctl("config", "current-context", env=env).out == "dead\n"
    view = yaml.safe_load(kctl("config", "view", env=env).out)
    assert view["users"][0]["user"]["token"] == "REDACTED"
    raw = yaml.safe_load(kctl("config", "view", "--raw", "--minify", "--context", "live", env=env).out)
    assert [c["name"] for c in raw["contexts"]] == ["live"] and raw["users"][0]["user"][
        "token"
    ] == "secret-token"

    # --context picks a context for one command; the context's namespace applies.
    r = kctl("get", "pods", "--context", "live", env=env)
    assert (r.code, r.err.strip()) == (0, f"No resources found in {ns} namespace.")

    assert kctl("config", "use-context", "live", env=env).out == 'Switched to context "live".\n'
    assert yaml.safe_load(two_contexts.read_text())["current-context"] == "live"
    r = kctl("config", "use-context", "nope", env=env)
    assert r.code == 1 and r.err.strip() == 'error: no context exists with the name: "nope"'

    assert (
        kctl("config", "set-context", "--current", "--namespace=kube-system", env=env).out
        == 'Context "live" modified.\n'
    )
    r = kctl("get", "pods", env=env)
    assert r.err.strip() == "No resources found in kube-system namespace."
    r = kctl("get", "pods", "-n", ns, env=env)  # -n overrides the context
    assert r.err.strip() == f"No resources found in {ns} namespace."
    assert (
        kctl("config", "set-context", "extra", "--cluster=live", "--user=me", env=env).out
        == 'Context "extra" created.\n'
    )
    assert "extra" in kctl("config", "get-contexts", "-o", "name", env=env).out.split()


def test_unknown_context(kctl, two_contexts: Path):
    r = kctl("get", "pods", "--context", "nope", env={"KUBECONFIG": str(two_contexts)})
    assert r.code == 1 and r.err.strip() == 'error: context "nope" not found in kubeconfig'
