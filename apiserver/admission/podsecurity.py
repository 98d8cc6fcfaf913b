"""PodSecurity admission: the Pod Security Standards enforced per namespace, as kube-apiserver's built-in plugin.

A namespace picks a level (privileged, baseline, restricted) and a version for each mode with labels:

    pod-security.kubernetes.io/enforce: baseline        refuse violating pods (403)
    pod-security.kubernetes.io/warn: restricted         admit, with a `Warning:` header kubectl prints
    pod-security.kubernetes.io/audit: restricted        admit, with an audit annotation (logged here)
    pod-security.kubernetes.io/<mode>-version: v1.32    (default "latest")

Modes without a label take the cluster defaults (`--pod-security-default`, privileged unless set), and namespaces
in `--pod-security-exempt-namespaces` are not checked at all, as in the PodSecurity admission configuration.

What is checked, as upstream: pods on create and on updates that change a container image (the only pod spec
field an update can change); for pod controllers (Deployment, ReplicaSet, ...) the pod template, in warn and
audit mode only (their pods meet enforce when the controller creates them); for namespaces, the labels' syntax,
and when a namespace's enforce level is raised, a warning naming the existing pods that would violate it.
Subresources (status, binding, eviction, log, scale) are not checked. The checks are in `podsecurity_checks`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from apimachinery import errors
from apimachinery.resources import ResourceInfo
from apimachinery.user import UserInfo
from apiserver.admission import Attributes
from apiserver.admission.podsecurity_checks import LEVELS, evaluate, forbidden_detail

log = logging.getLogger("apiserver.admission.podsecurity")

Obj = dict[str, Any]
LABEL_PREFIX = "pod-security.kubernetes.io/"
MODES = ("enforce", "audit", "warn")
LATEST = "latest"
POD_CONTROLLERS = {
    ("", "replicationcontrollers"), ("", "podtemplates"), ("apps", "replicasets"), ("apps", "deployments"),
    ("apps", "statefulsets"), ("apps", "daemonsets"), ("batch", "jobs"), ("batch", "cronjobs"),
}  # fmt: skip
MAX_PODS_TO_CHECK = 3000
_MSG_LEVEL = "must be one of privileged, baseline, restricted"
_MSG_VERSION = 'must be "latest" or "v1.x"'


@dataclass(frozen=True)
class LevelVersion:
    level: str
    version: str = LATEST

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"


@dataclass(frozen=True)
class Policy:
    enforce: LevelVersion
    audit: LevelVersion
    warn: LevelVersion

    @classmethod
    def uniform(cls, level: str) -> Policy:
        return cls(LevelVersion(level), LevelVersion(level), LevelVersion(level))


def _version_ok(version: str) -> bool:
    if version == LATEST:
        return True
    major, _, minor = version.partition(".")
    return major == "v1" and minor.isdigit() and minor == str(int(minor))


def policy_for(labels: Any, defaults: Policy) -> tuple[Policy, list[dict[str, str]]]:
    """The namespace's policy and the causes for labels that do not parse. A bad enforce level means restricted
    (fail closed); a bad warn or audit level means privileged (fail open); a bad version means latest."""
    labels = labels if isinstance(labels, dict) else {}
    chosen = {"enforce": defaults.enforce, "audit": defaults.audit, "warn": defaults.warn}
    causes: list[dict[str, str]] = []
    for mode in MODES:
        level, version = chosen[mode].level, chosen[mode].version
        key = LABEL_PREFIX + mode
        if key in labels:
            level = str(labels[key])
            if level not in LEVELS:
                causes.append(errors_invalid(key, level, _MSG_LEVEL))
                level = "restricted" if mode == "enforce" else "privileged"
        if key + "-version" in labels:
            version = str(labels[key + "-version"])
            if not _version_ok(version):
                causes.append(errors_invalid(key + "-version", version, _MSG_VERSION))
                version = LATEST
        chosen[mode] = LevelVersion(level, version)
    return Policy(chosen["enforce"], chosen["audit"], chosen["warn"]), causes


def errors_invalid(label: str, value: str, message: str) -> dict[str, str]:
    return {
        "reason": "FieldValueInvalid",
        "field": f"metadata.labels[{label}]",
        "message": f'Invalid value: "{value}": {message}',
    }


def _pod_parts(a: Attributes) -> tuple[Obj, Obj] | None:
    """(metadata, spec) of the pod or pod template the request carries, or None."""
    obj = a.obj if isinstance(a.obj, dict) else {}
    if a.info.resource == "pods":
        return _dict(obj.get("metadata")), _dict(obj.get("spec"))
    spec = _dict(obj.get("spec"))
    if a.info.resource == "cronjobs":
        spec = _dict(_dict(_dict(spec.get("jobTemplate")).get("spec")))
    template = spec.get("template")
    if not isinstance(template, dict):
        return None
    return _dict(template.get("metadata")), _dict(template.get("spec"))


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _significant_pod_update(new: Obj, old: Obj) -> bool:
    """Upstream's isSignificantPodUpdate: a changed image (or container count, or seccomp annotation)."""
    new_spec, old_spec = _dict(new.get("spec")), _dict(old.get("spec"))
    seccomp = "seccomp.security.alpha.kubernetes.io/pod"
    if _dict(_dict(new.get("metadata")).get("annotations")).get(seccomp) != _dict(
        _dict(old.get("metadata")).get("annotations")
    ).get(seccomp):
        return True
    for key in ("containers", "initContainers", "ephemeralContainers"):
        new_list, old_list = new_spec.get(key) or [], old_spec.get(key) or []
        if not isinstance(new_list, list) or not isinstance(old_list, list) or len(new_list) != len(old_list):
            return True
        for n, o in zip(new_list, old_list, strict=True):
            if _dict(n).get("image") != _dict(o).get("image"):
                return True
    return False


