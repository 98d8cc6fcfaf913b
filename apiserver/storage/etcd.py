"""The etcd v3 backend, on aetcd's gRPC channel and the etcd API messages it ships (`aetcd.rpc`).

aetcd's convenience methods cannot range with a limit or at a revision, and its watcher multiplexes every watch on
one stream; so this module builds the requests itself and opens one watch stream per `watch()`, which makes
"re-watch from the last revision + 1 after a dropped stream" a local loop.

Behaviour beyond the interface:
* Every call is bounded by `request_timeout` (`asyncio.timeout`, which cancels the RPC); connection failures and
  timeouts become StorageError(UNAVAILABLE). An UNAVAILABLE answer moves on to the next endpoint and retries
  within the same deadline, so a leader election or one dead member of three is invisible to callers.
* Lists without a limit are read in pages of `page_size` keys, all at the revision of the first page.
* A background task (started on first use, stopped by `close()`) compacts history every `compaction_interval`
  seconds, keeping at least `history_window` revisions and at least one interval's worth of history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aetcd
import grpc
from aetcd import rpc
from aetcd.utils import prefix_range_end

from apimachinery.backoff import Backoff
from apimachinery.tasks import stop_task
from apiserver import metrics
from apiserver.storage import (
    cas,
    decode_continue,
    decode_value,
    encode_continue,
    encode_value,
    skip_corrupt,
    stamped_copy,
)
from apiserver.storage.backend import Backend
from apiserver.storage.interface import (
    ErrorCode,
    KeyValue,
    ListResult,
    Obj,
    StorageError,
    WatchEvent,
)

log = logging.getLogger("apiserver.storage.etcd")

T = TypeVar("T")

_MIB = 1024 * 1024
_CHANNEL_OPTIONS: dict[str, Any] = {
    "grpc.max_receive_message_length": 256 * _MIB,
    "grpc.max_send_message_length": 256 * _MIB,
    "grpc.initial_reconnect_backoff_ms": 500,
    "grpc.min_reconnect_backoff_ms": 500,
    "grpc.max_reconnect_backoff_ms": 2000,
    # Notice a dead peer on an idle watch stream; etcd refuses pings more often than every 5 s. Without the last
    # option gRPC stops pinging after two pings with no data, which is exactly the idle watch.
    "grpc.keepalive_time_ms": 10_000,
    "grpc.keepalive_timeout_ms": 5_000,
    "grpc.http2.max_pings_without_data": 0,
}
# A watch on a member that lost its leader is cancelled instead of silently stalling (clientv3.WithRequireLeader).
_REQUIRE_LEADER = (("hasleader", "true"),)
_WATCH_BACKOFF_INITIAL = 0.5
_WATCH_BACKOFF_MAX = 2.0


def parse_endpoints(endpoints: list[str] | str) -> list[tuple[str, int]]:
    """`http://h:2379,h2:2379` or a list of such URLs -> [(host, port)]. TLS is not supported (etcd stays on a
    private network in every kubelite deployment)."""
    items = endpoints.split(",") if isinstance(endpoints, str) else list(endpoints)
    parsed: list[tuple[str, int]] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        url = urlsplit(item if "://" in item else f"http://{item}")
        if url.scheme != "http":
            raise ValueError(f"unsupported etcd endpoint {item!r}: only http:// is supported")
        parsed.append((url.hostname or "127.0.0.1", url.port or 2379))
    if not parsed:
        raise ValueError("no etcd endpoints given")
    return parsed


def prefix_end(prefix: bytes) -> bytes:
    """The exclusive end of the key range holding every key that starts with `prefix`."""
    return bytes(prefix_range_end(prefix))


class EtcdStorage(Backend):
    """Storage on an etcd v3 cluster. Cheap to construct: connects on first use, and from then on belongs to that
    event loop (gRPC channels cannot move between loops)."""

    name = "etcd"

    def __init__(
        self,
        endpoints: list[str] | str,
        *,
        request_timeout: float = 2.0,
        compaction_interval: float = 300.0,
        history_window: int = 10000,
        page_size: int = 5000,
    ) -> None:
        self._clients = [
            aetcd.Client(host, port, options=_CHANNEL_OPTIONS) for host, port in parse_endpoints(endpoints)
        ]
        self._current = 0
        self._timeout = request_timeout
        self._compaction_interval = compaction_interval
        self._history_window = history_window
        self._page_size = page_size
        self._compacted = 0  # the highest compaction revision this process knows of
        self._compactor: asyncio.Task[None] | None = None
        self._closed = False

    # -- plumbing ----------------------------------------------------------------------------------------------

    def _client(self) -> aetcd.Client:
        if self._closed:
            raise StorageError(ErrorCode.UNAVAILABLE, message="storage is closed")
        if self._compactor is None and self._compaction_interval > 0:
            self._compactor = asyncio.get_running_loop().create_task(self._compact_periodically())
        return self._clients[self._current]

    def _rotate(self, client: aetcd.Client) -> None:
        """Move on to the next endpoint after `client` failed (unless another caller already did)."""
        if self._clients[self._current] is client:
            self._current = (self._current + 1) % len(self._clients)

    async def _call(
        self, op: Callable[[Any], Awaitable[T]], *, key: str = "", timeout: float | None = None
    ) -> T:
        """Run `op(kv_stub)`, retrying UNAVAILABLE answers on the next endpoint until the deadline. The deadline
        is enforced here (leaving the scope cancels the RPC); a gRPC deadline on every call as well measurably
        slowed concurrent writes."""
        loop = asyncio.get_running_loop()
        budget = self._timeout if timeout is None else timeout
        deadline = loop.time() + budget
        backoff = Backoff(initial=0.05, cap=0.5)
        attempt = 0
        while True:
            client = self._client()
            left = deadline - loop.time()
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that races the result.
                async with asyncio.timeout(left):
                    await client.connect()
                    return await op(client.kvstub)
            except grpc.aio.AioRpcError as exc:
                error = await self._translate(exc, key)
                if error.code is not ErrorCode.UNAVAILABLE or exc.code() is not grpc.StatusCode.UNAVAILABLE:
                    raise error from exc
                last: StorageError = error
            except (TimeoutError, aetcd.ClientError) as exc:
                raise StorageError(
                    ErrorCode.UNAVAILABLE, key, f"etcd did not answer within {budget:g}s"
                ) from exc
            self._rotate(client)
            attempt += 1
            left = deadline - loop.time()
            if left <= 0:
                raise last
            if attempt % len(self._clients) == 0:
                # Every endpoint refused: give gRPC's reconnect a moment before the next round.
                await asyncio.sleep(min(backoff.next(), left))

    async def _translate(self, exc: grpc.aio.AioRpcError, key: str) -> StorageError:
        details = exc.details() or ""
        if "compacted" in details:
            return StorageError(ErrorCode.COMPACTED, key, details, revision=await self._compact_revision())
        if "future revision" in details:
            return StorageError(ErrorCode.INVALID, key, f"revision is newer than the store: {details}")
        if "request is too large" in details:
            return StorageError(ErrorCode.TOO_LARGE, key, details)
        if exc.code() is grpc.StatusCode.INVALID_ARGUMENT:
            return StorageError(ErrorCode.INVALID, key, details)
        return StorageError(ErrorCode.UNAVAILABLE, key, f"etcd: {exc.code().name}: {details}")

    async def _range(self, key: bytes, range_end: bytes = b"", *, limit: int = 0, revision: int = 0) -> Any:
        request = rpc.RangeRequest(key=key, range_end=range_end, limit=limit, revision=revision)
        return await self._call(lambda kv: kv.Range(request), key=key.decode())

    async def _txn(self, key: str, compare: Any, success: Any, failure: Any = ()) -> Any:
        request = rpc.TxnRequest(compare=[compare], success=list(success), failure=list(failure))
        return await self._call(lambda kv: kv.Txn(request), key=key)

    # -- reads -------------------------------------------------------------------------------------------------

    async def get(self, key: str) -> KeyValue:
        response = await self._range(key.encode())
        if not response.kvs:
            raise StorageError(ErrorCode.NOT_FOUND, key)
        return _key_value(response.kvs[0])

    async def list(
        self, prefix: str, *, limit: int = 0, continue_token: str | None = None, revision: int = 0
    ) -> ListResult:
        start = prefix
        if continue_token:
            revision, relative = decode_continue(continue_token)
            start = prefix + relative
        start_b, end_b = start.encode(), prefix_end(prefix.encode())
        if limit > 0:
            response = await self._range(start_b, end_b, limit=limit, revision=revision)
            read_at = revision or response.header.revision
            items = _decodable(response.kvs)
            if not response.more or not response.kvs:
                return ListResult(items, read_at)
            last = response.kvs[-1].key.decode()
            token = encode_continue(read_at, last[len(prefix) :] + "\x00")
            return ListResult(items, read_at, token, response.count - len(response.kvs))
        items = []
        while True:
            response = await self._range(start_b, end_b, limit=self._page_size, revision=revision)
            revision = revision or response.header.revision
            items.extend(_decodable(response.kvs))
            if not response.more or not response.kvs:
                return ListResult(items, revision)
            start_b = response.kvs[-1].key + b"\x00"

    async def current_revision(self) -> int:
        response = await self._range(b"\x00", limit=1)
        return int(response.header.revision)

    async def healthy(self) -> bool:
        request = rpc.RangeRequest(key=b"health", limit=1)
        try:
            await self._call(lambda kv: kv.Range(request), timeout=min(self._timeout, 1.0))
        except StorageError:
            return False
        return True

    # -- writes ------------------------------------------------------------------------------------------------

    async def create(self, key: str, obj: Obj) -> KeyValue:
        request = create_request(key.encode(), encode_value(obj))
        response = await self._call(lambda kv: kv.Txn(request), key=key)
        if not response.succeeded:
            raise StorageError(ErrorCode.EXISTS, key)
        revision = response.header.revision
        return KeyValue(key, stamped_copy(obj, revision), revision)

    async def delete(self, key: str, *, expected_revision: int | None = None) -> KeyValue:
        k = key.encode()
        remove = rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=k, prev_kv=True))
        compare = _exists(k) if expected_revision is None else _mod_is(k, expected_revision)
        response = await self._txn(key, compare, [remove], [_get(k)])
        if not response.succeeded:
            if expected_revision is None or not response.responses[0].response_range.kvs:
                raise StorageError(ErrorCode.NOT_FOUND, key)
            current = response.responses[0].response_range.kvs[0].mod_revision
            raise StorageError(
                ErrorCode.CONFLICT, key, f"{key}: revision is {current}, expected {expected_revision}"
            )
        deleted = response.responses[0].response_delete_range
        if not deleted.prev_kvs:  # only possible if the key vanished between compare and delete; it cannot
            raise StorageError(ErrorCode.NOT_FOUND, key)
        revision = response.header.revision
        return KeyValue(key, decode_value(deleted.prev_kvs[0].value, revision), revision)

    async def read(self, key: str) -> cas.Stored | None:
        """The compare-and-swap primitives of apiserver.storage.cas: a Range, and a Txn on mod_revision."""
        response = await self._range(key.encode())
        return cas.Stored(response.kvs[0].value, response.kvs[0].mod_revision) if response.kvs else None

    async def swap(self, key: str, expected: int, value: bytes) -> tuple[int, cas.Stored | None]:
        k = key.encode()
        compare = _absent(k) if expected == 0 else _mod_is(k, expected)
        txn = await self._txn(key, compare, [_put(k, value)], [_get(k)])
        if txn.succeeded:
            return txn.header.revision, None
        kvs = txn.responses[0].response_range.kvs
        return 0, cas.Stored(kvs[0].value, kvs[0].mod_revision) if kvs else None

    async def compact(self, revision: int) -> None:
        request = rpc.CompactionRequest(revision=revision, physical=False)
        try:
            await self._call(lambda kv: kv.Compact(request))
        except StorageError as exc:
            if exc.code is not ErrorCode.COMPACTED:
                raise
            # Already compacted at or past `revision` (perhaps by another apiserver): nothing to do.
        self._compacted = max(self._compacted, revision)

    async def _compact_revision(self) -> int:
        """etcd's compaction revision, which no read API reports: a watch from revision 1 is refused with it."""
        client = self._clients[self._current]
        call = None
        try:
            call = rpc.WatchStub(client.channel).Watch()
            create = rpc.WatchCreateRequest(key=b"\x00kubelite-compaction-probe", start_revision=1)
            await call.write(rpc.WatchRequest(create_request=create))
            async with asyncio.timeout(self._timeout):
                while True:
                    response = await call.read()
                    if response is grpc.aio.EOF:
                        break
                    if response.compact_revision:
                        self._compacted = max(self._compacted, int(response.compact_revision))
                        break
        except (grpc.aio.AioRpcError, TimeoutError, AttributeError):
            pass  # best effort: fall back to the last compaction this process knows of
        finally:
            if call is not None:
                call.cancel()
        return self._compacted

    # -- watch -------------------------------------------------------------------------------------------------

    async def watch(self, prefix: str, from_revision: int = 0) -> AsyncGenerator[WatchEvent, None]:
        """Events under `prefix` from `from_revision` (0: from now) on, re-watching after a dropped stream from
        the last revision seen + 1. Only compaction ends it (StorageError(COMPACTED)); the caller cancels it."""
        key, end = prefix.encode(), prefix_end(prefix.encode())
        next_revision = from_revision
        backoff = Backoff(initial=_WATCH_BACKOFF_INITIAL, cap=_WATCH_BACKOFF_MAX)
        while True:
            client = self._client()
            call = None
            open_watches = metrics.storage_watches.labels("etcd")
            counted = False
            try:
                await client.connect()
                call = rpc.WatchStub(client.channel).Watch(metadata=_REQUIRE_LEADER)
                create = rpc.WatchCreateRequest(
                    key=key, range_end=end, start_revision=next_revision, prev_kv=True
                )
                async with asyncio.timeout(self._timeout):
                    await call.write(rpc.WatchRequest(create_request=create))
                    response = await call.read()
                open_watches.inc()
                counted = True
                while response is not grpc.aio.EOF:
                    if response.compact_revision:
                        self._compacted = max(self._compacted, int(response.compact_revision))
                        raise StorageError(
                            ErrorCode.COMPACTED,
                            prefix,
                            f"revision {next_revision} has been compacted",
                            revision=int(response.compact_revision),
                        )
                    if response.canceled:
                        log.info(
                            "etcd cancelled a watch",
                            extra={"prefix": prefix, "reason": response.cancel_reason},
                        )
                        break
                    if response.created and next_revision == 0:
                        next_revision = int(response.header.revision) + 1
                    backoff.reset()
                    for event in response.events:
                        next_revision = int(event.kv.mod_revision) + 1
                        try:
                            decoded = _watch_event(event)
                        except StorageError as exc:
                            skip_corrupt(event.kv.key.decode(errors="replace"), exc)
                            continue
                        yield decoded
                    response = await call.read()
            except (grpc.aio.AioRpcError, TimeoutError) as exc:
                if self._closed:
                    raise StorageError(ErrorCode.UNAVAILABLE, prefix, "storage is closed") from exc
                log.info("etcd watch dropped; re-watching", extra={"prefix": prefix, "error": str(exc)})
                self._rotate(client)
            finally:
                if counted:
                    open_watches.dec()
                if call is not None:
                    call.cancel()
            await asyncio.sleep(backoff.next())

    async def close(self) -> None:
        self._closed = True
        await stop_task(self._compactor)
        self._compactor = None
        for client in self._clients:
            with contextlib.suppress(Exception):  # closing is best effort: the channel may already be gone
                await client.close()


