"""Two controllers for bootstrap tokens (kube-controller-manager's bootstrapsigner and tokencleaner):

* bootstrapsigner: the ConfigMap kube-public/cluster-info carries, for every live token Secret marked
  usage-bootstrap-signing, `jws-kubeconfig-<id>`: the detached JWS of its `kubeconfig` made with that token
  (apimachinery/bootstraptoken.py); signatures of tokens that are gone or expired are removed.
* tokencleaner: a token Secret whose expiration has passed is deleted (and looked at again when it will have).

Both run on informers of kube-system Secrets and (the signer) of kube-public ConfigMaps.
"""

from __future__ import annotations

import datetime as dt
import logging

from apimachinery import bootstraptoken as bt
from apimachinery.errors import StatusError, is_conflict, is_not_found
from apimachinery.resources import must_resource
from controller_manager.base import CONFIGMAPS, Context, Controller
from controller_manager.podutil import Obj

log = logging.getLogger(__name__)

SECRETS = must_resource("", "secrets")
SIGN_KEY = "cluster-info"


def _is_token_secret(obj: Obj) -> bool:
    return obj.get("type") == bt.SECRET_TYPE


def signatures(kubeconfig: str, secrets: list[Obj], now: dt.datetime) -> dict[str, str]:
    """The jws-kubeconfig-<id> entries cluster-info should carry (pure)."""
    out: dict[str, str] = {}
    for secret in secrets:
        found = bt.TokenSecret.read(secret, now)
        if found is not None and found.usage(bt.USAGE_SIGNING):
            out[bt.JWS_PREFIX + found.token.id] = bt.detached_signature(kubeconfig, found.token)
    return out


class BootstrapSigner(Controller):
    name = "bootstrapsigner"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        wake = lambda *_: self.enqueue(SIGN_KEY)  # noqa: E731 - one key: the whole ConfigMap is recomputed
        self.secrets = self.watch(SECRETS, wake, on_update=wake, namespace=bt.NAMESPACE)
        self.configmaps = self.watch(
            CONFIGMAPS,
            wake,
            on_update=wake,
            on_delete=None,
            namespace=bt.CLUSTER_INFO_NAMESPACE,
            field_selector=f"metadata.name={bt.CLUSTER_INFO}",
        )

    async def reconcile(self, key: str) -> float | None:
        cm = self.configmaps.store.get(f"{bt.CLUSTER_INFO_NAMESPACE}/{bt.CLUSTER_INFO}")
        if cm is None:
            return None
        data = dict(cm.get("data") or {})
        kubeconfig = data.get("kubeconfig")
        if not kubeconfig:
            return None
        now = dt.datetime.now(dt.UTC)
        tokens = [s for s in self.secrets.store.list() if _is_token_secret(s)]
        wanted = signatures(kubeconfig, tokens, now)
        current = {k: v for k, v in data.items() if k.startswith(bt.JWS_PREFIX)}
        if current == wanted:
            return _next_expiry(tokens, now)
        new_data = {k: v for k, v in data.items() if not k.startswith(bt.JWS_PREFIX)} | wanted
        try:
            await self.client.update(CONFIGMAPS, {**cm, "data": new_data}, bt.CLUSTER_INFO_NAMESPACE)
        except StatusError as err:
            if is_not_found(err):
                return None
            raise
        log.info(
            "signed cluster-info", extra={"tokens": sorted(k.removeprefix(bt.JWS_PREFIX) for k in wanted)}
        )
        return _next_expiry(tokens, now)


def _next_expiry(secrets: list[Obj], now: dt.datetime) -> float | None:
    """Seconds until the next live token expires (its signature must then go), or None."""
    times = [bt.expiration(bt.secret_data(s)) for s in secrets]
    ahead = [(t - now).total_seconds() for t in times if t is not None and t > now]
    return min(ahead) + 1 if ahead else None


class TokenCleaner(Controller):
    name = "tokencleaner"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.secrets = self.watch(SECRETS, self._enqueue, on_delete=None, namespace=bt.NAMESPACE)

    def _enqueue(self, secret: Obj) -> None:
        if _is_token_secret(secret):
            self.enqueue(secret["metadata"]["name"])

    async def reconcile(self, key: str) -> float | None:
        secret = self.secrets.store.get(f"{bt.NAMESPACE}/{key}")
        if secret is None:
            return None
        when = bt.expiration(bt.secret_data(secret))
        if when is None:
            return None
        left = (when - dt.datetime.now(dt.UTC)).total_seconds()
        if left > 0:
            return left + 0.5
        uid = secret["metadata"].get("uid")
        try:
            await self.client.delete(SECRETS, key, bt.NAMESPACE, preconditions={"uid": uid})
        except StatusError as err:
            if is_not_found(err) or is_conflict(err):
                return None
            raise
        log.info("deleted an expired bootstrap token", extra={"secret": key})
        return None
