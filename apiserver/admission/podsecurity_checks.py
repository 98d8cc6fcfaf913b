"""The Pod Security Standards as pure functions: (pod metadata, pod spec) -> a refusal or None.

One function per check of Kubernetes' pod-security-admission (k8s.io/pod-security-admission/policy), with its
reason and detail texts, evaluated in the same order, so a refusal reads as kube-apiserver's does:

    host namespaces (hostNetwork=true), privileged (container "x" must not set securityContext.privileged=true)

`checks_for(level)` lists what a level evaluates: baseline runs its own checks then the ones restricted replaces
("overlapping"); restricted runs the non-overlapping baseline checks then its own. Privileged checks nothing.
These are the checks of policy version 1.32 (kubelite's `latest`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Refusal:
    reason: str
    detail: str = ""


Check = Callable[[Obj, Obj], Refusal | None]


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def containers(spec: Obj) -> Iterator[Obj]:
    """Init containers, containers, ephemeral containers: pod-security-admission's visiting order."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in _list(spec.get(key)):
            if isinstance(container, dict):
                yield container


def _sc(container: Obj) -> Obj:
    return _dict(container.get("securityContext"))


def _name(container: Obj) -> str:
    return str(container.get("name") or "")


def join_quote(items: list[str]) -> str:
    return '"' + '", "'.join(items) + '"' if items else ""


def plural(singular: str, many: str, count: int) -> str:
    return singular if count == 1 else many


def _containers_text(names: list[str]) -> str:
    return f"{plural('container', 'containers', len(names))} {join_quote(names)}"


def _offenders(spec: Obj, bad: Callable[[Obj], list[str]]) -> tuple[list[str], set[str]]:
    """The names of the containers for which `bad` finds something, and everything it found."""
    names, found = [], set()
    for c in containers(spec):
        values = bad(c)
        if values:
            names.append(_name(c))
            found.update(values)
    return names, found


def _containers_refusal(reason: str, names: list[str], must: str) -> Refusal | None:
    """None when `names` is empty, else a refusal that names the containers: `containers "a", "b" <must>`."""
    return Refusal(reason, f"{_containers_text(names)} {must}") if names else None


def _setters(pod_bad: bool, names: list[str]) -> str:
    setters = (["pod"] if pod_bad else []) + ([_containers_text(names)] if names else [])
    return " and ".join(setters)


# --- baseline -------------------------------------------------------------------------------------------------

_APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def app_armor_profile(meta: Obj, spec: Obj) -> Refusal | None:
    def allowed_type(profile: Obj) -> bool:
        return profile.get("type") in (None, "", "RuntimeDefault", "Localhost")

    bad_values: set[str] = set()
    pod_bad = False
    pod_profile = _dict(_dict(spec.get("securityContext")).get("appArmorProfile"))
    if pod_profile and not allowed_type(pod_profile):
        pod_bad = True
        bad_values.add(str(pod_profile.get("type")))
    names = []
    for c in containers(spec):
        profile = _dict(_sc(c).get("appArmorProfile"))
        if profile and not allowed_type(profile):
            names.append(_name(c))
            bad_values.add(str(profile.get("type")))
    annotations = [
        f'{k}="{v}"'
        for k, v in _dict(meta.get("annotations")).items()
        if str(k).startswith(_APPARMOR_PREFIX)
        and not (not v or v == "runtime/default" or str(v).startswith("localhost/"))
    ]
    if not (pod_bad or names or annotations):
        return None
    values = sorted(bad_values) + sorted(annotations)
    setters = [s for s in (_setters(pod_bad, names),) if s]
    if annotations:
        setters.append(plural("annotation", "annotations", len(annotations)))
    return Refusal(
        plural("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
        f"{' and '.join(setters)} must not set AppArmor profile type to {join_quote(values)}",
    )


def host_namespaces(meta: Obj, spec: Obj) -> Refusal | None:
    found = [f"{k}=true" for k in ("hostIPC", "hostNetwork", "hostPID") if spec.get(k) is True]
    return Refusal("host namespaces", ", ".join(found)) if found else None


def host_ports(meta: Obj, spec: Obj) -> Refusal | None:
    names, ports = _offenders(
        spec,
        lambda c: [
            str(p["hostPort"]) for p in _list(c.get("ports")) if isinstance(p, dict) and p.get("hostPort")
        ],
    )
    return _containers_refusal(
        "hostPort",
        names,
        f"{plural('uses', 'use', len(names))} "
        f"{plural('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}",
    )


def privileged(meta: Obj, spec: Obj) -> Refusal | None:
    names = [_name(c) for c in containers(spec) if _sc(c).get("privileged") is True]
    return _containers_refusal("privileged", names, "must not set securityContext.privileged=true")


def proc_mount(meta: Obj, spec: Obj) -> Refusal | None:
    names, kinds = _offenders(
        spec, lambda c: [str(m)] if (m := _sc(c).get("procMount")) not in (None, "Default") else []
    )
    return _containers_refusal(
        "procMount", names, f"must not set securityContext.procMount to {join_quote(sorted(kinds))}"
    )


_SELINUX_TYPES = ("", "container_t", "container_init_t", "container_kvm_t")


def se_linux_options(meta: Obj, spec: Obj) -> Refusal | None:
    bad_types: set[str] = set()
    flags = {"user": False, "role": False}

    def fine(options: Obj) -> bool:
        ok = True
        if str(options.get("type") or "") not in _SELINUX_TYPES:
            bad_types.add(str(options.get("type")))
            ok = False
        for key in flags:
            if options.get(key):
                flags[key] = True
                ok = False
        return ok

    pod_options = _dict(spec.get("securityContext")).get("seLinuxOptions")
    pod_bad = isinstance(pod_options, dict) and not fine(pod_options)
    names = []
    for c in containers(spec):
        options = _sc(c).get("seLinuxOptions")
        if isinstance(options, dict) and not fine(options):
            names.append(_name(c))
    if not pod_bad and not names:
        return None
    data = []
    if bad_types:
        data.append(f"{plural('type', 'types', len(bad_types))} {join_quote(sorted(bad_types))}")
        data += [f"{key} may not be set" for key, was_set in flags.items() if was_set]
    return Refusal(
        "seLinuxOptions",
        f"{_setters(pod_bad, names)} set forbidden securityContext.seLinuxOptions: {'; '.join(data)}",
    )


_SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
}


