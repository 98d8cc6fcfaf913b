"""Field selectors: Kubernetes' pkg/fields test cases, escapes, per-kind fields and value conversion."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apimachinery import fields
from apimachinery.fields import EQUALS, NOT_EQUALS, FieldRequirement, FieldSelector
from tests.unit.selector_cases import EXACT_MATCH


def flat(**values: str) -> dict[str, str]:
    """An object whose top-level keys are the field names (like Kubernetes' fields.Set)."""
    return dict(values)


@pytest.mark.parametrize("text", ["x=a,y=b,z=c", "", "x!=a,y=b", r"x=a||y\=b", r"x=a\=\=b"])
def test_good_strings_restring(text: str) -> None:
    assert str(fields.parse(text)) == text


@pytest.mark.parametrize(
    "text", ["x=a||y=b", "x==a==b", "x=a,b", "x in (a)", "x in (a,b,c)", "x", r"x=\a", "x=a\\", "x=a=b"]
)
def test_bad_strings(text: str) -> None:
    with pytest.raises(ValueError):
        fields.parse(text)


def test_error_messages() -> None:
    with pytest.raises(ValueError, match=r"can't understand 'b'"):
        fields.parse("x=a,b")
    with pytest.raises(ValueError, match=r"invalid escape sequence: \\a"):
        fields.parse(r"x=\a")
    with pytest.raises(ValueError, match="unescaped character in value"):
        fields.parse("x==a==b")


def test_parse_is_deterministic_and_normalises_double_equals() -> None:
    assert str(fields.parse("x=a,a=x")) == str(fields.parse("a=x,x=a")) == "a=x,x=a"
    assert fields.parse("x==a") == fields.parse("x=a")
    assert str(fields.parse("x==a")) == "x=a"
    assert fields.parse("a=b,,c=d,") == fields.parse("a=b,c=d")


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("a=value", ("a", "=", "value")),
        ("b==value", ("b", "==", "value")),
        ("c!=value", ("c", "!=", "value")),
        (r"k=\,", ("k", "=", r"\,")),
        (r"k=\=", ("k", "=", r"\=")),
        ("k=\\\\\\a\\b\\=\\,\\", ("k", "=", "\\\\\\a\\b\\=\\,\\")),
        ("함=수", ("함", "=", "수")),
        ("", None),
        ("a", None),
    ],
)
def test_split_term(term: str, expected: tuple[str, str, str] | None) -> None:
    assert fields._split_term(term) == expected


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("a", ["a"]),
        ("a=avalue,b=bvalue", ["a=avalue", "b=bvalue"]),
        ("a=avalue,b==bvalue,c!=cvalue", ["a=avalue", "b==bvalue", "c!=cvalue"]),
        ("a=a,", ["a=a", ""]),
        (",a=a", ["", "a=a"]),
        (r"k=\,,k2=v2", [r"k=\,", "k2=v2"]),
        (r"k=\\,k2=v2", [r"k=\\", "k2=v2"]),
        (r"k=\\\,,k2=v2", [r"k=\\\,", "k2=v2"]),
        ("k=\\a\\b\\", ["k=\\a\\b\\"]),
        ("함=수,목=록", ["함=수", "목=록"]),
    ],
)
def test_split_terms(text: str, terms: list[str]) -> None:
    assert fields._split_terms(text) == terms


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [("", ""), ("a", "a"), ("=", r"\="), (",", r"\,"), ("\\", "\\\\"), (r"\=\,\ ", r"\\\=\\\,\\ ")],
)
def test_escape_round_trip(raw: str, escaped: str) -> None:
    assert fields.escape_value(raw) == escaped
    assert fields.unescape_value(escaped) == raw


@pytest.mark.parametrize("bad", ["\\", "\\\\\\", r"\a", "a=b", "a,b"])
def test_unescape_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        fields.unescape_value(bad)


