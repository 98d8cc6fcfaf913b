"""Host processes of `kctl up`: several components in one interpreter (componenthost/__main__.py)."""