def sysctls(meta: Obj, spec: Obj) -> Refusal | None:
    bad = [
        str(s.get("name"))
        for s in _list(_dict(spec.get("securityContext")).get("sysctls"))
        if isinstance(s, dict) and s.get("name") not in _SAFE_SYSCTLS
    ]
    return Refusal("forbidden sysctls", ", ".join(bad)) if bad else None


def windows_host_process(meta: Obj, spec: Obj) -> Refusal | None:
    def host_process(sc: Obj) -> bool:
        return _dict(sc.get("windowsOptions")).get("hostProcess") is True

    names = [_name(c) for c in containers(spec) if host_process(_sc(c))]
    pod_bad = host_process(_dict(spec.get("securityContext")))
    if not pod_bad and not names:
        return None
    return Refusal(
        "hostProcess",
        f"{_setters(pod_bad, names)} must not set securityContext.windowsOptions.hostProcess=true",
    )


_DEFAULT_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
    "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip


def capabilities_baseline(meta: Obj, spec: Obj) -> Refusal | None:
    names, caps = _offenders(
        spec,
        lambda c: [
            a
            for a in map(str, _list(_dict(_sc(c).get("capabilities")).get("add")))
            if a not in _DEFAULT_CAPABILITIES
        ],
    )
    return _containers_refusal(
        "non-default capabilities",
        names,
        f"must not include {join_quote(sorted(caps))} in securityContext.capabilities.add",
    )


def host_path_volumes(meta: Obj, spec: Obj) -> Refusal | None:
    names = [
        str(v.get("name")) for v in _list(spec.get("volumes")) if isinstance(v, dict) and "hostPath" in v
    ]
    if not names:
        return None
    return Refusal("hostPath volumes", f"{plural('volume', 'volumes', len(names))} {join_quote(names)}")


def _seccomp_type(sc: Obj) -> tuple[bool, str]:
    """(set, type) of a securityContext's seccompProfile."""
    profile = sc.get("seccompProfile")
    if not isinstance(profile, dict):
        return False, ""
    return True, str(profile.get("type") or "")


def _valid_seccomp(kind: str) -> bool:
    return kind in ("RuntimeDefault", "Localhost")


@dataclass
class _SeccompUse:
    pod_set: bool  # the pod's securityContext names a profile
    pod_bad: bool  # ... and it is neither RuntimeDefault nor Localhost
    explicit: list[str]  # containers that name a bad profile
    unset: list[str]  # containers that name none
    bad_values: set[str]


def _seccomp_use(spec: Obj) -> _SeccompUse:
    pod_set, kind = _seccomp_type(_dict(spec.get("securityContext")))
    use = _SeccompUse(pod_set, pod_set and not _valid_seccomp(kind), [], [], set())
    if use.pod_bad:
        use.bad_values.add(kind)
    for c in containers(spec):
        is_set, kind = _seccomp_type(_sc(c))
        if is_set and not _valid_seccomp(kind):
            use.explicit.append(_name(c))
            use.bad_values.add(kind)
        elif not is_set:
            use.unset.append(_name(c))
    return use


def _bad_seccomp(use: _SeccompUse) -> Refusal | None:
    if not use.pod_bad and not use.explicit:
        return None
    return Refusal(
        "seccompProfile",
        f"{_setters(use.pod_bad, use.explicit)} must not set securityContext.seccompProfile.type to "
        f"{join_quote(sorted(use.bad_values))}",
    )


def seccomp_profile_baseline(meta: Obj, spec: Obj) -> Refusal | None:
    return _bad_seccomp(_seccomp_use(spec))


# --- restricted -----------------------------------------------------------------------------------------------