@pytest.mark.parametrize(
    ("text", "obj", "matched"),
    [
        ("", flat(x="y"), True),
        ("x=y", flat(x="y"), True),
        ("x=y,z=w", flat(x="y", z="w"), True),
        ("x!=y,z!=w", flat(x="z", z="a"), True),
        ("notin=in", flat(notin="in"), True),
        ("x=y", flat(x="z"), False),
        ("x=y,z=w", flat(x="w", z="w"), False),
        ("x!=y,z!=w", flat(x="z", z="w"), False),
        ("foo=bar,baz=blah", flat(foo="bar", baz="blah"), True),
        (r"foo=bar,baz=blah,complex=\=value\\\,\\", flat(foo="bar", baz="blah", complex="=value\\,\\"), True),
        ("foo=blah", flat(foo="bar", baz="blah"), False),
        ("foo=bar,foobar=bar,baz=blah", flat(foo="bar", baz="blah"), False),
    ],
)
def test_matches_kubernetes_cases(text: str, obj: dict[str, str], matched: bool) -> None:
    assert fields.parse(text).matches(obj) is matched


POD = {
    "kind": "Pod",
    "metadata": {"name": "web-1", "namespace": "default"},
    "spec": {"nodeName": "node-a", "restartPolicy": "Always", "hostNetwork": True},
    "status": {"phase": "Running", "podIP": "10.0.0.5"},
}
PENDING_POD = {"kind": "Pod", "metadata": {"name": "web-2", "namespace": "default"}, "spec": {}, "status": {}}


@pytest.mark.parametrize(
    ("text", "obj", "matched"),
    [
        ("metadata.name=web-1", POD, True),
        ("metadata.name=web-1,metadata.namespace=default", POD, True),
        ("metadata.namespace=kube-system", POD, False),
        ("spec.nodeName=node-a", POD, True),
        ("spec.nodeName=", POD, False),
        ("spec.nodeName=", PENDING_POD, True),
        ("spec.nodeName!=", PENDING_POD, False),
        ("status.phase!=Succeeded,status.phase!=Failed", POD, True),
        ("status.phase!=Running", POD, False),
        ("status.podIP=10.0.0.5", POD, True),
        ("spec.hostNetwork=true", POD, True),
        ("spec.hostNetwork=false", PENDING_POD, True),
        ("spec.restartPolicy==Always", POD, True),
    ],
)
def test_pod_fields(text: str, obj: dict, matched: bool) -> None:
    selector = fields.parse(text)
    fields.validate_for(selector, "Pod")
    assert selector.matches(obj) is matched


def test_event_fields_core_and_events_k8s_io() -> None:
    # One event in both APIs: events.k8s.io/v1 renames involvedObject, source and reportingComponent.
    pod = {"kind": "Pod", "name": "nginx", "namespace": "default", "uid": "u-1"}
    said = {"kind": "Event", "reason": "Scheduled", "type": "Normal"}
    by = "default-scheduler"
    core = {
        **said,
        "apiVersion": "v1",
        "involvedObject": pod,
        "source": {"component": by},
        "reportingComponent": by,
    }
    modern = {
        **said,
        "apiVersion": "events.k8s.io/v1",
        "regarding": pod,
        "deprecatedSource": {"component": by},
        "reportingController": by,
    }
    text = (
        "involvedObject.name=nginx,involvedObject.namespace=default,involvedObject.uid=u-1,"
        "involvedObject.kind=Pod,reason=Scheduled,type=Normal,source=default-scheduler,"
        "reportingComponent=default-scheduler"
    )
    selector = fields.parse(text)
    fields.validate_for(selector, "Event")
    assert selector.matches(core)
    assert selector.matches(modern)
    assert not fields.parse("involvedObject.uid=u-2").matches(core)
    assert fields.parse("involvedObject.fieldPath=").matches(core)


