"""The storage the apiserver's stores see: the real backend, with every failure logged and every write's outcome
reported to the write probe (apiserver/health.py), so that /readyz goes red with the first failed write.

Only failures of storage itself count (UNAVAILABLE: unreachable, timed out, disk full, read-only; CORRUPT): a
NOT_FOUND, EXISTS or CONFLICT is an ordinary answer. Logs are rate-limited per operation and cause: the first
failure at once, then one line per `LOG_EVERY` seconds saying how many were left out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable

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

log = logging.getLogger("apiserver.storage")

LOG_EVERY = 10.0
_FAILURES = (ErrorCode.UNAVAILABLE, ErrorCode.CORRUPT)


class RateLimitedLog:
    """One warning per key at once, then at most one per `every` seconds (with the count left out between)."""

    def __init__(self, logger: logging.Logger, every: float = LOG_EVERY) -> None:
        self.logger = logger
        self.every = every
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warning(self, limit_key: str, msg: str, **fields: object) -> bool:
        """Log unless `limit_key` was logged less than `every` seconds ago; True when it logged."""
        now = time.monotonic()
        last = self._last.get(limit_key)
        if last is not None and now - last < self.every:
            self._skipped[limit_key] = self._skipped.get(limit_key, 0) + 1
            return False
        self._last[limit_key] = now
        skipped = self._skipped.pop(limit_key, 0)
        self.logger.warning(msg, extra={**fields, **({"suppressed": skipped} if skipped else {})})
        return True


class ObservedStorage(StorageWrapper):
    """Delegates every call to `inner`; storage failures are logged, writes' outcomes go to `on_write`."""

    def __init__(self, inner: Storage, on_write: Callable[[str | None], None] | None = None) -> None:
        super().__init__(inner)
        self.on_write = on_write
        self.failures = RateLimitedLog(log)

    def _failed(self, op: str, key: str, exc: StorageError) -> None:
        if exc.code not in _FAILURES:
            return
        self.failures.warning(
            f"{op}:{exc.code.value}",
            "storage error",
            op=op,
            key=key,
            code=exc.code.value,
            cause=str(exc),
        )
        if op in ("create", "delete", "update") and self.on_write is not None:
            self.on_write(f"a write failed: {exc}")

    def _wrote(self) -> None:
        if self.on_write is not None:
            self.on_write(None)

    async def get(self, key: str) -> KeyValue:
        try:
            return await self.inner.get(key)
        except StorageError as exc:
            self._failed("get", key, exc)
            raise

    async def list(
        self, prefix: str, *, limit: int = 0, continue_token: str | None = None, revision: int = 0
    ) -> ListResult:
        try:
            return await self.inner.list(
                prefix, limit=limit, continue_token=continue_token, revision=revision
            )
        except StorageError as exc:
            self._failed("list", prefix, exc)
            raise

    async def create(self, key: str, obj: Obj) -> KeyValue:
        try:
            result = await self.inner.create(key, obj)
        except StorageError as exc:
            self._failed("create", key, exc)
            raise
        self._wrote()
        return result

    async def delete(self, key: str, *, expected_revision: int | None = None) -> KeyValue:
        try:
            result = await self.inner.delete(key, expected_revision=expected_revision)
        except StorageError as exc:
            self._failed("delete", key, exc)
            raise
        self._wrote()
        return result

    async def guaranteed_update(
        self, key: str, try_update: TryUpdate, *, ignore_not_found: bool = False, cached: Obj | None = None
    ) -> KeyValue:
        try:
            result = await self.inner.guaranteed_update(
                key, try_update, ignore_not_found=ignore_not_found, cached=cached
            )
        except StorageError as exc:
            self._failed("update", key, exc)
            raise
        self._wrote()
        return result

    async def watch(self, prefix: str, from_revision: int = 0) -> AsyncIterator[WatchEvent]:
        try:
            async for event in self.inner.watch(prefix, from_revision):
                yield event
        except StorageError as exc:
            self._failed("watch", prefix, exc)
            raise

    async def current_revision(self) -> int:
        try:
            return await self.inner.current_revision()
        except StorageError as exc:
            self._failed("revision", "", exc)
            raise
