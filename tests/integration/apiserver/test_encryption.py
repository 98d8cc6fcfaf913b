"""Secrets at rest: with --encryption-provider-config the stored bytes of a Secret are ciphertext, the API still
answers plaintext (get, list, watch, update), and the data files are private to their owner."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.harness import ApiServer, running_apiserver

KEY = base64.b64encode(os.urandom(32)).decode()
SECRET_VALUE = "correct horse battery staple"


def _config(path: Path, provider: str) -> Path:
    data = {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [{"resources": ["secrets"], "providers": [{provider: {"keys": [{"name": "k1", "secret": KEY}]}},
                                                                {"identity": {}}]}],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(params=["aescbc", "secretbox"])
def encrypted(request: pytest.FixtureRequest) -> Iterator[tuple[ApiServer, Path, str]]:
    data = Path(tempfile.mkdtemp(prefix="kubelite-enc-")) / "data"
    config = _config(data.parent / "encryption.yaml", request.param)
    args = [
        "--storage-backend",
        "sqlite",
        "--data-dir",
        str(data),
        "--encryption-provider-config",
        str(config),
    ]
    try:
        with running_apiserver(None, args) as server:
            yield server, data, request.param
    finally:
        shutil.rmtree(data.parent, ignore_errors=True)


def _stored(data: Path, key: str) -> bytes:
    """The newest stored value of `key`, read from the SQLite file itself (the embedded store's state.db)."""
    db = sqlite3.connect(data / "state.db")
    try:
        row = db.execute("SELECT value FROM log WHERE key = ? ORDER BY id DESC LIMIT 1", (key,)).fetchone()
    finally:
        db.close()
    return bytes(row[0])


def test_secrets_are_stored_encrypted_and_read_back_plain(encrypted: tuple[ApiServer, Path, str]) -> None:
    server, data, provider = encrypted
    value = base64.b64encode(SECRET_VALUE.encode()).decode()
    with server.client() as api:
        r = api.post(
            "/api/v1/namespaces/default/secrets", json={"metadata": {"name": "db"}, "data": {"pw": value}}
        )
        assert r.status_code == 201, r.text
        assert api.get("/api/v1/namespaces/default/secrets/db").json()["data"] == {"pw": value}
        listed = api.get("/api/v1/namespaces/default/secrets").json()["items"]
        assert [s["data"] for s in listed if s["metadata"]["name"] == "db"] == [{"pw": value}]
        patched = api.patch("/api/v1/namespaces/default/secrets/db", json={"metadata": {"labels": {"a": "b"}}},
                            headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
        assert patched.status_code == 200 and patched.json()["data"] == {"pw": value}
        # Other kinds are not encrypted.
        api.post(
            "/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "cm"}, "data": {"k": "plain"}}
        )
    stored = _stored(data, "/registry/secrets/default/db")
    assert SECRET_VALUE.encode() not in stored and value.encode() not in stored and b'"db"' not in stored
    envelope = json.loads(stored)
    sealed = base64.b64decode(envelope["k8s:enc"])
    assert sealed.startswith(f"k8s:enc:{provider}:v1:k1:".encode())
    assert b"plain" in _stored(data, "/registry/configmaps/default/cm")
    # The data directory and files are the owner's only.
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = [p for p in data.iterdir() if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files), [
        (p.name, oct(p.stat().st_mode)) for p in files
    ]


def test_a_watch_sees_plaintext(encrypted: tuple[ApiServer, Path, str]) -> None:
    server, _, _ = encrypted
    with server.client(timeout=httpx.Timeout(10, read=10)) as api:
        rv = api.get("/api/v1/namespaces/default/secrets").json()["metadata"]["resourceVersion"]
        api.post(
            "/api/v1/namespaces/default/secrets", json={"metadata": {"name": "w"}, "data": {"k": "dg=="}}
        )
        params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": "2"}
        frames = [
            json.loads(line)
            for line in api.get("/api/v1/namespaces/default/secrets", params=params).text.splitlines()
        ]
    added = [f for f in frames if f["object"]["metadata"]["name"] == "w"]
    assert added and added[0]["type"] == "ADDED" and added[0]["object"]["data"] == {"k": "dg=="}
