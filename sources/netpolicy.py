"""The address rule for captures: which URLs may be fetched and which resolved addresses are public.

Use `policy.check_url(url)` then `policy.resolve(host, port)`; both raise `CaptureRefused` with the reason.
"""

import ipaddress
import socket
from collections.abc import Callable, Iterable

import httpx

from sources.errors import CaptureFailed, CaptureRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

ALLOWED_SCHEMES = ("http", "https")
ALLOWED_PORTS = (80, 443)
DEFAULT_PORTS = {"http": 80, "https": 443}


def _ranges(*pairs: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(cidr), reason) for cidr, reason in pairs)


# Checked in order, so a range comes before any wider one that contains it. Written out rather than
# left to `is_global`, whose tables change between Python releases (3.11 calls 64:ff9b:1::/48 global).
_IPV4_RANGES = _ranges(
    ("0.0.0.0/32", "the unspecified address"),
    ("0.0.0.0/8", 'in 0.0.0.0/8 ("this network")'),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a shared (CGNAT) address"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol assignment"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a 6to4 relay anycast address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("255.255.255.255/32", "the broadcast address"),
    ("240.0.0.0/4", "a reserved address"),
)
_IPV6_RANGES = _ranges(
    ("::/128", "the unspecified address"),
    ("::1/128", "a loopback address"),
    ("::/96", "a deprecated IPv4-compatible address"),
    ("64:ff9b:1::/48", "a local-use NAT64 address"),
    ("100::/64", "a discard-only address"),
    ("2001::/32", "a Teredo tunnelling address"),
    ("2001::/23", "an IETF protocol assignment"),
    ("2001:db8::/32", "a documentation address"),
    ("3fff::/20", "a documentation address"),
    ("fc00::/7", "a private (unique local) address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a deprecated site-local address"),
    ("ff00::/8", "a multicast address"),
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, each with the name of the form that carries it."""
    if ip.ipv4_mapped is not None:
        return [("an IPv4-mapped form", ip.ipv4_mapped)]
    if ip in _NAT64:
        return [("a NAT64 form", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))]
    if ip.sixtofour is not None:
        return [("a 6to4 form", ip.sixtofour)]
    if ip.teredo is not None:
        server, client = ip.teredo
        return [("a Teredo form", client), ("a Teredo form", server)]
    return []


def why_not_public(ip: IPAddress) -> str | None:
    """Say why `ip` is not a public address ("a loopback address"), or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        for form, embedded in _embedded_ipv4(ip):
            reason = why_not_public(embedded)
            if reason is not None:
                return f"{form} of {embedded} ({reason})"
        if ip.ipv4_mapped is not None or ip in _NAT64:
            # Both reach exactly the embedded IPv4 address, which was public.
            return None
        ranges = _IPV6_RANGES
    else:
        ranges = _IPV4_RANGES
    for network, reason in ranges:
        if ip in network:
            return reason
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST:
        return "a reserved address (outside global unicast 2000::/3)"
    if not ip.is_global:
        # A backstop for ranges registered after the tables above were written.
        return "an address that is not globally reachable"
    return None


def resolve_with_getaddrinfo(host: str, port: int) -> list[str]:
    """Resolve `host` once with the system resolver; the addresses in its order, without repeats."""
    addresses: list[str] = []
    for family, _type, _proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])  # already a str for AF_INET and AF_INET6, the families kept
        if family in (socket.AF_INET, socket.AF_INET6) and address not in addresses:
            addresses.append(address)
    return addresses


class AddressPolicy:
    """The capture rule: http(s) on ports 80/443 to public addresses only, except `allowed_networks`."""

    def __init__(self, allowed_networks: Iterable[str] = (), resolver: Resolver | None = None) -> None:
        # strict=False so "127.0.0.1/8" from an environment variable means 127.0.0.0/8, not a crash.
        self.allowed_networks: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(cidr.strip(), strict=False) for cidr in allowed_networks if cidr.strip()
        )
        self._resolver = resolver or resolve_with_getaddrinfo

    def check_url(self, url: str) -> tuple[str, int, str]:
        """Check scheme, credentials, host and port; return (scheme, port, ASCII host without brackets).

        A port other than 80/443 can only pass when allowed networks are configured; `resolve` then
        requires every address to be inside one, since only after resolving is the address known.
        """
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise CaptureRefused(f"Refused: {url!r} is not a valid URL.") from exc
        if parsed.scheme not in ALLOWED_SCHEMES:
            shown = f"{parsed.scheme}:" if parsed.scheme else "a URL without a scheme"
            raise CaptureRefused(f"Refused: only http and https URLs are captured, not {shown}.")
        if parsed.userinfo:
            raise CaptureRefused("Refused: the URL carries a user name or password.")
        host = parsed.raw_host.decode("ascii")
        if not host:
            raise CaptureRefused("Refused: the URL has no host.")
        port = parsed.port or DEFAULT_PORTS[parsed.scheme]
        if port not in ALLOWED_PORTS and not self.allowed_networks:
            # An address literal needs no lookup, and its address is the more telling reason.
            self._check_literal(host)
            raise CaptureRefused(_port_refusal(port))
        return parsed.scheme, port, host

    def resolve(self, host: str, port: int) -> list[str]:
        """Resolve `host` once and return its addresses; refuse if any of them is not public."""
        try:
            addresses = self._resolver(host, port)
        except (OSError, UnicodeError) as exc:
            cause = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CaptureFailed(f"Could not resolve {host}: {cause}.") from exc
        if not addresses:
            raise CaptureFailed(f"Could not resolve {host}: no addresses.")
        for address in addresses:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError as exc:
                raise CaptureRefused(f"Refused: {host} resolved to {address!r}, not an IP address.") from exc
            if self._is_allowed(ip):
                continue
            reason = why_not_public(ip)
            if reason is not None:
                raise CaptureRefused(f"Refused: {_named(host, ip)}{reason}, not a public one.")
        if port not in ALLOWED_PORTS and not all(
            self._is_allowed(ipaddress.ip_address(a)) for a in addresses
        ):
            raise CaptureRefused(_port_refusal(port))
        return addresses

    def is_public(self, ip: str) -> bool:
        """True when `ip` is a public address under the rule (the allowed networks do not count here)."""
        try:
            return why_not_public(ipaddress.ip_address(ip)) is None
        except ValueError:
            return False

    def _check_literal(self, host: str) -> None:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return
        reason = None if self._is_allowed(ip) else why_not_public(ip)
        if reason is not None:
            raise CaptureRefused(f"Refused: {ip} is {reason}, not a public one.")

    def _is_allowed(self, ip: IPAddress) -> bool:
        return any(ip in network for network in self.allowed_networks)


def _named(host: str, ip: IPAddress) -> str:
    """The sentence's start: '127.0.0.1 is ' for a literal, 'localhost resolves to 127.0.0.1, ' for a name."""
    try:
        literal = ipaddress.ip_address(host) == ip
    except ValueError:
        literal = False
    return f"{ip} is " if literal else f"{host} resolves to {ip}, "


def _port_refusal(port: int) -> str:
    return f"Refused: port {port} is not allowed; captures use port 80 or 443."