def test_other_kinds() -> None:
    node = {"kind": "Node", "metadata": {"name": "n1"}, "spec": {}}
    assert fields.parse("spec.unschedulable=false").matches(node)
    assert fields.parse("spec.unschedulable=true").matches({**node, "spec": {"unschedulable": True}})
    namespace = {"kind": "Namespace", "metadata": {"name": "ns"}, "status": {"phase": "Terminating"}}
    assert fields.parse("status.phase=Terminating").matches(namespace)
    secret = {"kind": "Secret", "metadata": {"name": "s"}, "type": "kubernetes.io/service-account-token"}
    assert fields.parse("type=kubernetes.io/service-account-token").matches(secret)
    assert fields.parse("metadata.namespace=").matches(node)  # cluster-scoped: namespace reads ""


def test_kind_argument_overrides_object_kind() -> None:
    event = {"source": {"component": "kubelet"}}
    assert fields.parse("source=kubelet").matches(event, kind="Event")
    assert not fields.parse("source=kubelet").matches(event)


def test_field_value_conversion() -> None:
    obj = {"a": {"b": True, "c": False, "n": 3, "s": "x", "none": None, "d": {"e": 1}}}
    assert fields.field_value(obj, "a.b") == "true"
    assert fields.field_value(obj, "a.c") == "false"
    assert fields.field_value(obj, "a.n") == "3"
    assert fields.field_value(obj, "a.s") == "x"
    assert fields.field_value(obj, "a.none") == ""
    assert fields.field_value(obj, "a.d") == ""
    assert fields.field_value(obj, "a.s.deeper") == ""
    assert fields.field_value(obj, "missing.path") == ""


@pytest.mark.parametrize(
    ("kind", "field", "ok"),
    [
        ("Pod", "metadata.name", True),
        ("Pod", "spec.nodeName", True),
        ("Pod", "spec.containers", False),
        ("Event", "involvedObject.uid", True),
        ("Event", "spec.nodeName", False),
        ("Node", "spec.unschedulable", True),
        ("Namespace", "status.phase", True),
        ("Secret", "type", True),
        ("ConfigMap", "metadata.namespace", True),
        ("ConfigMap", "data", False),
        ("Deployment", "status.phase", False),
    ],
)
def test_validate_for(kind: str, field: str, ok: bool) -> None:
    selector = fields.parse(f"{field}=x")
    assert (field in fields.supported_fields(kind)) is ok
    if ok:
        fields.validate_for(selector, kind)
    else:
        with pytest.raises(ValueError, match=f"^field label not supported: {field}$"):
            fields.validate_for(selector, kind)


def test_validate_for_unsupported_message() -> None:
    with pytest.raises(ValueError) as info:
        fields.validate_for(fields.parse("metadata.name=a,foo.bar=b"), "Pod")
    assert str(info.value) == "field label not supported: foo.bar"


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [*EXACT_MATCH, (r"x=a\,b", "x", "a,b")],
)
def test_exact(text: str, field: str, value: str | None) -> None:
    assert fields.parse(text).exact(field) == value


def test_empty_and_from_set() -> None:
    assert FieldSelector.empty().is_empty()
    assert fields.parse("").is_empty()
    assert fields.parse(",").is_empty()
    assert not fields.parse("a=b").is_empty()
    assert fields.selector_from_set(None).is_empty()
    selector = fields.selector_from_set({"metadata.name": "a,b", "spec.nodeName": ""})
    assert str(selector) == r"metadata.name=a\,b,spec.nodeName="
    assert fields.parse(str(selector)) == selector
    assert selector.fields() == {"metadata.name", "spec.nodeName"}


field_names = st.sampled_from(["metadata.name", "spec.nodeName", "status.phase", "a", "x.y.z"])
field_values = st.text(alphabet="ab=,\\ -.", max_size=6)
field_requirements = st.builds(
    FieldRequirement, field_names, st.sampled_from([EQUALS, NOT_EQUALS]), field_values
)


@settings(max_examples=300, deadline=None)
@given(st.lists(field_requirements, max_size=4))
def test_str_round_trips(requirements: list[FieldRequirement]) -> None:
    selector = fields._canonical(requirements)
    assert fields.parse(str(selector)) == selector


@settings(max_examples=200, deadline=None)
@given(field_values)
def test_escape_round_trips(value: str) -> None:
    assert fields.unescape_value(fields.escape_value(value)) == value
