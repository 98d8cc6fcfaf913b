"""kube-scheduler: `python -m scheduler --master URL | --kubeconfig PATH [--leader-elect] [--port N]`.

Wiring only: options -> client -> scheduler (informers start at once, so a standby has warm caches) ->
leader election (optional) -> scheduling loop; /healthz and /metrics on --bind-address:--port.
"""

from __future__ import annotations

from apimachinery import lean  # noqa: F401  (first: keeps unused libraries out of this process)

# isort: split
import argparse
import asyncio
import contextlib
import logging
import os
import socket
import ssl
import uuid

from apimachinery.client import Client
from apimachinery.component import ComponentMain, add_client_args, client_from_args, serve_health
from apimachinery.durations import parse_flag_duration
from apimachinery.events import EventRecorder
from apimachinery.leaderelection import LeaderElector
from apimachinery.secureserving import add_secure_serving_args, serve_secure, serving_args_error
from apimachinery.transport import aiohttp_transport
from scheduler.metrics import SchedulerMetrics
from scheduler.ratelimit import RateLimitedTransport, TokenBucket
from scheduler.scheduler import DEFAULT_SCHEDULER_NAME, Scheduler

log = logging.getLogger("scheduler")

EVENT_QUEUE = 8000


class LeadershipLostError(RuntimeError):
    """This scheduler was the leader and lost the lease; exit so that a fresh process starts as a candidate."""


def _seconds(text: str) -> float:
    """15, 15s, 1.5s, 500ms, 1m30s, 1h (Kubernetes flag durations, or bare seconds)."""
    try:
        return parse_flag_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def events_client(client: Client, verify: ssl.SSLContext | bool, args: argparse.Namespace) -> Client:
    """The recorder's own client, its writes limited to --events-qps (kube-scheduler's event client has its own
    QPS too): during a burst of bindings the Scheduled events queue instead of halving the binding rate."""
    inner = aiohttp_transport(verify, connections=0)
    transport = RateLimitedTransport(inner, TokenBucket(args.events_qps, args.events_burst))
    return Client(client.config, user_agent="kube-scheduler", transport=transport)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kube-scheduler", description=__doc__)
    add_client_args(parser)
    parser.add_argument("--bind-address", default="127.0.0.1", help="address for /healthz and /metrics")
    parser.add_argument("--port", type=int, default=10259, help="port for /healthz and /metrics (0: none)")
    parser.add_argument("--scheduler-name", default=DEFAULT_SCHEDULER_NAME)
    parser.add_argument(
        "--max-inflight-binds",
        type=int,
        default=32,
        # kube-scheduler binds each pod in a goroutine of its own; with 8 a loaded apiserver's binding latency
        # (~100 ms while creates pour in) capped the scheduler at ~80 pods/s (bench/scheduler.py).
        help="binding and status requests in flight at once",
    )
    parser.add_argument("--events-qps", type=float, default=50.0, help="event writes a second (token bucket)")
    parser.add_argument(
        "--events-burst", type=int, default=100, help="event writes above --events-qps at once"
    )
    parser.add_argument("--leader-elect", action="store_true", help="run only while holding the leader lease")
    parser.add_argument("--leader-elect-lease-duration", type=_seconds, default=15.0)
    parser.add_argument("--leader-elect-renew-deadline", type=_seconds, default=10.0)
    parser.add_argument("--leader-elect-retry-period", type=_seconds, default=2.0)
    parser.add_argument("--leader-elect-resource-namespace", default="kube-system")
    parser.add_argument("--leader-elect-resource-name", default="kube-scheduler")
    parser.add_argument("--identity", default=None, help="leader election identity (default: host_uuid)")
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    add_secure_serving_args(parser)
    args = parser.parse_args(argv)
    if error := serving_args_error(args):
        parser.error(error)
    return args


async def amain(args: argparse.Namespace) -> None:
    client = client_from_args(args, user_agent="kube-scheduler")
    metrics = SchedulerMetrics()
    events = events_client(client, client.config.ssl_context(), args)
    # Room for the events of a burst of thousands of pods while they wait for their rate.
    recorder = EventRecorder(events, args.scheduler_name, queue_size=EVENT_QUEUE)
    sched = Scheduler(
        client,
        name=args.scheduler_name,
        metrics=metrics,
        recorder=recorder,
        max_inflight_writes=args.max_inflight_binds,
    )
    informers = asyncio.create_task(sched.run_informers(), name="informers")

    def healthy() -> bool:
        """/healthz: the informers run (a failed one ends their task) and have synced. A blocked event loop
        does not answer at all, which a liveness probe counts as a failure too."""
        return not informers.done() and sched.synced()

    server = None
    if args.port:
        server = await serve_health(args.bind_address, args.port, healthy, registry=metrics.registry)
        log.info("serving health and metrics", extra={"address": args.bind_address, "port": args.port})
    secure = await serve_secure(args, client, healthy, metrics.registry)
    if secure is not None:
        log.info(
            "serving health and metrics over HTTPS",
            extra={"address": args.secure_bind_address, "port": args.secure_port},
        )
    lost = False
    try:
        if args.leader_elect:
            identity = args.identity or f"{socket.gethostname()}_{uuid.uuid4()}"
            elector = LeaderElector(
                client,
                args.leader_elect_resource_namespace,
                args.leader_elect_resource_name,
                identity,
                lease_duration=args.leader_elect_lease_duration,
                renew_deadline=args.leader_elect_renew_deadline,
                retry_period=args.leader_elect_retry_period,
            )

            async def lead() -> None:
                metrics.leader.set(1)
                log.info("leading", extra={"identity": identity})
                await sched.run()

            await elector.run(lead, lambda: metrics.leader.set(0))
            lost = True  # run() returns only when leadership ended without our being cancelled
        else:
            metrics.leader.set(1)
            await sched.run()
    finally:
        informers.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await informers
        with contextlib.suppress(Exception):
            await recorder.flush(1.0)
        await recorder.aclose()
        for srv in (server, secure):
            if srv is not None:
                srv.close()
        await events.aclose()
        await client.aclose()
    if lost:
        raise LeadershipLostError("leader election lost")


main = ComponentMain("kube-scheduler", parse_args, amain)


if __name__ == "__main__":
    main()
