"""Bad input and failures: one readable line on stderr, exit code 1, never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.harness import ApiServer, free_port, running_apiserver
from tests.integration.cli.helpers import kctl_subprocess
from tests.kube import write_kubeconfig

pytestmark = pytest.mark.etcd


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def fails(kctl, *args: str) -> str:
    """Run kctl with `args`: it must exit 1 with one error line and no traceback; that line."""
    r = kctl(*args)
    assert r.code == 1
    return one_error_line(r.err)


def manifest(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        pytest.param(
            ("get", "flurbs"), 'error: the server doesn\'t have a resource type "flurbs"', id="unknown-type"
        ),
        pytest.param(
            ("get", "pod", "nope"), 'Error from server (NotFound): pods "nope" not found', id="not-found"
        ),
        pytest.param(
            ("apply", "-f", "/nonexistent/pod.yaml"),
            'error: the path "/nonexistent/pod.yaml" does not exist',
            id="missing-file",
        ),
    ],
)
def test_the_error_line(kctl, ns, args: tuple[str, ...], line: str):
    assert fails(kctl, *args) == line


def test_invalid_yaml_names_the_line(kctl, tmp_path: Path):
    bad = manifest(
        tmp_path / "bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   labels: oops\n"
    )
    line = fails(kctl, "create", "-f", bad)
    assert line.startswith(f"error: error parsing {bad}: yaml: line 5:"), line


def test_manifest_without_kind(kctl, tmp_path: Path):
    f = manifest(tmp_path / "nokind.yaml", "apiVersion: v1\nmetadata:\n  name: x\n")
    assert "kind not set" in fails(kctl, "apply", "-f", f)


def test_already_exists_409(kctl, tmp_path: Path):
    f = manifest(
        tmp_path / "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\ndata:\n  a: b\n"
    )
    assert kctl("create", "-f", f).code == 0
    assert fails(kctl, "create", "-f", f) == (
        f'Error from server (AlreadyExists): error when creating "{f}": configmaps "twice" already exists'
    )


def test_invalid_422_carries_the_server_message(kctl, tmp_path: Path):
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: badpod\nspec:\n  containers:\n  - name: c\n"
    line = fails(kctl, "create", "-f", manifest(tmp_path / "bad-pod.yaml", text))
    assert line.startswith("Error from server (Invalid):"), line
    assert "image" in line


def test_usage_error_is_one_line_and_exit_1(kctl):
    r = kctl("get", "pods", "--no-such-flag")
    assert r.code == 1
    assert "No such option: --no-such-flag" in r.err
    assert "Traceback" not in r.err


def test_bad_output_format(kctl):
    assert fails(kctl, "get", "pods", "-o", "xml").startswith(
        'error: unable to match a printer suitable for the output format "xml"'
    )


def test_unreachable_server_is_one_line_quickly(tmp_path: Path):
    port = free_port()  # nothing listens there
    cfg = write_kubeconfig(tmp_path / "config", f"http://127.0.0.1:{port}")
    start = time.monotonic()
    r = kctl_subprocess("get", "pods", kubeconfig=cfg, timeout=20)
    assert time.monotonic() - start < 10
    assert r.code == 1
    assert one_error_line(r.err) == (
        f"The connection to the server 127.0.0.1:{port} was refused - did you specify the right host or port?"
    )


def test_no_kubeconfig_at_all(tmp_path: Path):
    r = kctl_subprocess("get", "pods", env={"HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "missing")})
    assert r.code == 1
    assert one_error_line(r.err).startswith("error: no kubeconfig found")


@pytest.fixture(scope="module")
def secured_apiserver(etcd, tmp_path_factory) -> ApiServer:
    tokens = tmp_path_factory.mktemp("auth") / "tokens.csv"
    tokens.write_text('good-token,alice,1,"system:masters"\n')
    with running_apiserver(etcd.url, ["--token-auth-file", str(tokens)]) as server:
        yield server


def test_wrong_token(secured_apiserver: ApiServer, tmp_path: Path):
    bad = write_kubeconfig(tmp_path / "bad", secured_apiserver, token="wrong-token")
    r = kctl_subprocess("get", "namespaces", kubeconfig=bad)
    assert r.code == 1
    assert one_error_line(r.err) == "error: You must be logged in to the server (Unauthorized)"
    good = write_kubeconfig(tmp_path / "good", secured_apiserver, token="good-token")
    r = kctl_subprocess("get", "namespaces", kubeconfig=good)
    assert r.code == 0, r
    assert "default" in r.out
    # --token on the command line overrides the kubeconfig's
    r = kctl_subprocess("get", "ns", "default", "--token", "good-token", kubeconfig=bad)
    assert r.code == 0, r
