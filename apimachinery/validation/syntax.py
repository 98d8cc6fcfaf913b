"""Syntax checks of names, labels, port names and addresses, with the messages Kubernetes gives
(k8s.io/apimachinery `pkg/util/validation`): each `is_*` returns the list of problems, empty when fine."""

from __future__ import annotations

import re
from typing import Any

from apimachinery.validation.network import MSG_IP, parse_cidr, parse_ip


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    shown = "".join(f"{' or ' if i else ''}'{e}', " for i, e in enumerate(examples))
    return f"{msg} ({'e.g. ' + shown if examples else ''}regex used for validation is '{fmt}')"


def _max_len(n: int) -> str:
    return f"must be no more than {n} characters"


_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + "(\\." + _DNS1123_LABEL + ")*"
_DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(" + _QUALIFIED + ")?"
_PERCENT = "[0-9]+%"


def _full(fmt: str) -> re.Pattern[str]:
    """A pattern for `fullmatch` only: `$` would also match before a trailing newline."""
    return re.compile(fmt)


_RE_LABEL, _RE_SUBDOMAIN, _RE_1035 = _full(_DNS1123_LABEL), _full(_DNS1123_SUBDOMAIN), _full(_DNS1035_LABEL)
_RE_QUALIFIED, _RE_LABEL_VALUE, _RE_PERCENT = _full(_QUALIFIED), _full(_LABEL_VALUE), _full(_PERCENT)
_MSG_LABEL = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_MSG_SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_MSG_1035 = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character"
)
_MSG_QUALIFIED = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
_MSG_LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_MSG_IP = MSG_IP


def is_dns1123_label(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE_LABEL.fullmatch(value):
        if _RE_SUBDOMAIN.fullmatch(value):
            errs.append("must not contain dots")
        else:
            errs.append(_regex_error(_MSG_LABEL, _DNS1123_LABEL, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    errs = [_max_len(253)] if len(value) > 253 else []
    if not _RE_SUBDOMAIN.fullmatch(value):
        errs.append(_regex_error(_MSG_SUBDOMAIN, _DNS1123_SUBDOMAIN, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE_1035.fullmatch(value):
        errs.append(_regex_error(_MSG_1035, _DNS1035_LABEL, "my-name", "abc-123"))
    return errs


def is_qualified_name(value: str) -> list[str]:
    """A label key, annotation key or finalizer: `name` or `dns.prefix/name`."""
    parts = value.split("/")
    errs: list[str] = []
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a qualified name "
            + _regex_error(_MSG_QUALIFIED, _QUALIFIED, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + _max_len(63))
    if not _RE_QUALIFIED.fullmatch(name):
        errs.append("name part " + _regex_error(_MSG_QUALIFIED, _QUALIFIED, "MyName", "my.name", "123-abc"))
    return errs


def is_label_value(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _RE_LABEL_VALUE.fullmatch(value):
        errs.append(_regex_error(_MSG_LABEL_VALUE, _LABEL_VALUE, "MyValue", "my_value", "12345"))
    return errs


def is_port_name(value: str) -> list[str]:
    """An IANA service name: at most 15 of [-a-z0-9], at least one letter, no leading/trailing/double hyphen."""
    errs = [_max_len(15)] if len(value) > 15 else []
    if not re.fullmatch(r"[-a-z0-9]+", value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        errs.append("must contain at least one letter (a-z)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_ip(value: Any) -> bool:
    return parse_ip(value) is not None


def is_cidr(value: Any) -> bool:
    return parse_cidr(value) is not None
