"""`kctl image load IMAGE... [--registry HOST:PORT] [--cluster-registry HOST:PORT]`: put local images into the
cluster's registry, so pods can use them.

The compose deployment (deploy/) runs a registry that the nodes' Docker engines reach as `registry:5000` and the
host reaches on its published loopback port (127.0.0.1:5000 by default). An image `kubelite/busybox:1` is tagged
`127.0.0.1:5000/kubelite/busybox:1`, pushed through the host's Docker engine (which trusts loopback registries
over plain HTTP), and the extra tag is removed again. Pods then name it `registry:5000/kubelite/busybox:1`: the
same repository seen from inside the cluster. A registry host already in IMAGE is replaced.
"""

from __future__ import annotations

from typing import Any

import docker
import docker.errors
import typer

from cli.errors import CLIError

app = typer.Typer(help="Put local images into the cluster's registry.", no_args_is_help=True)

DEFAULT_REGISTRY = "127.0.0.1:5000"
DEFAULT_CLUSTER_REGISTRY = "registry:5000"


def split_reference(image: str) -> tuple[str, str]:
    """`(repository path without registry host, tag)`; the tag defaults to `latest`. Digests are refused."""
    if "@" in image:
        raise CLIError(f"image {image!r}: digest references cannot be tagged; name a tag")
    name, tag = image, "latest"
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = image.rsplit(":", 1)
    first, sep, rest = name.partition("/")
    # A first component with a dot, a port or "localhost" is a registry host (Docker's own rule).
    if sep and ("." in first or ":" in first or first == "localhost"):
        name = rest
    if not name or not tag:
        raise CLIError(f"invalid image reference {image!r}")
    return name, tag


def _push_errors(lines: Any) -> list[str]:
    return [
        str(line.get("error") or line.get("errorDetail"))
        for line in lines
        if isinstance(line, dict) and ("error" in line or "errorDetail" in line)
    ]


def load_image(client: docker.DockerClient, image: str, registry: str, cluster_registry: str) -> str:
    """Push `image` (present in `client`'s engine) to `registry`; return the name pods use."""
    try:
        local = client.images.get(image)
    except docker.errors.ImageNotFound:
        raise CLIError(f"image {image!r} is not present in the local Docker engine") from None
    path, tag = split_reference(image)
    target = f"{registry}/{path}"
    local.tag(target, tag)
    try:
        errors = _push_errors(client.images.push(target, tag, stream=True, decode=True))
    except docker.errors.APIError as exc:
        raise CLIError(f"pushing {target}:{tag} failed: {exc.explanation or exc}") from exc
    finally:
        try:
            client.images.remove(f"{target}:{tag}", noprune=True)
        except docker.errors.APIError:
            pass  # the tag was the user's own already (IMAGE named this registry)
    if errors:
        raise CLIError(f"pushing {target}:{tag} failed: {errors[0]}")
    return f"{cluster_registry}/{path}:{tag}"


@app.command("load")
def load(
    images: list[str] = typer.Argument(..., metavar="IMAGE", help="local images, e.g. kubelite/busybox:1"),
    registry: str = typer.Option(
        DEFAULT_REGISTRY, "--registry", envvar="KUBELITE_REGISTRY", help="the registry as the host reaches it"
    ),
    cluster_registry: str = typer.Option(
        DEFAULT_CLUSTER_REGISTRY,
        "--cluster-registry",
        envvar="KUBELITE_CLUSTER_REGISTRY",
        help="the same registry as the nodes reach it (printed: the image name for pod specs)",
    ),
) -> None:
    """Push local images into the cluster's registry and print the names pods use."""
    registry = registry.removeprefix("http://").removeprefix("https://").rstrip("/")
    try:
        client = docker.from_env()
    except docker.errors.DockerException as exc:
        raise CLIError(f"cannot reach the local Docker engine: {exc}") from exc
    try:
        for image in images:
            name = load_image(client, image, registry, cluster_registry)
            typer.echo(f"{image} loaded: use image {name}")
    finally:
        client.close()
