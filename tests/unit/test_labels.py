"""Label selectors: the cases of Kubernetes' pkg/labels tests, plus properties checked with hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apimachinery import labels
from apimachinery.labels import Operator, Requirement, Selector
from tests.unit.selector_cases import EXACT_MATCH


def req(key: str, op: Operator, *values: str) -> Requirement:
    return Requirement.create(key, op, values)


# --- parsing -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1", "x>1,z<5"],
)
def test_good_strings_restring_without_spaces(text: str) -> None:
    assert str(labels.parse(text)) == text.replace(" ", "")


@pytest.mark.parametrize(
    "text",
    [
        "x=a||y=b",
        "x==a==b",
        "!x=a",
        "x<a",
        "x,,y",
        ",x,y",
        "x nott in (y)",
        "a in (xyz),",
        "a in (xyz)b notin ()",
        "a in (xyz abc)",
        "a notin(",
        "a (",
        "(",
        "x=a,",
        "!",
        "!=a",
        "x in a",
        "x in (a",
        "x in (a,=)",
        "a/b/c",
        "Example.com/x",
        "/x",
        "x/",
        "-x",
        "x=-a",
        "x=" + "a" * 64,
        "a" * 64,
        "x>-1",
        "x>1.5",
        "x>99999999999999999999",
    ],
)
def test_bad_strings(text: str) -> None:
    with pytest.raises(ValueError):
        labels.parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("\rx", [req("x", Operator.EXISTS)]),
        (
            "this-is-a-dns.domain.com/key-with-dash",
            [req("this-is-a-dns.domain.com/key-with-dash", Operator.EXISTS)],
        ),
        (
            "this-is-another-dns.domain.com/key-with-dash in (so,what)",
            [req("this-is-another-dns.domain.com/key-with-dash", Operator.IN, "so", "what")],
        ),
        (
            "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
            [req("0.1.2.domain/99", Operator.NOT_IN, "10.10.100.1", "tick.tack.clock")],
        ),
        ("foo  in\t (abc)", [req("foo", Operator.IN, "abc")]),
        ("x notin\n (abc)", [req("x", Operator.NOT_IN, "abc")]),
        ("x  notin\t\t\t(abc,def)", [req("x", Operator.NOT_IN, "abc", "def")]),
        ("x in (abc,def)", [req("x", Operator.IN, "abc", "def")]),
        ("x in (abc,)", [req("x", Operator.IN, "abc", "")]),
        ("x in ()", [req("x", Operator.IN, "")]),
        (
            "x notin (abc,,def),bar,z in (),w",
            [
                req("bar", Operator.EXISTS),
                req("w", Operator.EXISTS),
                req("x", Operator.NOT_IN, "abc", "", "def"),
                req("z", Operator.IN, ""),
            ],
        ),
        ("x,y in (a)", [req("x", Operator.EXISTS), req("y", Operator.IN, "a")]),
        ("x=a", [req("x", Operator.EQUALS, "a")]),
        ("x==a", [req("x", Operator.DOUBLE_EQUALS, "a")]),
        ("x>1", [req("x", Operator.GREATER_THAN, "1")]),
        ("x<7", [req("x", Operator.LESS_THAN, "7")]),
        ("x=a,y!=b", [req("x", Operator.EQUALS, "a"), req("y", Operator.NOT_EQUALS, "b")]),
        (
            "x=a,y!=b,z in (h,i,j)",
            [
                req("x", Operator.EQUALS, "a"),
                req("y", Operator.NOT_EQUALS, "b"),
                req("z", Operator.IN, "h", "i", "j"),
            ],
        ),
        ("x notin ( )", [req("x", Operator.NOT_IN, "")]),
        ("x notin (, a)", [req("x", Operator.NOT_IN, "", "a")]),
        ("a ", [req("a", Operator.EXISTS)]),
        ("a in (x,y,notin, z,in)", [req("a", Operator.IN, "in", "notin", "x", "y", "z")]),
        ("notin=in", [req("notin", Operator.EQUALS, "in")]),
        ("in in (in)", [req("in", Operator.IN, "in")]),
        (
            "  app = web , tier!=db  ",
            [req("app", Operator.EQUALS, "web"), req("tier", Operator.NOT_EQUALS, "db")],
        ),
    ],
)
def test_parse_requirements(text: str, expected: list[Requirement]) -> None:
    assert labels.parse(text).requirements == tuple(expected)


def test_parse_is_deterministic() -> None:
    assert labels.parse("x=a,a=x") == labels.parse("a=x,x=a")
    assert str(labels.parse("x=a,a=x")) == "a=x,x=a"


def test_error_message_names_the_bad_part() -> None:
    with pytest.raises(ValueError, match="found 'b'"):
        labels.parse("app in (x), k=a b")
    with pytest.raises(ValueError, match='"Bad_Prefix/x"'):
        labels.parse("Bad_Prefix/x=1")
    with pytest.raises(ValueError, match="found 'nott'"):
        labels.parse("x nott in (y)")


# --- matching ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label_set", "matched"),
    [
        ("", {"x": "y"}, True),
        ("x=y", {"x": "y"}, True),
        ("x=y,z=w", {"x": "y", "z": "w"}, True),
        ("x!=y,z!=w", {"x": "z", "z": "a"}, True),
        ("notin=in", {"notin": "in"}, True),
        ("x", {"x": "z"}, True),
        ("!x", {"y": "z"}, True),
        ("x>1", {"x": "2"}, True),
        ("x<1", {"x": "0"}, True),
        ("x=z", {}, False),
        ("x=y", {"x": "z"}, False),
        ("x=y,z=w", {"x": "w", "z": "w"}, False),
        ("x!=y,z!=w", {"x": "z", "z": "w"}, False),
        ("x", {"y": "z"}, False),
        ("!x", {"x": "z"}, False),
        ("x>1", {"x": "0"}, False),
        ("x<1", {"x": "2"}, False),
        ("foo=bar", {"foo": "bar", "baz": "blah"}, True),
        ("baz=blah", {"foo": "bar", "baz": "blah"}, True),
        ("foo=bar,baz=blah", {"foo": "bar", "baz": "blah"}, True),
        ("foo=blah", {"foo": "bar", "baz": "blah"}, False),
        ("baz=bar", {"foo": "bar", "baz": "blah"}, False),
        ("foo=bar,foobar=bar,baz=blah", {"foo": "bar", "baz": "blah"}, False),
        # Kubernetes' TestRequirementSelectorMatching
        ("x in (foo),y notin (alpha)", {"x": "foo", "y": "baz"}, True),
        ("x in (foo),y in (alpha)", {"x": "foo", "y": "baz"}, False),
        ("x notin (),y", {"y": ""}, True),
        ("!x,y", {"y": ""}, True),
        ("x notin (),!y", {"y": ""}, False),
        ("x in ()", {"y": "baz"}, False),
        ("z>1", {"z": "2"}, True),
        ("z>1", {"z": "v2"}, False),
        # negative operators match a missing key
        ("env!=prod", {}, True),
        ("env notin (prod)", {"app": "web"}, True),
        ("env=", {}, False),
        ("env=", {"env": ""}, True),
        ("x in (a,b)", {"x": "b"}, True),
        ("x<10", {"x": "-3"}, True),
        ("x<10", {"x": "1e1"}, False),
        ("x>1", None, False),
        ("x!=1", None, True),
    ],
)
def test_matches(text: str, label_set: dict[str, str] | None, matched: bool) -> None:
    assert labels.parse(text).matches(label_set) is matched


def test_everything_and_nothing() -> None:
    assert Selector.empty().matches({"x": "y"})
    assert Selector.empty().is_empty()
    assert Selector.everything() == Selector.empty() == labels.parse("")
    assert not Selector.nothing().matches({})
    assert not Selector.nothing().is_empty()
    assert str(Selector.nothing()) == ""
    assert Selector.nothing().add(req("x", Operator.EXISTS)) == Selector.nothing()


@pytest.mark.parametrize(
    ("selector", "matched"),
    [
        ({}, True),
        ({"foo": "bar"}, True),
        ({"baz": "blah"}, True),
        ({"foo": "bar", "baz": "blah"}, True),
        ({"foo": "blah"}, False),
        ({"foo": "bar", "foobar": "bar"}, False),
    ],
)
def test_selector_from_set(selector: dict[str, str], matched: bool) -> None:
    assert labels.selector_from_set(selector).matches({"foo": "bar", "baz": "blah"}) is matched


def test_selector_from_set_is_sorted_and_empty_for_none() -> None:
    assert str(labels.selector_from_set({"b": "2", "a": "1"})) == "a=1,b=2"
    assert labels.selector_from_set(None).is_empty()
    assert labels.selector_from_set({}).is_empty()


@pytest.mark.parametrize(
    ("key", "op", "values", "ok"),
    [
        ("x", Operator.IN, [], False),
        ("x", Operator.NOT_IN, [], False),
        ("x", Operator.IN, ["foo"], True),
        ("x", Operator.NOT_IN, ["foo"], True),
        ("x", Operator.EXISTS, [], True),
        ("x", Operator.DOES_NOT_EXIST, [], True),
        ("1foo", Operator.IN, ["bar"], True),
        ("1234", Operator.IN, ["bar"], True),
        ("y", Operator.GREATER_THAN, ["1"], True),
        ("z", Operator.LESS_THAN, ["6"], True),
        ("foo", Operator.GREATER_THAN, ["bar"], False),
        ("barz", Operator.LESS_THAN, ["blah"], False),
        ("a" * 254, Operator.EXISTS, [], False),
        ("x", Operator.EQUALS, ["a", "b"], False),
        ("x", Operator.EXISTS, ["a"], False),
        ("x", "bogus", [], False),
        ("example.com/" + "a" * 63, Operator.EXISTS, [], True),
        ("a" * 250 + ".com/x", Operator.EXISTS, [], False),
    ],
)
def test_requirement_create(key: str, op: Operator, values: list[str], ok: bool) -> None:
    if ok:
        Requirement.create(key, op, values)
    else:
        with pytest.raises(ValueError):
            Requirement.create(key, op, values)


@pytest.mark.parametrize(
    ("requirements", "text"),
    [
        (
            [
                req("x", Operator.IN, "abc", "def"),
                req("y", Operator.NOT_IN, "jkl"),
                req("z", Operator.EXISTS),
            ],
            "x in (abc,def),y notin (jkl),z",
        ),
        (
            [
                req("x", Operator.NOT_IN, "abc", "def"),
                req("y", Operator.NOT_EQUALS, "jkl"),
                req("z", Operator.DOES_NOT_EXIST),
            ],
            "x notin (abc,def),y!=jkl,!z",
        ),
        (
            [
                req("x", Operator.NOT_IN, "abc"),
                req("y", Operator.IN, "jkl", "mno"),
                req("z", Operator.NOT_IN, ""),
            ],
            "x notin (abc),y in (jkl,mno),z notin ()",
        ),
        (
            [
                req("x", Operator.EQUALS, "abc"),
                req("y", Operator.DOUBLE_EQUALS, "jkl"),
                req("z", Operator.NOT_EQUALS, "a"),
                req("z", Operator.EXISTS),
            ],
            "x=abc,y==jkl,z!=a,z",
        ),
        (
            [
                req("x", Operator.GREATER_THAN, "2"),
                req("y", Operator.LESS_THAN, "8"),
                req("z", Operator.EXISTS),
            ],
            "x>2,y<8,z",
        ),
    ],
)
def test_to_string(requirements: list[Requirement], text: str) -> None:
    assert str(Selector().add(*requirements)) == text


def test_add_sorts_by_key() -> None:
    selector = Selector().add(req("key2", Operator.EQUALS, "value2")).add(req("key", Operator.IN, "value"))
    assert selector.requirements == (req("key", Operator.IN, "value"), req("key2", Operator.EQUALS, "value2"))


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [*EXACT_MATCH, ("x in (a)", "x", "a"), ("x in (a,b)", "x", None), ("x,x=a", "x", "a")],
)
def test_requires_exact_match(text: str, key: str, value: str | None) -> None:
    assert labels.parse(text).requires_exact_match(key) == value


# --- LabelSelector objects -----------------------------------------------------------------------------------


def test_from_label_selector_none_is_nothing_and_empty_is_everything() -> None:
    assert labels.from_label_selector(None) == Selector.nothing()
    assert not labels.from_label_selector(None).matches({"a": "b"})
    assert labels.from_label_selector({}).is_empty()
    assert labels.from_label_selector({"matchLabels": None, "matchExpressions": []}).is_empty()


def test_from_label_selector_combines_labels_and_expressions() -> None:
    selector = labels.from_label_selector(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["fe", "be"]},
                {"key": "env", "operator": "NotIn", "values": ["prod"]},
                {"key": "track", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"},
            ],
        }
    )
    assert str(selector) == "app=web,env notin (prod),!legacy,tier in (be,fe),track"
    assert selector.matches({"app": "web", "tier": "fe", "track": "x"})
    assert not selector.matches({"app": "web", "tier": "fe", "track": "x", "legacy": "1"})
    assert not selector.matches({"app": "web", "tier": "fe", "track": "x", "env": "prod"})


@pytest.mark.parametrize(
    "obj",
    [
        {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
        {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
        {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
        {"matchLabels": {"a": "not valid"}},
        {"matchLabels": {"-a": "b"}},
    ],
)
def test_from_label_selector_invalid(obj: dict) -> None:
    with pytest.raises(ValueError):
        labels.from_label_selector(obj)
    assert labels.to_string(obj) == "<error>"


def test_to_string_for_kubectl() -> None:
    assert labels.to_string(None) == "<none>"
    assert labels.to_string({}) == "<none>"
    assert labels.to_string({"matchLabels": {"app": "web", "pod-template-hash": "abc"}}) == (
        "app=web,pod-template-hash=abc"
    )


# --- properties ----------------------------------------------------------------------------------------------

KEYS = ["a", "app", "x.y", "k-8", "example.com/tier", "a.b/c_d", "in", "notin"]
VALUES = ["", "a", "web", "1", "42", "v.1", "A_b", "in"]
label_maps = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=5)


@st.composite
def requirements(draw: st.DrawFn) -> Requirement:
    key = draw(st.sampled_from(KEYS))
    op = draw(st.sampled_from(list(Operator)))
    if op in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
        values: list[str] = []
    elif op in (Operator.IN, Operator.NOT_IN):
        values = draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=3))
    elif op in (Operator.GREATER_THAN, Operator.LESS_THAN):
        values = [str(draw(st.integers(0, 50)))]
    else:
        values = [draw(st.sampled_from(VALUES))]
    return Requirement.create(key, op, values)


selectors = st.lists(requirements(), max_size=5).map(lambda rs: Selector().add(*rs))


def reference_match(r: Requirement, label_set: dict[str, str]) -> bool:
    """The semantics written out once more, independently of the implementation."""
    present = r.key in label_set
    value = label_set.get(r.key)
    if r.operator == Operator.EXISTS:
        return present
    if r.operator == Operator.DOES_NOT_EXIST:
        return not present
    if r.operator in (Operator.IN, Operator.EQUALS, Operator.DOUBLE_EQUALS):
        return present and value in r.values
    if r.operator in (Operator.NOT_IN, Operator.NOT_EQUALS):
        return not present or value not in r.values
    if not present or not (value or "").isdigit():
        return False
    if r.operator == Operator.GREATER_THAN:
        return int(value or 0) > int(r.values[0])
    return int(value or 0) < int(r.values[0])


@settings(max_examples=300, deadline=None)
@given(selectors)
def test_str_round_trips(selector: Selector) -> None:
    assert labels.parse(str(selector)) == selector


@settings(max_examples=300, deadline=None)
@given(selectors, label_maps)
def test_matches_agrees_with_reference(selector: Selector, label_set: dict[str, str]) -> None:
    expected = all(reference_match(r, label_set) for r in selector.requirements)
    assert selector.matches(label_set) is expected
    assert labels.parse(str(selector)).matches(label_set) is expected


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(KEYS), label_maps)
def test_exists_and_does_not_exist_are_complements(key: str, label_set: dict[str, str]) -> None:
    assert labels.parse(key).matches(label_set) != labels.parse("!" + key).matches(label_set)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(KEYS), st.sampled_from(VALUES), label_maps)
def test_in_with_one_value_equals_equality(key: str, value: str, label_set: dict[str, str]) -> None:
    assert labels.parse(f"{key} in ({value})").matches(label_set) == labels.parse(f"{key}={value}").matches(
        label_set
    )
    assert labels.parse(f"{key} notin ({value})").matches(label_set) == labels.parse(
        f"{key}!={value}"
    ).matches(label_set)


@settings(max_examples=200, deadline=None)
@given(label_maps)
def test_selector_from_set_matches_its_own_set(label_set: dict[str, str]) -> None:
    selector = labels.selector_from_set(label_set)
    assert selector.matches(label_set)
    assert labels.parse(str(selector)) == selector