def allow_privilege_escalation(meta: Obj, spec: Obj) -> Refusal | None:
    names = [_name(c) for c in containers(spec) if _sc(c).get("allowPrivilegeEscalation") is not False]
    return _containers_refusal(
        "allowPrivilegeEscalation != false", names, "must set securityContext.allowPrivilegeEscalation=false"
    )


def capabilities_restricted(meta: Obj, spec: Obj) -> Refusal | None:
    missing_drop, adding, caps = [], [], set()
    for c in containers(spec):
        capabilities = _sc(c).get("capabilities")
        if not isinstance(capabilities, dict):
            missing_drop.append(_name(c))
            continue
        if "ALL" not in _list(capabilities.get("drop")):
            missing_drop.append(_name(c))
        extra = [str(a) for a in _list(capabilities.get("add")) if a != "NET_BIND_SERVICE"]
        if extra:
            adding.append(_name(c))
            caps.update(extra)
    details = []
    if missing_drop:
        details.append(f'{_containers_text(missing_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(
            f"{_containers_text(adding)} must not include {join_quote(sorted(caps))} in securityContext.capabilities.add"
        )
    return Refusal("unrestricted capabilities", "; ".join(details)) if details else None


_ALLOWED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret")  # fmt: skip


def restricted_volumes(meta: Obj, spec: Obj) -> Refusal | None:
    names = sorted(
        {
            str(v.get("name"))
            for v in _list(spec.get("volumes"))
            if isinstance(v, dict) and not any(v.get(k) is not None for k in _ALLOWED_VOLUMES)
        }
    )
    if not names:
        return None
    # Go's %q of a []string: ["a" "b"]
    return Refusal(
        "restricted volume types",
        f"volumes [{' '.join(join_quote([n]) for n in names)}] have restricted types",
    )


def run_as_non_root(meta: Obj, spec: Obj) -> Refusal | None:
    pod_value = _dict(spec.get("securityContext")).get("runAsNonRoot")
    pod_bad, pod_true = pod_value is False, pod_value is True
    explicit, implicit = [], []
    for c in containers(spec):
        value = _sc(c).get("runAsNonRoot")
        if value is False:
            explicit.append(_name(c))
        elif value is None and not pod_true:
            implicit.append(_name(c))
    if pod_bad or explicit:
        return Refusal(
            "runAsNonRoot != true",
            f"{_setters(pod_bad, explicit)} must not set securityContext.runAsNonRoot=false",
        )
    if implicit:
        return Refusal(
            "runAsNonRoot != true",
            f"pod or {_containers_text(implicit)} must set securityContext.runAsNonRoot=true",
        )
    return None


def run_as_user(meta: Obj, spec: Obj) -> Refusal | None:
    pod_bad = _dict(spec.get("securityContext")).get("runAsUser") == 0
    names = [_name(c) for c in containers(spec) if _sc(c).get("runAsUser") == 0]
    if not pod_bad and not names:
        return None
    return Refusal("runAsUser=0", f"{_setters(pod_bad, names)} must not set runAsUser=0")


def seccomp_profile_restricted(meta: Obj, spec: Obj) -> Refusal | None:
    use = _seccomp_use(spec)
    refusal = _bad_seccomp(use)
    if refusal is not None:
        return refusal
    if use.unset and not use.pod_set:  # a container without a profile inherits the pod's, if it has one
        return Refusal(
            "seccompProfile",
            f'pod or {_containers_text(use.unset)} must set securityContext.seccompProfile.type to "RuntimeDefault" '
            'or "Localhost"',
        )
    return None


# --- levels ---------------------------------------------------------------------------------------------------

BASELINE: tuple[Check, ...] = (
    app_armor_profile, host_namespaces, host_ports, privileged, proc_mount, se_linux_options, sysctls,
    windows_host_process,
)  # fmt: skip
BASELINE_OVERLAPPING: tuple[Check, ...] = (capabilities_baseline, host_path_volumes, seccomp_profile_baseline)
RESTRICTED: tuple[Check, ...] = (
    allow_privilege_escalation, capabilities_restricted, restricted_volumes, run_as_non_root, run_as_user,
    seccomp_profile_restricted,
)  # fmt: skip
LEVELS = ("privileged", "baseline", "restricted")


def checks_for(level: str) -> tuple[Check, ...]:
    if level == "baseline":
        return BASELINE + BASELINE_OVERLAPPING
    if level == "restricted":
        return BASELINE + RESTRICTED
    return ()


def evaluate(level: str, meta: Obj, spec: Obj) -> list[Refusal]:
    """Every refusal of `level` for a pod (or pod template) with this metadata and spec."""
    return [r for check in checks_for(level) if (r := check(meta, spec)) is not None]


def forbidden_detail(refusals: list[Refusal]) -> str:
    """`reason (detail), reason, ...`, as AggregateCheckResult.ForbiddenDetail prints it."""
    return ", ".join(f"{r.reason} ({r.detail})" if r.detail else r.reason for r in refusals)
