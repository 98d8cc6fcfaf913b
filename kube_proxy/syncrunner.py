"""The bounded-frequency sync runner: moved to apimachinery.syncrunner, which the network policy agent shares."""

from apimachinery.syncrunner import SyncRunner

__all__ = ["SyncRunner"]
