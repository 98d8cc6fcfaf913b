"""Pod Security: the checks' texts (as pod-security-admission words them), the levels, the labels, the plugin."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.errors import StatusError
from apimachinery.resources import must_resource
from apiserver.admission import Attributes
from apiserver.admission.externalips import DenyServiceExternalIPs
from apiserver.admission.podsecurity import PodSecurity, Policy, policy_for
from apiserver.admission.podsecurity_checks import evaluate, forbidden_detail

PODS = must_resource("", "pods")
DEPLOYMENTS = must_resource("apps", "deployments")
NAMESPACES = must_resource("", "namespaces")
SERVICES = must_resource("", "services")


def spec(*containers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"containers": list(containers) or [{"name": "c", "image": "i"}], **fields}


def detail(level: str, pod_spec: dict[str, Any], meta: dict[str, Any] | None = None) -> str:
    return forbidden_detail(evaluate(level, meta or {}, pod_spec))


RESTRICTED_OK = {
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
}


def test_baseline_messages() -> None:
    s = spec(
        {"name": "a", "securityContext": {"privileged": True, "capabilities": {"add": ["NET_ADMIN", "CHOWN"]}}},
        {"name": "b", "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 9, "hostPort": 443}],
         "securityContext": {"procMount": "Unmasked", "seLinuxOptions": {"type": "spc_t", "user": "u"}}},
        hostNetwork=True, hostPID=True,
        volumes=[{"name": "h", "hostPath": {"path": "/"}}, {"name": "e", "emptyDir": {}}],
        securityContext={"sysctls": [{"name": "kernel.msgmax"}], "seccompProfile": {"type": "Unconfined"}},
    )  # fmt: skip
    assert detail("baseline", s) == (
        "host namespaces (hostNetwork=true, hostPID=true), "
        'hostPort (container "b" uses hostPorts 443, 8080), '
        'privileged (container "a" must not set securityContext.privileged=true), '
        'procMount (container "b" must not set securityContext.procMount to "Unmasked"), '
        'seLinuxOptions (container "b" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be '
        "set), "
        "forbidden sysctls (kernel.msgmax), "
        'non-default capabilities (container "a" must not include "NET_ADMIN" in securityContext.capabilities.add), '
        'hostPath volumes (volume "h"), '
        'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")'
    )


def test_baseline_allows_a_plain_pod_and_privileged_allows_anything() -> None:
    assert detail("baseline", spec()) == ""
    assert (
        detail("privileged", spec({"name": "a", "securityContext": {"privileged": True}}, hostPID=True)) == ""
    )


def test_restricted_messages() -> None:
    assert detail("restricted", spec({"name": "c", "image": "i", **RESTRICTED_OK})) == ""
    s = spec(
        {"name": "c", "image": "i"},
        volumes=[{"name": "h", "hostPath": {"path": "/x"}}, {"name": "n", "nfs": {}}],
    )
    assert detail("restricted", s) == (
        'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), '
        'restricted volume types (volumes ["h" "n"] have restricted types), '
        'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
        '"Localhost")'
    )
    root = spec(
        {"name": "c", "image": "i", "securityContext": {**RESTRICTED_OK["securityContext"], "runAsUser": 0}}
    )
    assert detail("restricted", root) == 'runAsUser=0 (container "c" must not set runAsUser=0)'


def test_policy_labels() -> None:
    defaults = Policy.uniform("baseline")
    policy, causes = policy_for({"pod-security.kubernetes.io/enforce": "restricted",
                                 "pod-security.kubernetes.io/warn-version": "v1.30"}, defaults)  # fmt: skip
    assert str(policy.enforce) == "restricted:latest" and str(policy.warn) == "baseline:v1.30" and not causes
    policy, causes = policy_for({"pod-security.kubernetes.io/enforce": "strict",
                                 "pod-security.kubernetes.io/warn": "nope",
                                 "pod-security.kubernetes.io/audit-version": "v2.0"}, defaults)  # fmt: skip
    assert policy.enforce.level == "restricted" and policy.warn.level == "privileged"  # closed / open
    assert [c["field"] for c in causes] == [
        "metadata.labels[pod-security.kubernetes.io/enforce]",
        "metadata.labels[pod-security.kubernetes.io/audit-version]",
        "metadata.labels[pod-security.kubernetes.io/warn]",
    ]


def plugin(labels: dict[str, str], pods: list[dict[str, Any]] | None = None, **kwargs: Any) -> PodSecurity:
    async def namespace(name: str) -> dict[str, Any]:
        return {"metadata": {"name": name, "labels": labels}}

    return PodSecurity(namespace, lambda _ns: pods or [], **kwargs)


def attrs(info: Any, obj: dict[str, Any], operation: str = "CREATE", old: dict[str, Any] | None = None,
          subresource: str = "", namespace: str = "ns") -> Attributes:  # fmt: skip
    name = obj.get("metadata", {}).get("name", "")
    return Attributes(operation, info, subresource, namespace, name, obj, old, None, False)


async def test_enforce_refuses_a_pod_with_kube_apiservers_message() -> None:
    pod = {"metadata": {"name": "p"}, "spec": spec({"name": "x", "securityContext": {"privileged": True}})}
    with pytest.raises(StatusError) as exc:
        await plugin({"pod-security.kubernetes.io/enforce": "baseline"}).validate(attrs(PODS, pod))
    assert exc.value.code == 403 and exc.value.reason == "Forbidden"
    assert exc.value.message == (
        'pods "p" is forbidden: violates PodSecurity "baseline:latest": '
        'privileged (container "x" must not set securityContext.privileged=true)'
    )
    # the same pod: fine where exempt, fine in a privileged namespace, checked by the cluster default otherwise
    await plugin({}, exempt_namespaces=["ns"], defaults=Policy.uniform("baseline")).validate(attrs(PODS, pod))
    await plugin({"pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/warn": "privileged",
                  "pod-security.kubernetes.io/audit": "privileged"}, defaults=Policy.uniform("baseline")).validate(
        attrs(PODS, pod))  # fmt: skip
    with pytest.raises(StatusError):
        await plugin({}, defaults=Policy.uniform("baseline")).validate(attrs(PODS, pod))


async def test_warn_and_audit() -> None:
    pod = {"metadata": {"name": "p"}, "spec": spec(hostIPC=True)}
    a = attrs(PODS, pod)
    await plugin(
        {"pod-security.kubernetes.io/warn": "baseline", "pod-security.kubernetes.io/audit": "baseline"}
    ).validate(a)
    assert a.warnings == ['would violate PodSecurity "baseline:latest": host namespaces (hostIPC=true)']
    assert a.audit_annotations["pod-security.kubernetes.io/audit-violations"].startswith("would violate")


async def test_pod_templates_are_warned_about_not_refused() -> None:
    dep = {"metadata": {"name": "d"}, "spec": {"template": {"metadata": {}, "spec": spec(hostNetwork=True)}}}
    a = attrs(DEPLOYMENTS, dep)
    await plugin(
        {"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "baseline"}
    ).validate(a)
    assert a.warnings == ['would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)']
    scaled = attrs(DEPLOYMENTS, dep, "UPDATE", dep, subresource="scale")
    await plugin({"pod-security.kubernetes.io/warn": "baseline"}).validate(scaled)
    assert scaled.warnings == []


async def test_pod_updates_are_checked_only_when_an_image_changes() -> None:
    old = {
        "metadata": {"name": "p"},
        "spec": spec({"name": "x", "image": "a", "securityContext": {"privileged": True}}),
    }
    relabelled = {**old, "metadata": {"name": "p", "labels": {"a": "b"}}}
    p = plugin({"pod-security.kubernetes.io/enforce": "baseline"})
    await p.validate(attrs(PODS, relabelled, "UPDATE", old))
    new_image = {**old, "spec": spec({"name": "x", "image": "b", "securityContext": {"privileged": True}})}
    with pytest.raises(StatusError):
        await p.validate(attrs(PODS, new_image, "UPDATE", old))


async def test_namespace_labels_and_raised_enforce_level() -> None:
    bad = {"metadata": {"name": "ns", "labels": {"pod-security.kubernetes.io/enforce": "strict"}}}
    with pytest.raises(StatusError) as exc:
        await plugin({}).validate(attrs(NAMESPACES, bad, namespace=""))
    assert exc.value.code == 422
    pods = [{"metadata": {"name": n}, "spec": spec({"name": "x", "securityContext": {"privileged": True}})} for n in
            ("b", "a", "c")] + [{"metadata": {"name": "ok"}, "spec": spec()}]  # fmt: skip
    old = {"metadata": {"name": "ns", "labels": {}}}
    new = {"metadata": {"name": "ns", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}}
    a = attrs(NAMESPACES, new, "UPDATE", old, namespace="")
    await plugin({}, pods).validate(a)
    assert a.warnings == [
        'existing pods in namespace "ns" violate the new PodSecurity enforce level "baseline:latest"',
        "a (and 2 other pods): privileged",
    ]


async def test_deny_service_external_ips() -> None:
    deny = DenyServiceExternalIPs()
    svc = {"metadata": {"name": "s"}, "spec": {"externalIPs": ["192.0.2.1"]}}
    with pytest.raises(StatusError) as exc:
        await deny.validate(attrs(SERVICES, svc))
    assert (
        exc.value.message == 'services "s" is forbidden: Use of external IPs is denied by admission control'
    )
    await deny.validate(attrs(SERVICES, svc, "UPDATE", svc))  # keeps what it had
    await deny.validate(attrs(SERVICES, {"metadata": {"name": "s"}, "spec": {}}, "UPDATE", svc))  # drops them
    with pytest.raises(StatusError):
        grown = {"metadata": {"name": "s"}, "spec": {"externalIPs": ["192.0.2.1", "192.0.2.2"]}}
        await deny.validate(attrs(SERVICES, grown, "UPDATE", svc))
