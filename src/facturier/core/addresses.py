"""The client's network address behind reverse proxies, and the key it is throttled under.

Each reverse proxy appends the address of its peer to X-Forwarded-For, so behind N trusted
proxies the client is the Nth address from the right: the one the outermost proxy saw. What is
further left was written by the client and proves nothing. A header that is missing, too short
or not an address (garbage, a probe) gives the peer's own address, which nobody can forge.

>>> client_address("10.0.0.2", "203.0.113.7", trusted_proxies=1)
'203.0.113.7'
>>> client_address("10.0.0.2", "1.1.1.1, 203.0.113.7", trusted_proxies=1)  # 1.1.1.1: made up
'203.0.113.7'
>>> client_address("10.0.0.2", "1.1.1.1, 203.0.113.7, 10.0.0.1", trusted_proxies=2)
'203.0.113.7'
>>> client_address("203.0.113.7", "1.1.1.1", trusted_proxies=0)  # no proxy: the header lies
'203.0.113.7'
>>> client_address("10.0.0.2", "not an address", trusted_proxies=1)
'10.0.0.2'
>>> client_address("10.0.0.2", "203.0.113.7", trusted_proxies=2)  # too short: a direct hit
'10.0.0.2'
>>> throttle_key("2001:db8:1:2:3:4:5:6")
'2001:db8:1:2::/64'
"""

from __future__ import annotations

import ipaddress

# A client that owns an IPv6 network usually owns a whole /64: one key for all of it.
IPV6_PREFIX = 64
UNKNOWN = "unknown"
_MAX_LENGTH = 100  # longer than any written address, with a port and a zone


def parse_address(text: str) -> str | None:
    """The address in `text`, written the canonical way, or None when it is none.

    A port ("203.0.113.7:5123", "[2001:db8::1]:443") is dropped; an IPv4 address mapped
    into IPv6 is the IPv4 address.

    >>> parse_address(" 203.0.113.7:5123 ")
    '203.0.113.7'
    >>> parse_address("[2001:DB8::1]:443")
    '2001:db8::1'
    >>> parse_address("::ffff:203.0.113.7")
    '203.0.113.7'
    >>> parse_address("unknown") is None, parse_address("") is None, parse_address("1.2.3") is None
    (True, True, True)
    """
    text = text.strip()
    if not text or len(text) > _MAX_LENGTH:
        return None
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def client_address(remote_addr: str, forwarded_for: str, *, trusted_proxies: int) -> str:
    """The client's address, from the peer's and the X-Forwarded-For header's (see above)."""
    peer = parse_address(remote_addr) or UNKNOWN
    if trusted_proxies <= 0:
        return peer
    hops = forwarded_for.split(",")
    if len(hops) < trusted_proxies:
        return peer
    return parse_address(hops[-trusted_proxies]) or peer


def throttle_key(address: str) -> str:
    """What attempts from `address` are counted under: the address, or its IPv6 /64.

    >>> throttle_key("203.0.113.7"), throttle_key("unknown")
    ('203.0.113.7', 'unknown')
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{parsed}/{IPV6_PREFIX}", strict=False))
    return address