def _key_value(kv: Any) -> KeyValue:
    key = kv.key.decode()
    return KeyValue(key, decode_value(kv.value, kv.mod_revision, key), int(kv.mod_revision))


def _decodable(kvs: Any) -> list[KeyValue]:
    items = []
    for kv in kvs:
        try:
            items.append(_key_value(kv))
        except StorageError as exc:
            skip_corrupt(kv.key.decode(errors="replace"), exc)
    return items


def _watch_event(event: Any) -> WatchEvent:
    kv = event.kv
    key = kv.key.decode()
    revision = int(kv.mod_revision)
    prev = (
        decode_value(event.prev_kv.value, event.prev_kv.mod_revision) if event.HasField("prev_kv") else None
    )
    if event.type == rpc.Event.DELETE:
        if event.HasField("prev_kv"):
            obj = decode_value(event.prev_kv.value, revision)
        else:  # the previous state was compacted away; all that is left is the name
            obj = {"metadata": {"name": key.rsplit("/", 1)[-1], "resourceVersion": str(revision)}}
        return WatchEvent("DELETED", key, obj, revision, prev)
    kind = "ADDED" if kv.create_revision == kv.mod_revision else "MODIFIED"
    return WatchEvent(kind, key, decode_value(kv.value, revision), revision, prev)


def create_request(key: bytes, value: bytes) -> Any:
    """The transaction `EtcdStorage.create` sends: put `value` under `key` unless the key exists (the benchmarks
    send it too, to time it alone)."""
    return rpc.TxnRequest(compare=[_absent(key)], success=[_put(key, value)], failure=[])


def _put(key: bytes, value: bytes) -> Any:
    return rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=value))


def _get(key: bytes) -> Any:
    return rpc.RequestOp(request_range=rpc.RangeRequest(key=key))


def _absent(key: bytes) -> Any:
    return rpc.Compare(key=key, target=rpc.Compare.CREATE, result=rpc.Compare.EQUAL, create_revision=0)


def _exists(key: bytes) -> Any:
    return rpc.Compare(key=key, target=rpc.Compare.CREATE, result=rpc.Compare.GREATER, create_revision=0)


def _mod_is(key: bytes, revision: int) -> Any:
    return rpc.Compare(key=key, target=rpc.Compare.MOD, result=rpc.Compare.EQUAL, mod_revision=revision)
