"""Image pull policy: make a container's image present, or say why not (the waiting reasons of Kubernetes).

    IfNotPresent   pull only when missing (the default, except for :latest or untagged images)
    Always         pull every time a container starts
    Never          never pull; a missing image is ErrImageNeverPull

A failed pull is ErrImagePull; while the image's back-off (10 s doubling to 300 s) runs, ImagePullBackOff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kubelet.backoff import CrashLoopBackoff
from kubelet.runtime.docker import DockerRuntime, RuntimeFailure, split_image_ref


@dataclass
class ImageResult:
    ok: bool
    reason: str = ""  # ErrImageNeverPull | ErrImagePull | ImagePullBackOff | InvalidImageName
    message: str = ""


def pull_policy(image: str, policy: str | None) -> str:
    if policy in ("Always", "IfNotPresent", "Never"):
        return policy
    _, tag = split_image_ref(image)
    return "Always" if tag == "latest" else "IfNotPresent"


class ImageManager:
    def __init__(self, runtime: DockerRuntime, backoff: CrashLoopBackoff) -> None:
        self.runtime = runtime
        self.backoff = backoff
        self._failed_at: dict[str, float] = {}

    async def ensure(
        self, image: str, policy: str | None, event: Callable[[str, str, str], None]
    ) -> ImageResult:
        """Make `image` present per `policy`. `event(type, reason, message)` records Pulling/Pulled/Failed/BackOff."""
        if not image or any(c.isspace() for c in image):
            return ImageResult(False, "InvalidImageName", f'Failed to apply default image tag "{image}"')
        policy = pull_policy(image, policy)
        present = await self.runtime.image_id(image)
        if policy == "Never":
            if present:
                return ImageResult(True)
            msg = f'Container image "{image}" is not present with pull policy of Never'
            event("Warning", "ErrImageNeverPull", msg)
            return ImageResult(False, "ErrImageNeverPull", msg)
        if policy == "IfNotPresent" and present:
            event("Normal", "Pulled", f'Container image "{image}" already present on machine')
            return ImageResult(True)
        key = ("image", image)
        remaining = self.backoff.remaining(key, self._failed_at.get(image, 0.0))
        if remaining > 0:
            msg = f'Back-off pulling image "{image}"'
            event("Normal", "BackOff", msg)
            return ImageResult(False, "ImagePullBackOff", msg)
        event("Normal", "Pulling", f'Pulling image "{image}"')
        try:
            await self.runtime.pull(image)
        except RuntimeFailure as exc:
            self.backoff.next(key)
            self._failed_at[image] = self.backoff.clock()
            msg = f'Failed to pull image "{image}": {exc}'
            event("Warning", "Failed", msg)
            return ImageResult(False, "ErrImagePull", msg)
        self.backoff.forget(key)
        event("Normal", "Pulled", f'Successfully pulled image "{image}"')
        return ImageResult(True)

    def retry_in(self, image: str) -> float:
        return self.backoff.remaining(("image", image), self._failed_at.get(image, 0.0))
