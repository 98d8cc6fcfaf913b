"""Small network facts every component may need."""

from __future__ import annotations

import argparse
import ipaddress
import socket


def default_route_source() -> str | None:
    """The local address of the default route (what other machines and pods reach this one at), or None.

    A UDP connect only selects the route: no packet is sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 9))
        except OSError:
            return None
        address = str(s.getsockname()[0])
    return None if ipaddress.ip_address(address).is_unspecified else address


def ip_argument(text: str) -> str:
    """An argparse `type=` for a flag that takes one IP address (v4 or v6), normalized."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {text!r}") from None
