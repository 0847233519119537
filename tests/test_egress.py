"""Egress: a workflow's requests reach public hosts or the origins the owner configured."""

from __future__ import annotations

import httpx
import pytest

from equipage.egress import Egress, is_public_address
from equipage.errors import OffLimits

NOT_PUBLIC = [
    "127.0.0.1",  # loopback
    "127.8.9.10",
    "10.1.2.3",  # private
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # link-local: cloud metadata
    "100.64.0.1",  # shared address space (carrier NAT)
    "0.0.0.0",  # unspecified
    "224.0.0.1",  # multicast
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",  # unique local
    "ff02::1",  # multicast
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_private_local_and_hidden_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_global_unicast_addresses_are_public(address: str) -> None:
    assert is_public_address(address)


class Recorder:
    """A mock transport that answers from a table and records what reached it."""

    def __init__(self, answers: dict[str, httpx.Response]) -> None:
        self.answers = answers
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(str(request.url))
        return self.answers.get(str(request.url), httpx.Response(404))


async def send(egress: Egress, recorder: Recorder, url: str) -> httpx.Response:
    transport = httpx.MockTransport(recorder)
    async with httpx.AsyncClient(transport=transport, follow_redirects=False) as client:
        return await egress.send(client, client.build_request("GET", url))


async def test_a_configured_private_origin_is_reached_and_an_unconfigured_one_is_not() -> None:
    recorder = Recorder({"http://127.0.0.1:8080/v3": httpx.Response(200)})
    egress = Egress(["http://127.0.0.1:8080"])
    assert (await send(egress, recorder, "http://127.0.0.1:8080/v3")).status_code == 200
    with pytest.raises(OffLimits) as refused:
        await send(egress, recorder, "http://127.0.0.1:8081/v3")
    assert refused.value.why == "private" and "company.yaml" in str(refused.value)
    assert recorder.seen == ["http://127.0.0.1:8080/v3"]


async def test_a_name_that_resolves_to_loopback_is_refused_before_anything_is_sent() -> None:
    recorder = Recorder({})
    with pytest.raises(OffLimits, match="resolves to"):
        await send(Egress(), recorder, "http://localhost:9/latest/meta-data")
    assert recorder.seen == []


async def test_a_redirect_to_another_public_host_is_refused_and_not_followed() -> None:
    moved = httpx.Response(302, headers={"location": "https://93.184.216.34/notice.xml"})
    recorder = Recorder({"https://8.8.8.8/search": moved})
    with pytest.raises(OffLimits) as refused:
        await send(Egress(), recorder, "https://8.8.8.8/search")
    assert refused.value.why == "redirect" and refused.value.target == "93.184.216.34"
    assert recorder.seen == ["https://8.8.8.8/search"]


async def test_a_redirect_on_the_same_host_is_followed_and_each_hop_checked() -> None:
    recorder = Recorder(
        {
            "https://8.8.8.8/a": httpx.Response(301, headers={"location": "/b"}),
            "https://8.8.8.8/b": httpx.Response(200, text="here"),
        }
    )
    response = await send(Egress(), recorder, "https://8.8.8.8/a")
    assert response.text == "here" and recorder.seen == ["https://8.8.8.8/a", "https://8.8.8.8/b"]


async def test_only_http_and_https_are_sent() -> None:
    with pytest.raises(OffLimits, match="not an http"):
        await Egress().check(httpx.URL("ftp://8.8.8.8/notices"))
