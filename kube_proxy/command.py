"""Running a host command: moved to apimachinery.hostcmd, which the network policy agent shares."""

from apimachinery.hostcmd import run_command

__all__ = ["run_command"]
