"""The link service on a real store: create, resolve (counting the click), read, delete;
an expired link and a taken alias answer as such, and every custom alias is paid for."""

import pytest

from leaky_app.links.alias_claims import AliasUnavailable, InsufficientCredits
from leaky_app.links.service import AliasNeedsOwner, LinkNotFound
from tests.conftest import InProcessApp


async def test_a_link_round_trip_counts_its_clicks(inproc: InProcessApp) -> None:
    links = inproc.app.state.services.links
    link = await links.create("https://shop.example/p/1", None, None)
    assert await links.resolve(link.code, referrer="https://news.example") == link.url
    assert await links.resolve(link.code) == link.url  # the second from the read cache
    assert (await links.get(link.code)).clicks == 2
    assert inproc.sample("leaky_app_redirects_total", {"result": "found"}) == 2
    await links.delete(link.code, link.management_key)
    with pytest.raises(LinkNotFound):
        await links.resolve(link.code)
    assert inproc.sample("leaky_app_redirects_total", {"result": "missing"}) == 1


async def test_a_taken_alias_is_refused_and_the_first_link_kept(inproc: InProcessApp) -> None:
    links = inproc.app.state.services.links
    first = await links.create("https://first.example", "sale", None, "a@example.org")
    with pytest.raises(AliasUnavailable):
        await links.create("https://second.example", "sale", None, "b@example.org")
    assert (await links.get("sale")).url == first.url


async def test_a_custom_alias_costs_its_owner_a_credit_on_any_route(inproc: InProcessApp) -> None:
    links = inproc.app.state.services.links
    claims = inproc.app.state.services.alias_claims
    owner = "spender@example.org"
    with pytest.raises(AliasNeedsOwner):
        await links.create("https://free.example", "free", None)
    for n in range(claims.starting_credits):
        await links.create("https://paid.example", f"paid-{n}", None, owner)
    assert await claims.balance(owner) == 0
    with pytest.raises(InsufficientCredits):
        await links.create("https://paid.example", "one-too-many", None, owner)
    assert await links.store.get("one-too-many") is None
    assert await links.store.get("free") is None


async def test_an_expired_link_is_not_followed(inproc: InProcessApp) -> None:
    links = inproc.app.state.services.links
    link = await links.create("https://old.example", None, ttl_seconds=0)
    with pytest.raises(LinkNotFound, match="expired"):
        await links.resolve(link.code)
    assert inproc.sample("leaky_app_redirects_total", {"result": "expired"}) == 1
