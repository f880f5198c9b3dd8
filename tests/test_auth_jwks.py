"""The cache of the issuer's signing keys: lifetime, rotation, refresh limits.

The keys come over HTTP from the test issuer; time is an injected clock.
"""

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.support.issuer import API_AUDIENCE, Issuer, running_issuer
from tracker.auth.jwks import KeySet
from tracker.auth.oidc import Issuer as IssuerDocuments
from tracker.config import JwtSettings
from tracker.errors import Unauthenticated, Unavailable

LIFETIME = 300.0
MIN_REFRESH = 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture
async def documents(issuer: Issuer) -> AsyncIterator[IssuerDocuments]:
    async with aiohttp.ClientSession() as session:
        yield IssuerDocuments(
            JwtSettings(issuer=issuer.url, audience=API_AUDIENCE), session
        )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keys(documents: IssuerDocuments, clock: Clock) -> KeySet:
    return KeySet(
        documents.jwks, lifetime=LIFETIME, min_refresh=MIN_REFRESH, clock=clock
    )


async def test_keys_are_fetched_once_while_they_are_fresh(
    keys: KeySet, issuer: Issuer, clock: Clock
) -> None:
    await keys.key(issuer.key.kid, "RS256")
    clock.now += LIFETIME - 1
    await keys.key(issuer.key.kid, "RS256")

    assert issuer.jwks_fetches == 1


async def test_keys_are_fetched_again_once_their_lifetime_is_over(
    keys: KeySet, issuer: Issuer, clock: Clock
) -> None:
    await keys.key(issuer.key.kid, "RS256")
    clock.now += LIFETIME

    await keys.key(issuer.key.kid, "RS256")

    assert issuer.jwks_fetches == 2


async def test_a_rotated_key_is_fetched_on_first_sight(
    keys: KeySet, issuer: Issuer, clock: Clock
) -> None:
    await keys.key(issuer.key.kid, "RS256")
    issuer.rotate()
    clock.now += MIN_REFRESH

    found = await keys.key(issuer.key.kid, "RS256")

    assert found.key_id == issuer.key.kid


async def test_unknown_key_ids_refetch_at_most_once_per_interval(
    keys: KeySet, issuer: Issuer, clock: Clock
) -> None:
    await keys.key(issuer.key.kid, "RS256")

    for attempt in range(5):
        clock.now += 1
        with pytest.raises(Unauthenticated, match="unknown key"):
            await keys.key(f"made-up-{attempt}", "RS256")

    assert issuer.jwks_fetches == 1


async def test_a_key_is_not_used_for_another_algorithm(
    keys: KeySet, issuer: Issuer
) -> None:
    with pytest.raises(Unauthenticated, match="unknown key"):
        await keys.key(issuer.key.kid, "ES256")


async def test_an_unreachable_issuer_with_nothing_cached_is_unavailable(
    documents: IssuerDocuments, clock: Clock
) -> None:
    async def unreachable() -> dict[str, object]:
        raise ConnectionError("connection refused")

    keys = KeySet(unreachable, lifetime=LIFETIME, min_refresh=MIN_REFRESH, clock=clock)

    with pytest.raises(Unavailable):
        await keys.key("any", "RS256")


async def test_cached_keys_stay_in_use_while_the_issuer_is_unreachable(
    issuer: Issuer, documents: IssuerDocuments, clock: Clock
) -> None:
    reachable = True

    async def fetch() -> dict[str, object]:
        if not reachable:
            raise ConnectionError("connection refused")
        return await documents.jwks()

    keys = KeySet(fetch, lifetime=LIFETIME, min_refresh=MIN_REFRESH, clock=clock)
    await keys.key(issuer.key.kid, "RS256")
    reachable = False
    clock.now += LIFETIME

    found = await keys.key(issuer.key.kid, "RS256")

    assert found.key_id == issuer.key.kid
