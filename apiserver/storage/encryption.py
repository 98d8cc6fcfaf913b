"""Encryption at rest: Secrets (or any resource named in the config) are stored encrypted, as kube-apiserver's
--encryption-provider-config does it.

    apiVersion: apiserver.config.k8s.io/v1
    kind: EncryptionConfiguration
    resources:
      - resources: [secrets]
        providers:                      # the first one encrypts; every one listed may decrypt
          - aescbc:    {keys: [{name: key1, secret: <base64 of 32 random bytes>}]}
          - secretbox: {keys: [{name: key2, secret: <base64 of 32 random bytes>}]}
          - identity: {}                # reads what was stored before encryption was on

A value is stored as `k8s:enc:<provider>:v1:<key name>:` followed by the ciphertext: AES-CBC with PKCS#7
padding and a random 16-byte IV in front (aescbc, via `cryptography`), or XSalsa20-Poly1305 with a random 24-byte
nonce in front (secretbox, via PyNaCl/libsodium). Our backends store JSON, so that string is kept in an envelope
`{"metadata": {}, "k8s:enc": "<base64 of it>"}`; nothing of the object is readable in etcd or SQLite.

`EncryptedStorage` wraps any Storage: what goes in under a configured prefix is encrypted, what comes out
(get, list, watch, delete, guaranteed_update) is decrypted, so the rest of the apiserver never sees ciphertext.
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import nacl.exceptions
import nacl.secret
import yaml
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from apimachinery import serialization
from apiserver.storage import encode_value, strip_revision
from apiserver.storage.interface import (
    ErrorCode,
    KeyValue,
    ListResult,
    Obj,
    Storage,
    StorageError,
    TryUpdate,
    WatchEvent,
)
from apiserver.storage.wrapper import StorageWrapper

ENVELOPE = "k8s:enc"
PREFIX = b"k8s:enc:"


class Provider(Protocol):
    name: str  # "aescbc", "secretbox", "identity"

    def encrypt(self, data: bytes) -> bytes: ...

    def decrypt(self, data: bytes) -> bytes | None:
        """The plaintext, or None when this provider (or key) did not write `data`."""


def _keys(config: dict[str, Any], size: tuple[int, ...]) -> list[tuple[str, bytes]]:
    keys = []
    for entry in config.get("keys") or []:
        name = str(entry.get("name") or "")
        try:
            secret = base64.b64decode(str(entry.get("secret") or ""), validate=True)
        except ValueError as exc:
            raise ValueError(f"key {name!r}: secret is not base64") from exc
        if not name or len(secret) not in size:
            raise ValueError(f"key {name!r}: want a name and a secret of {' or '.join(map(str, size))} bytes")
        keys.append((name, secret))
    if not keys:
        raise ValueError("a provider needs at least one key")
    return keys


class AESCBC:
    name = "aescbc"

    def __init__(self, config: dict[str, Any]) -> None:
        self.keys = _keys(config, (16, 24, 32))

    def encrypt(self, data: bytes) -> bytes:
        name, key = self.keys[0]
        iv = os.urandom(16)
        padder = padding.PKCS7(128).padder()
        encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        body = encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()
        return PREFIX + f"aescbc:v1:{name}:".encode() + iv + body

    def decrypt(self, data: bytes) -> bytes | None:
        for name, key in self.keys:
            head = PREFIX + f"aescbc:v1:{name}:".encode()
            if not data.startswith(head):
                continue
            raw = data[len(head) :]
            if len(raw) < 32 or len(raw) % 16:
                raise ValueError("aescbc: the stored value has the wrong length")
            decryptor = Cipher(algorithms.AES(key), modes.CBC(raw[:16])).decryptor()
            unpadder = padding.PKCS7(128).unpadder()
            padded = decryptor.update(raw[16:]) + decryptor.finalize()
            return unpadder.update(padded) + unpadder.finalize()
        return None


class SecretBox:
    name = "secretbox"

    def __init__(self, config: dict[str, Any]) -> None:
        self.keys = _keys(config, (32,))

    def encrypt(self, data: bytes) -> bytes:
        name, key = self.keys[0]
        box = nacl.secret.SecretBox(key)
        return PREFIX + f"secretbox:v1:{name}:".encode() + bytes(box.encrypt(data))

    def decrypt(self, data: bytes) -> bytes | None:
        for name, key in self.keys:
            head = PREFIX + f"secretbox:v1:{name}:".encode()
            if data.startswith(head):
                try:
                    return bytes(nacl.secret.SecretBox(key).decrypt(data[len(head) :]))
                except nacl.exceptions.CryptoError as exc:
                    raise ValueError(f"secretbox: {exc}") from None
        return None


class Identity:
    name = "identity"

    def encrypt(self, data: bytes) -> bytes:
        return data

    def decrypt(self, data: bytes) -> bytes | None:
        return None if data.startswith(PREFIX) else data


_PROVIDERS: dict[str, type[AESCBC] | type[SecretBox]] = {"aescbc": AESCBC, "secretbox": SecretBox}


@dataclass(frozen=True)
class Rule:
    prefixes: tuple[str, ...]  # storage key prefixes, e.g. "/registry/secrets/"
    providers: tuple[Provider, ...]


def parse_config(data: dict[str, Any]) -> list[Rule]:
    if data.get("kind") != "EncryptionConfiguration":
        raise ValueError("want kind: EncryptionConfiguration (apiVersion apiserver.config.k8s.io/v1)")
    rules = []
    for entry in data.get("resources") or []:
        prefixes = tuple(f"/registry/{str(r).split('.', 1)[0]}/" for r in entry.get("resources") or [])
        providers: list[Provider] = []
        for item in entry.get("providers") or []:
            (kind, config), *more = item.items()
            if more:
                raise ValueError("each provider entry names one provider")
            if kind == "identity":
                providers.append(Identity())
            elif kind in _PROVIDERS:
                provider: Provider = _PROVIDERS[kind](config or {})
                providers.append(provider)
            else:
                raise ValueError(f"provider {kind!r} is not supported (aescbc, secretbox, identity)")
        if not prefixes or not providers:
            raise ValueError("each resources entry needs resources and providers")
        rules.append(Rule(prefixes, tuple(providers)))
    return rules


def load_encryption_config(path: str | Path) -> list[Rule]:
    try:
        return parse_config(yaml.safe_load(Path(path).read_text()) or {})
    except (OSError, yaml.YAMLError, ValueError, AttributeError) as exc:
        raise SystemExit(f"--encryption-provider-config {path}: {exc}") from None


class EncryptedStorage(StorageWrapper):
    """A Storage that encrypts the values under the configured prefixes (see the module docstring)."""

    def __init__(self, inner: Storage, rules: list[Rule]) -> None:
        super().__init__(inner)
        self.rules = rules

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _providers(self, key: str) -> tuple[Provider, ...] | None:
        for rule in self.rules:
            if key.startswith(rule.prefixes):
                return rule.providers
        return None

    def seal(self, key: str, obj: Obj) -> Obj:
        providers = self._providers(key)
        if providers is None or isinstance(providers[0], Identity):
            return obj
        sealed = providers[0].encrypt(encode_value(obj))
        return {"metadata": {}, ENVELOPE: base64.b64encode(sealed).decode()}

    def open(self, key: str, obj: Obj | None) -> Obj | None:
        providers = self._providers(key)
        if obj is None or providers is None:
            return obj
        envelope = obj.get(ENVELOPE)
        data = base64.b64decode(envelope) if isinstance(envelope, str) else None
        revision = (obj.get("metadata") or {}).get("resourceVersion")
        if data is None:
            if not any(isinstance(p, Identity) for p in providers):
                raise StorageError(
                    ErrorCode.INVALID, key, f"{key} is stored unencrypted and identity is not listed"
                )
            return obj
        for provider in providers:
            try:
                plain = provider.decrypt(data)
            except ValueError as exc:
                raise StorageError(ErrorCode.INVALID, key, f"cannot decrypt {key}: {exc}") from None
            if plain is not None:
                opened: Obj = serialization.loads(plain)
                if revision is not None:
                    opened.setdefault("metadata", {})["resourceVersion"] = revision
                return opened
        raise StorageError(ErrorCode.INVALID, key, f"cannot decrypt {key}: no provider has its key")

    def _kv(self, kv: KeyValue) -> KeyValue:
        opened = self.open(kv.key, kv.obj)
        assert opened is not None
        return KeyValue(kv.key, opened, kv.mod_revision)

    async def get(self, key: str) -> KeyValue:
        return self._kv(await self.inner.get(key))

    async def list(
        self, prefix: str, *, limit: int = 0, continue_token: str | None = None, revision: int = 0
    ) -> ListResult:
        result = await self.inner.list(prefix, limit=limit, continue_token=continue_token, revision=revision)
        return ListResult(
            [self._kv(kv) for kv in result.items], result.revision, result.continue_token, result.remaining
        )

    async def create(self, key: str, obj: Obj) -> KeyValue:
        return self._kv(await self.inner.create(key, self.seal(key, obj)))

    async def delete(self, key: str, *, expected_revision: int | None = None) -> KeyValue:
        return self._kv(await self.inner.delete(key, expected_revision=expected_revision))

    async def guaranteed_update(
        self, key: str, try_update: TryUpdate, *, ignore_not_found: bool = False, cached: Obj | None = None
    ) -> KeyValue:
        # `cached` (plaintext) is not what the backend stores (sealed): the backend reads.
        def sealed_update(stored: Obj | None) -> Obj:
            current = self.open(key, stored)
            new = try_update(current)
            if stored is not None and current is not None and strip_revision(new) == strip_revision(current):
                return stored  # unchanged: the backend skips the write
            return self.seal(key, new)

        return self._kv(
            await self.inner.guaranteed_update(key, sealed_update, ignore_not_found=ignore_not_found)
        )

    async def watch(self, prefix: str, from_revision: int = 0) -> AsyncIterator[WatchEvent]:
        async for event in self.inner.watch(prefix, from_revision):
            if self._providers(event.key) is None:
                yield event
                continue
            opened = self.open(event.key, event.obj)
            assert opened is not None
            yield WatchEvent(
                event.type, event.key, opened, event.revision, self.open(event.key, event.prev_obj)
            )
