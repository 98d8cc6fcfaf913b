"""The audit log: kube-apiserver's `--audit-policy-file` (audit.k8s.io/v1 Policy) and `--audit-log-path` (one
audit.k8s.io/v1 Event per line, JSON), as k8s.io/apiserver pkg/audit evaluates and writes them.

* The policy's rules are tried in order; the first that matches a request gives its level (None, Metadata,
  Request, RequestResponse) and stages to leave out; a request no rule matches is not logged.
* A rule matches when each field it sets matches: users, userGroups (any of the user's groups), verbs, and
  either resources+namespaces (resource requests only; `pods/log`, `*/status`, `deployments/*`, resourceNames)
  or nonResourceURLs (`/healthz*`).
* Every request a rule logs gives a RequestReceived event when it arrives and a ResponseComplete (or Panic) event
  when it ends (a watch also ResponseStarted when its stream begins), all with the same auditID; at Request the
  request body is kept, at RequestResponse also the response's.
* The log file is created 0600 (it may hold Secrets at the Request levels).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from apimachinery.timefmt import format_epoch
from apimachinery.user import UserInfo
from apiserver.auth.requestinfo import RequestInfo

log = logging.getLogger("apiserver.audit")

LEVELS = ("None", "Metadata", "Request", "RequestResponse")
STAGES = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")


class PolicyError(ValueError):
    """The policy file is not a valid audit.k8s.io/v1 Policy."""


@dataclass(frozen=True)
class GroupResources:
    group: str = ""
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    level: str
    users: tuple[str, ...] = ()
    user_groups: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    resources: tuple[GroupResources, ...] = ()
    namespaces: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()
    omit_stages: tuple[str, ...] = ()

    def matches(self, user: UserInfo, info: RequestInfo) -> bool:
        if self.users and user.name not in self.users:
            return False
        if self.user_groups and not set(user.groups) & set(self.user_groups):
            return False
        if self.verbs and info.verb not in self.verbs:
            return False
        if self.namespaces or self.resources:
            return self._matches_resource(info)
        if self.non_resource_urls:
            return not info.resource_request and any(
                _path_matches(info.path, s) for s in self.non_resource_urls
            )
        return True

    def _matches_resource(self, info: RequestInfo) -> bool:
        if not info.resource_request:
            return False
        if self.namespaces and info.namespace not in self.namespaces:  # cluster-scoped: ""
            return False
        if not self.resources:
            return True
        combined = f"{info.resource}/{info.subresource}" if info.subresource else info.resource
        for gr in self.resources:
            if gr.group != info.api_group:
                continue
            if not gr.resources:
                return True
            if gr.resource_names and info.name not in gr.resource_names:
                continue
            for res in gr.resources:
                if res in (combined, "*"):
                    return True
                if info.subresource and res.startswith("*/") and res[2:] == info.subresource:
                    return True
                if res.endswith("/*") and res[:-2] == info.resource:
                    return True
        return False


def _path_matches(path: str, spec: str) -> bool:
    return spec in ("*", path) or (spec.endswith("*") and path.startswith(spec.rstrip("*")))


@dataclass(frozen=True)
class Decision:
    level: str
    omit_stages: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]
    omit_stages: tuple[str, ...] = ()

    def evaluate(self, user: UserInfo, info: RequestInfo) -> Decision:
        for rule in self.rules:
            if rule.matches(user, info):
                return Decision(rule.level, frozenset(self.omit_stages) | frozenset(rule.omit_stages))
        return Decision("None")


def _strings(obj: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = obj.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{where}.{key}: must be a list of strings")
    return tuple(value)


def _stages(obj: dict[str, Any], where: str) -> tuple[str, ...]:
    stages = _strings(obj, "omitStages", where)
    for s in stages:
        if s not in STAGES:
            raise PolicyError(f"{where}.omitStages: {s!r} is not one of {', '.join(STAGES)}")
    return stages


def parse_policy(doc: Any) -> Policy:
    if not isinstance(doc, dict) or doc.get("kind") != "Policy":
        raise PolicyError("not a Policy (kind: Policy, apiVersion: audit.k8s.io/v1)")
    if doc.get("apiVersion") not in ("audit.k8s.io/v1", "audit.k8s.io/v1beta1"):
        raise PolicyError(f"apiVersion {doc.get('apiVersion')!r}: want audit.k8s.io/v1")
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise PolicyError("rules: at least one rule is required")
    rules = []
    for i, r in enumerate(raw_rules):
        where = f"rules[{i}]"
        if not isinstance(r, dict):
            raise PolicyError(f"{where}: must be an object")
        level = r.get("level")
        if level not in LEVELS:
            raise PolicyError(f"{where}.level: {level!r} is not one of {', '.join(LEVELS)}")
        groups = []
        for j, gr in enumerate(r.get("resources") or []):
            if not isinstance(gr, dict):
                raise PolicyError(f"{where}.resources[{j}]: must be an object")
            gwhere = f"{where}.resources[{j}]"
            groups.append(
                GroupResources(
                    str(gr.get("group") or ""),
                    _strings(gr, "resources", gwhere),
                    _strings(gr, "resourceNames", gwhere),
                )
            )
        urls = _strings(r, "nonResourceURLs", where)
        if urls and (groups or r.get("namespaces")):
            raise PolicyError(f"{where}: nonResourceURLs cannot be combined with resources or namespaces")
        rules.append(
            Rule(
                level=level,
                users=_strings(r, "users", where),
                user_groups=_strings(r, "userGroups", where),
                verbs=_strings(r, "verbs", where),
                resources=tuple(groups),
                namespaces=_strings(r, "namespaces", where),
                non_resource_urls=urls,
                omit_stages=_stages(r, where),
            )
        )
    return Policy(tuple(rules), _stages(doc, "Policy"))


def load_policy(path: str | Path) -> Policy:
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"cannot read {path}: {exc}") from exc
    return parse_policy(doc)


@dataclass
class Event:
    """What one request's audit events say; `to_json(stage, now)` is the audit.k8s.io/v1 Event."""

    audit_id: str
    level: str
    request_uri: str
    verb: str
    user: UserInfo
    source_ips: list[str]
    user_agent: str
    received: float
    info: RequestInfo
    object_name: str = ""
    object_namespace: str = ""
    response_status: dict[str, Any] | None = None
    request_object: Any = None
    response_object: Any = None
    annotations: dict[str, str] = field(default_factory=dict)

    def to_json(self, stage: str, now: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": self.level,
            "auditID": self.audit_id,
            "stage": stage,
            "requestURI": self.request_uri,
            "verb": self.verb,
            "user": {k: v for k, v in self.user.to_json().items() if v},
            "sourceIPs": self.source_ips,
        }
        if self.user_agent:
            out["userAgent"] = self.user_agent
        if self.info.resource_request:
            ref: dict[str, str] = {"resource": self.info.resource}
            namespace = self.info.namespace or self.object_namespace
            name = self.info.name or self.object_name
            if namespace:
                ref["namespace"] = namespace
            if name:
                ref["name"] = name
            if self.info.api_group:
                ref["apiGroup"] = self.info.api_group
            ref["apiVersion"] = self.info.api_version
            if self.info.subresource:
                ref["subresource"] = self.info.subresource
            out["objectRef"] = ref
        if stage != "RequestReceived" and self.response_status is not None:
            out["responseStatus"] = self.response_status
        if self.request_object is not None and LEVELS.index(self.level) >= LEVELS.index("Request"):
            out["requestObject"] = self.request_object
        if (
            stage == "ResponseComplete"
            and self.response_object is not None
            and self.level == "RequestResponse"
        ):
            out["responseObject"] = self.response_object
        out["requestReceivedTimestamp"] = format_epoch(self.received, micro=True)
        out["stageTimestamp"] = format_epoch(now, micro=True)
        if self.annotations:
            out["annotations"] = self.annotations
        return out


class LogBackend:
    """Appends events as JSON lines to a file created 0600 ("-": standard output)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: IO[str]
        if path == "-":
            self._file = sys.stdout
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.fchmod(fd, 0o600)  # an existing file is made private too
            self._file = os.fdopen(fd, "a", encoding="utf-8")

    def write(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, separators=(",", ":"), default=str)
        with self._lock:
            try:
                self._file.write(line + "\n")
                self._file.flush()
            except OSError as exc:  # a full disk must not fail the request; it is logged instead
                log.warning("cannot write the audit log", extra={"path": self.path, "cause": str(exc)})

    def close(self) -> None:
        if self._file is not sys.stdout:
            self._file.close()


@dataclass
class Auditor:
    policy: Policy
    backend: LogBackend

    def decide(self, user: UserInfo, info: RequestInfo) -> Decision:
        return self.policy.evaluate(user, info)

    def emit(self, event: Event, stage: str, omit: frozenset[str], now: float) -> None:
        if stage not in omit:
            self.backend.write(event.to_json(stage, now))
