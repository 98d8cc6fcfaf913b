"""Resource arguments as kubectl reads them: `TYPE`, `TYPE NAME...`, `TYPE1,TYPE2`, `TYPE/NAME...`, `all`."""

from __future__ import annotations

from dataclasses import dataclass, field

from apimachinery.resources import RESOURCES, ResourceInfo, resolve
from cli.errors import CLIError


@dataclass
class Target:
    """One resource type and the names asked for (empty: every object of the type)."""

    res: ResourceInfo
    names: list[str] = field(default_factory=list)


def builtin(name: str) -> ResourceInfo:
    """A resource kctl itself relies on (pods, nodes, events...): always in the table."""
    res = resolve(name)
    if res is None:
        raise AssertionError(f"built-in resource {name!r} missing from apimachinery.resources")
    return res


def resource_type(text: str) -> ResourceInfo:
    """The resource that a user-typed type name means, or kubectl's error."""
    res = resolve(text)
    if res is None:
        raise CLIError(f'the server doesn\'t have a resource type "{text}"')
    return res


def expand_types(text: str) -> list[ResourceInfo]:
    """`deploy,svc` -> two resources; `all` -> the `all` category (kubectl's order)."""
    out: list[ResourceInfo] = []
    for part in text.split(","):
        if not part:
            continue
        if part == "all":
            order = ("pods", "services", "deployments", "replicasets")
            cat = [r for r in RESOURCES if "all" in r.categories]
            cat.sort(key=lambda r: order.index(r.resource) if r.resource in order else len(order))
            out.extend(r for r in cat if r not in out)
        else:
            res = resource_type(part)
            if res not in out:
                out.append(res)
    return out


def parse_targets(args: list[str]) -> list[Target]:
    """The targets named by positional arguments; raises CLIError for what kubectl rejects."""
    if not args:
        raise CLIError("you must specify the type of resource to get")
    if any("/" in a for a in args):
        if not all("/" in a for a in args):
            raise CLIError(
                "there is no need to specify a resource type as a separate argument when passing arguments in "
                "resource/name form (e.g. 'kctl get resource/<resource_name>' instead of "
                "'kctl get resource resource/<resource_name>')"
            )
        targets: list[Target] = []
        for a in args:
            kind, _, name = a.partition("/")
            if not name:
                raise CLIError(f'arguments in resource/name form must have a single resource and name: "{a}"')
            res = resource_type(kind)
            for t in targets:
                if t.res == res:
                    t.names.append(name)
                    break
            else:
                targets.append(Target(res, [name]))
        return targets
    types = expand_types(args[0])
    names = args[1:]
    if names and len(types) > 1:
        return [Target(r, list(names)) for r in types]
    return [Target(r, list(names)) for r in types]


def single_target(args: list[str], verb: str) -> tuple[ResourceInfo, str]:
    """Exactly one object: `TYPE NAME` or `TYPE/NAME` (rollout, scale, expose, edit...)."""
    targets = parse_targets(args)
    if len(targets) != 1 or len(targets[0].names) != 1:
        raise CLIError(f"{verb} needs exactly one resource: TYPE NAME or TYPE/NAME")
    return targets[0].res, targets[0].names[0]
