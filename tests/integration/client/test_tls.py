"""The client over HTTPS with a private CA and a bearer token, configured through a kubeconfig file."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from apimachinery.client import Client, ClientConnectionError
from apimachinery.errors import StatusError
from apimachinery.kubeconfig import write_kubeconfig
from tests.harness import ApiServer, Etcd
from tests.polling import wait_until
from tests.resources import NAMESPACES

pytestmark = pytest.mark.etcd

TOKEN = "tls-test-token"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca_and_cert(d: Path, name: str) -> None:
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", f"{name}-ca.key", "-out", f"{name}-ca.crt", "-days", "1",
            "-subj", f"/CN={name}-ca", cwd=d)  # fmt: skip
    openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", "/CN=127.0.0.1", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{name}-ca.crt", "-CAkey", f"{name}-ca.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "1", "-extfile", "san.ext", cwd=d)  # fmt: skip


@pytest.fixture
def tls_apiserver(etcd: Etcd, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    make_ca_and_cert(tmp_path, "server")
    make_ca_and_cert(tmp_path, "other")
    (tmp_path / "tokens.csv").write_text(f'{TOKEN},admin,uid-1,"system:masters"\n')
    server = ApiServer(
        etcd.url,
        [
            "--tls-cert-file", str(tmp_path / "server.crt"),
            "--tls-private-key-file", str(tmp_path / "server.key"),
            "--token-auth-file", str(tmp_path / "tokens.csv"),
        ],
    )  # fmt: skip
    server.start(wait_ready=False)
    url = f"https://127.0.0.1:{server.port}"
    try:
        wait_until(
            lambda: (
                httpx.get(
                    url + "/readyz", verify=False, timeout=1, headers={"Authorization": f"Bearer {TOKEN}"}
                ).status_code
                == 200
            ),
            30,
            what="TLS apiserver ready",
        )
        yield url, tmp_path
    finally:
        server.stop()
        server.log_path.unlink(missing_ok=True)


async def test_https_with_ca_and_token_from_kubeconfig(tls_apiserver: tuple[str, Path]) -> None:
    url, d = tls_apiserver
    kubeconfig = d / "kubeconfig"
    ca = (d / "server-ca.crt").read_text()
    write_kubeconfig(kubeconfig, "tls", url, token=TOKEN, ca_data=ca)
    write_kubeconfig(kubeconfig, "notoken", url, ca_data=ca, make_current=False)
    write_kubeconfig(
        kubeconfig, "wrongca", url, token=TOKEN, ca_data=(d / "other-ca.crt").read_text(), make_current=False
    )
    write_kubeconfig(kubeconfig, "insecure", url, token=TOKEN, insecure=True, make_current=False)

    async with Client.from_args(kubeconfig=str(kubeconfig)) as c:
        assert c.server == url
        names = {n["metadata"]["name"] for n in (await c.list(NAMESPACES))["items"]}
        assert "default" in names
    async with Client.from_args(kubeconfig=str(kubeconfig), context="insecure") as c:
        assert (await c.get(NAMESPACES, "default"))["metadata"]["name"] == "default"
    async with Client.from_args(kubeconfig=str(kubeconfig), context="notoken") as c:
        with pytest.raises(StatusError) as exc:
            await c.get(NAMESPACES, "default")
        assert exc.value.code == 401
    async with Client.from_args(kubeconfig=str(kubeconfig), context="wrongca") as c:
        with pytest.raises(ClientConnectionError) as conn:
            await c.get(NAMESPACES, "default")
        assert url in str(conn.value)
