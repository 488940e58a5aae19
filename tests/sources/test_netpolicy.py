"""Tests for sources/netpolicy.py: the URL checks and the public-address rule, with no network at all.

Names are resolved by an injected resolver, so nothing here looks anything up or connects.
"""

import socket

import pytest

from sources.errors import CaptureFailed, CaptureRefused
from sources.netpolicy import AddressPolicy


def fixed(*addresses: str):
    """A resolver that answers every name with `addresses` and counts its calls."""
    calls: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return list(addresses)

    resolver.calls = calls  # type: ignore[attr-defined]
    return resolver


@pytest.mark.parametrize(
    ("ip", "public"),
    [
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("2a00:1450:4001:80b::200e", True),
        ("::ffff:8.8.8.8", True),  # the mapped form of a public address is that address
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("2002:808:808::1", True),  # 6to4 of 8.8.8.8
        ("127.0.0.1", False),
        ("127.255.255.254", False),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("172.31.255.255", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("100.127.255.255", False),
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("0.0.0.0", False),
        ("0.1.2.3", False),
        ("192.0.0.8", False),
        ("192.0.2.1", False),
        ("198.51.100.1", False),
        ("203.0.113.1", False),
        ("198.18.0.1", False),
        ("198.19.255.255", False),
        ("::", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.1.2.3", False),
        ("::127.0.0.1", False),  # deprecated IPv4-compatible form
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("fe80::1", False),
        ("fec0::1", False),
        ("ff02::1", False),
        ("2001:db8::1", False),
        ("3fff::1", False),
        ("100::1", False),
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b:1::808:808", False),  # local-use NAT64 prefix
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:c0a8:101::1", False),  # 6to4 of 192.168.1.1
        ("2001:0:404:404::f5ff:fffe", False),  # Teredo, client 10.0.0.1
        ("2001:0:808:808::f7f7:f7f7", False),  # Teredo with public addresses: still a tunnel
        ("2001:10::1", False),
        ("4000::1", False),  # outside 2000::/3
        ("not an address", False),
        ("", False),
    ],
)
def test_is_public(ip: str, public: bool) -> None:
    assert AddressPolicy().is_public(ip) is public


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com/", ("http", 80, "example.com")),
        ("https://example.com/a?b=c", ("https", 443, "example.com")),
        ("http://example.com:80/", ("http", 80, "example.com")),
        ("https://example.com:443/", ("https", 443, "example.com")),
        ("HTTPS://Example.COM/", ("https", 443, "example.com")),
        ("https://bücher.de/", ("https", 443, "xn--bcher-kva.de")),
        ("http://[2606:4700::1111]/", ("http", 80, "2606:4700::1111")),
    ],
)
def test_check_url_accepts_http_and_https_on_80_and_443(url: str, expected: tuple[str, int, str]) -> None:
    assert AddressPolicy().check_url(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "not file:"),
        ("ftp://example.com/", "not ftp:"),
        ("gopher://example.com/", "not gopher:"),
        ("javascript:alert(1)", "not javascript:"),
        ("example.com/page", "without a scheme"),
        ("http://user:secret@example.com/", "user name or password"),
        ("http://user@example.com/", "user name or password"),
        ("http:///path", "no host"),
        ("http://example.com:8080/", "port 8080"),
        ("https://example.com:8443/", "port 8443"),
        ("http://example.com:22/", "port 22"),
        ("http://[::1/", "not a valid URL"),
        ("http://example.com:99999/", "port 99999"),
    ],
)
def test_check_url_refuses(url: str, reason: str) -> None:
    with pytest.raises(CaptureRefused, match=reason):
        AddressPolicy().check_url(url)


def test_other_port_on_an_address_literal_names_the_address() -> None:
    with pytest.raises(CaptureRefused, match=r"127\.0\.0\.1 is a loopback address"):
        AddressPolicy().check_url("http://127.0.0.1:8080/")
    with pytest.raises(CaptureRefused, match="port 8080"):
        AddressPolicy().check_url("http://8.8.8.8:8080/")


def test_check_url_defers_other_ports_to_resolve_when_networks_are_allowed() -> None:
    policy = AddressPolicy(["127.0.0.2/32"], resolver=fixed("127.0.0.2"))
    assert policy.check_url("http://news.example:8080/") == ("http", 8080, "news.example")
    assert policy.resolve("news.example", 8080) == ["127.0.0.2"]


def test_other_port_refused_for_a_public_address_even_with_allowed_networks() -> None:
    policy = AddressPolicy(["127.0.0.2/32"], resolver=fixed("93.184.216.34"))
    with pytest.raises(CaptureRefused, match="port 8080"):
        policy.resolve("example.com", 8080)


def test_resolve_returns_public_addresses_and_resolves_once() -> None:
    resolver = fixed("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    policy = AddressPolicy(resolver=resolver)
    assert policy.resolve("example.com", 443) == ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]
    assert resolver.calls == [("example.com", 443)]


def test_resolve_refuses_when_any_address_is_not_public() -> None:
    policy = AddressPolicy(resolver=fixed("93.184.216.34", "10.0.0.7"))
    with pytest.raises(CaptureRefused, match=r"news\.example resolves to 10\.0\.0\.7, a private address"):
        policy.resolve("news.example", 80)


def test_allowed_networks_exempt_only_their_addresses() -> None:
    policy = AddressPolicy(["127.0.0.0/8", " ::1/128 "], resolver=fixed("127.0.0.5", "::1"))
    assert policy.resolve("intranet", 80) == ["127.0.0.5", "::1"]
    policy = AddressPolicy(["127.0.0.0/8"], resolver=fixed("127.0.0.5", "::1"))
    with pytest.raises(CaptureRefused, match="intranet resolves to ::1, a loopback address"):
        policy.resolve("intranet", 80)


def test_resolver_failure_is_a_capture_failure_not_a_crash() -> None:
    def failing(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(CaptureFailed, match=r"Could not resolve nowhere\.example: Name or service not known"):
        AddressPolicy(resolver=failing).resolve("nowhere.example", 80)
    with pytest.raises(CaptureFailed, match="no addresses"):
        AddressPolicy(resolver=fixed()).resolve("empty.example", 80)


def test_a_resolver_answer_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(CaptureRefused, match="not an IP address"):
        AddressPolicy(resolver=fixed("localhost")).resolve("odd.example", 80)


def test_default_resolver_resolves_localhost_and_refuses_it() -> None:
    with pytest.raises(CaptureRefused, match=r"localhost resolves to .*a loopback address"):
        AddressPolicy().resolve("localhost", 80)


def test_invalid_allowed_network_fails_loudly() -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        AddressPolicy(["not-a-network"])
