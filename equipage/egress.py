"""Where a workflow's HTTP requests may go: public addresses, or what the owner configured.

A URL from outside (a link in an API's answer, a redirect) could point a fetch at the
machine itself, the local network or a cloud metadata service (169.254.169.254). Every
request and every redirect hop goes through ``Egress``: an origin the owner configured
(a base URL in company.yaml or on their command line) is reached as it is; any other host
must resolve to public addresses only (IPv4 and IPv6, IPv4 hidden in IPv6 included), and
a redirect may not leave the host it came from. A refusal is ``OffLimits``, said before
any byte is sent.

The address is checked when the request is made; the HTTP client resolves the name again
to connect, so a name whose DNS answer changes in between (rebinding) is not covered here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

import httpx

from equipage.errors import OffLimits

__all__ = ["Egress", "is_public_address"]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated IPv4-compatible addresses
_PORTS = {"http": 80, "https": 443}


def is_public_address(address: str) -> bool:
    """True when ``address`` (an IP, v4 or v6) is a global unicast one, whatever it hides."""
    ip = ipaddress.ip_address(address.partition("%")[0])  # drop an IPv6 zone (fe80::1%eth0)
    if isinstance(ip, ipaddress.IPv6Address):
        hidden = ip.ipv4_mapped or ip.sixtofour
        if hidden is None and (ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1)):
            hidden = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if hidden is not None and not is_public_address(str(hidden)):
            return False
    return ip.is_global and not ip.is_multicast


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return (url.scheme, url.host, url.port or _PORTS.get(url.scheme, 0))


class Egress:
    """Checks and sends requests: configured origins pass, other hosts must be public."""

    def __init__(self, configured: Iterable[str] = (), *, max_redirects: int = 5) -> None:
        self.configured = frozenset(_origin(httpx.URL(url)) for url in configured if url)
        self.max_redirects = max_redirects
        self._public: set[tuple[str, int]] = set()  # checked already: one run, many notices

    async def check(self, url: httpx.URL) -> None:
        """OffLimits unless ``url`` is a configured origin or a public http(s) host."""
        if _origin(url) in self.configured:
            return
        host = url.host
        if url.scheme not in _PORTS or not host:
            raise OffLimits(f"{url} is not an http(s) URL", why="private", target=host or str(url))
        port = url.port or _PORTS[url.scheme]
        if (host, port) in self._public:
            return
        for address in await _addresses(host, port):
            if not is_public_address(address):
                raise OffLimits(
                    f"{host} resolves to {address}, a private or local address; only a base "
                    "URL set in company.yaml (or by the owner's command line) may be one",
                    why="private",
                    target=host,
                )
        self._public.add((host, port))

    async def send(self, client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
        """Send ``request``, following redirects on the same host only, each hop checked."""
        await self.check(request.url)
        response = await client.send(request, follow_redirects=False)
        for _ in range(self.max_redirects):
            hop = response.next_request
            if hop is None:
                return response
            await response.aclose()
            if hop.url.host != request.url.host:
                raise OffLimits(
                    f"{request.url.host} redirected to another host, {hop.url.host}; "
                    "a redirect is followed on the same host only",
                    why="redirect",
                    target=hop.url.host,
                )
            await self.check(hop.url)
            request = hop
            response = await client.send(request, follow_redirects=False)
        if response.next_request is None:
            return response
        await response.aclose()
        raise httpx.TooManyRedirects(f"more than {self.max_redirects} redirects", request=request)


async def _addresses(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]  # an IP literal: nothing to resolve
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        # Unresolvable here is unreachable for the client too: a connection problem.
        raise httpx.ConnectError(f"cannot resolve {host}: {err.strerror}") from err
    return [str(info[4][0]) for info in found]