class PodSecurity:
    """The validating plugin. `namespace(name)` returns a Namespace object (or raises a 404 StatusError);
    `pods(namespace)` lists the pods of a namespace (for the warnings on a stricter enforce level)."""

    def __init__(
        self,
        namespace: Callable[[str], Awaitable[Obj]],
        pods: Callable[[str], Iterable[Obj]],
        *,
        defaults: Policy | None = None,
        exempt_namespaces: Iterable[str] = (),
    ) -> None:
        self.namespace = namespace
        self.pods = pods
        self.defaults = defaults or Policy.uniform("privileged")
        self.exempt = set(exempt_namespaces)

    def handles(self, operation: str, info: ResourceInfo, subresource: str, user: UserInfo) -> bool:
        key = (info.group, info.resource)
        if operation not in ("CREATE", "UPDATE") or subresource:
            return False
        return key in (("", "pods"), ("", "namespaces")) or key in POD_CONTROLLERS

    async def validate(self, a: Attributes) -> None:
        if not self.handles(a.operation, a.info, a.subresource, a.user):
            return
        if a.info.resource == "namespaces":
            self._validate_namespace(a)
            return
        if a.namespace in self.exempt:
            return
        policy, label_causes = policy_for(
            _dict((await self.namespace(a.namespace)).get("metadata")).get("labels"), self.defaults
        )
        is_pod = a.info.resource == "pods"
        if is_pod and a.operation == "UPDATE" and not _significant_pod_update(a.obj or {}, a.old or {}):
            return
        parts = _pod_parts(a)
        if parts is None:
            return
        meta, spec = parts
        if label_causes:
            a.audit_annotations["error"] = "Failed to parse policy: " + "; ".join(
                c["message"] for c in label_causes
            )
        results: dict[LevelVersion, str] = {}

        def detail(lv: LevelVersion) -> str:
            if lv not in results:
                results[lv] = forbidden_detail(evaluate(lv.level, meta, spec))
            return results[lv]

        if is_pod and detail(policy.enforce):
            raise errors.StatusError(
                403,
                "Forbidden",
                f'pods "{a.name}" is forbidden: violates PodSecurity "{policy.enforce}": {detail(policy.enforce)}',
                details={"name": a.name, "kind": "pods"},
            )
        if detail(policy.audit):
            violation = f'would violate PodSecurity "{policy.audit}": {detail(policy.audit)}'
            a.audit_annotations[LABEL_PREFIX + "audit-violations"] = violation
            log.info(
                "pod security audit",
                extra={
                    "resource": a.info.resource,
                    "object": f"{a.namespace}/{a.name}",
                    "violation": violation,
                },
            )
        if detail(policy.warn):
            a.warnings.append(f'would violate PodSecurity "{policy.warn}": {detail(policy.warn)}')

    def _validate_namespace(self, a: Attributes) -> None:
        new_policy, causes = policy_for(_dict(_dict(a.obj).get("metadata")).get("labels"), self.defaults)
        if a.operation == "CREATE":
            if causes:
                raise errors.invalid("Namespace", a.name, causes)
            return
        old_policy, old_causes = policy_for(_dict(_dict(a.old).get("metadata")).get("labels"), self.defaults)
        if causes and causes != old_causes:
            raise errors.invalid("Namespace", a.name, causes)
        new, old = new_policy.enforce, old_policy.enforce
        stricter = LEVELS.index(new.level) > LEVELS.index(old.level) or new.version != old.version
        if new == old or new.level == "privileged" or not stricter or a.name in self.exempt:
            return
        a.warnings.extend(self._pods_violating(a.name, new))

    def _pods_violating(self, namespace: str, enforce: LevelVersion) -> list[str]:
        """Upstream's EvaluatePodsInNamespace: one warning per distinct violation, naming the first pod."""
        pods = sorted(self.pods(namespace), key=lambda p: str(_dict(p.get("metadata")).get("name")))
        total = len(pods)
        found: dict[str, list[str]] = {}
        for pod in pods[:MAX_PODS_TO_CHECK]:
            refusals = evaluate(enforce.level, _dict(pod.get("metadata")), _dict(pod.get("spec")))
            if refusals:
                reason = ", ".join(r.reason for r in refusals)
                found.setdefault(reason, []).append(str(_dict(pod.get("metadata")).get("name")))
        warnings = []
        if total > MAX_PODS_TO_CHECK:
            warnings.append(
                f"new PodSecurity enforce level only checked against the first {MAX_PODS_TO_CHECK} of {total} "
                "existing pods"
            )
        if found:
            warnings.append(
                f'existing pods in namespace "{namespace}" violate the new PodSecurity enforce level "{enforce}"'
            )
        decorated = []
        for reason, names in found.items():
            others = len(names) - 1
            suffix = "" if not others else f" (and {others} other pod{'s' if others > 1 else ''})"
            decorated.append(f"{names[0]}{suffix}: {reason}")
        return warnings + sorted(decorated)
