"""The local test images (built by apimachinery.localimages, which `kctl up` uses too)."""

from apimachinery.localimages import BUSYBOX_IMAGE, PAUSE_IMAGE, ensure_images

__all__ = ["BUSYBOX_IMAGE", "PAUSE_IMAGE", "ensure_images"]

if __name__ == "__main__":
    ensure_images()
    print(BUSYBOX_IMAGE, PAUSE_IMAGE)
