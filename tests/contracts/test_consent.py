"""Registration is a contract with the aggregator (issue 10, item 4): the aggregator's EIP-712 consent,
checked on chain, and terms bounded to sane ranges, so no outsider can skew the fair shares."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account

from contracts import errors
from contracts.consent import Consent, ConsentSigner, raises, typed_data_digest
from contracts.types import SourceKind
from tests.contracts.consent import grant
from tests.contracts.consent import register as consented_register
from tests.contracts.factories import DAY_S, make_terms
from tests.contracts.flows import open_request, register
from tests.contracts.reverts import reverts

pytestmark = pytest.mark.chain


def test_the_python_digest_is_the_contracts(registry, prosumer, clock):
    terms = make_terms(kind=SourceKind.CONSUMER, expected_wh_per_day=-9_000, tariff_down=7)
    expiry, nonce, deadline = clock.now() + DAY_S, 3, clock.now() + 600
    digest = registry.consent_digest(prosumer.address, terms, expiry, nonce, deadline)
    assert digest == typed_data_digest(
        registry.chain.w3.eth.chain_id, registry.address, prosumer.address, terms, expiry, nonce, deadline
    )


def test_a_consented_registration_uses_the_nonce_once(registry, prosumer, clock):
    terms, expiry = make_terms(), clock.now() + DAY_S
    consent = grant(registry, prosumer.address, terms, expiry)
    assert registry.consent_nonce(prosumer.address) == 0
    registry.register(prosumer, terms, expiry, consent)
    assert registry.consent_nonce(prosumer.address) == 1
    registry.remove(prosumer)
    with pytest.raises(errors.ConsentNotByAggregator):  # the same consent again: the nonce moved on
        registry.register(prosumer, terms, expiry, consent)
    assert not registry.is_active(prosumer.address)


def test_registering_without_consent_is_refused(registry, prosumer, stranger, clock):
    terms, expiry = make_terms(), clock.now() + DAY_S
    with reverts(errors.ConsentRequired, prosumer.address):
        registry.register(prosumer, terms, expiry, Consent.NONE)
    by_stranger = grant(registry, prosumer.address, terms, expiry, key=stranger.account.key)
    with reverts(errors.ConsentNotByAggregator, stranger.address, registry.aggregator()):
        registry.register(prosumer, terms, expiry, by_stranger)
    assert registry.totals() == (0, 0, 0)


def test_a_consent_covers_exactly_its_terms_account_and_deadline(registry, prosumers, clock):
    a, b = prosumers[:2]
    terms, expiry = make_terms(), clock.now() + DAY_S
    consent = grant(registry, a.address, terms, expiry)
    for who, t, e in [
        (a, replace(terms, flex_up_w=terms.flex_up_w + 1), expiry),  # other terms
        (a, terms, expiry + 1),  # another expiry
        (b, terms, expiry),  # another account
    ]:
        with pytest.raises(errors.ConsentNotByAggregator):
            registry.register(who, t, e, consent)
    late = grant(registry, a.address, terms, expiry, deadline=clock.now() + 5)
    clock.advance(10)
    with pytest.raises(errors.ConsentExpired) as info:
        registry.register(a, terms, expiry, late)
    assert info.value.error_args[0] == late.deadline < info.value.error_args[1]
    registry.register(a, terms, expiry, consent)
    assert registry.is_active(a.address)


def test_a_malleable_signature_is_refused(registry, prosumer, clock):
    terms, expiry = make_terms(), clock.now() + DAY_S
    c = grant(registry, prosumer.address, terms, expiry)
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    twin = Consent(c.deadline, 55 - c.v, c.r, (n - int.from_bytes(c.s, "big")).to_bytes(32, "big"))
    with reverts(errors.InvalidSignature):
        registry.register(prosumer, terms, expiry, twin)
    with reverts(errors.InvalidSignature):
        registry.register(prosumer, terms, expiry, replace(c, v=29))


def test_renegotiating_upwards_needs_consent_and_downwards_does_not(registry, prosumer, clock):
    terms, expiry = make_terms(), clock.now() + DAY_S
    consented_register(registry, prosumer, terms, expiry)
    lower = replace(terms, flex_up_w=1_000, tariff_up=terms.tariff_up - 1)
    registry.renegotiate(prosumer, lower, expiry)  # no consent needed to promise less
    assert registry.registration_of(prosumer.address).terms == lower
    for raised, new_expiry in [
        (replace(lower, flex_up_w=1_001), expiry),
        (replace(lower, tariff_up=terms.tariff_up), expiry),
        (replace(lower, capacity_w=9_000), expiry),
        (replace(lower, max_duration_s=7_200), expiry),
        (replace(lower, kind=SourceKind.WIND), expiry),
        (replace(lower, expected_wh_per_day=30_000), expiry),
        (lower, expiry + 1),  # a later expiry, i.e. a renewal
    ]:
        assert raises(lower, expiry, raised, new_expiry)
        with reverts(errors.ConsentRequired, prosumer.address):
            registry.renegotiate(prosumer, raised, new_expiry)
    assert not raises(lower, expiry, lower, expiry)
    raised = replace(lower, flex_up_w=3_000)
    registry.renegotiate(prosumer, raised, expiry + 1, grant(registry, prosumer.address, raised, expiry + 1))
    assert registry.registration_of(prosumer.address).terms == raised


def test_an_outsider_cannot_disable_the_fair_strategy(deployment, aggregator, prosumers, stranger, clock):
    """The audit's attack: a stranger registering a huge capacity made every honest share round to 0.
    Without the aggregator's consent it cannot register at all, and the registry caps what anyone can."""
    registry = deployment.registry
    honest = prosumers[:2]
    register(deployment, clock, honest)
    big = make_terms(capacity_w=100_000_000, flex_up_w=100_000_000, expected_wh_per_day=0)
    expiry = clock.now() + DAY_S
    with reverts(errors.ConsentRequired, stranger.address):
        registry.register(stranger, big, expiry, Consent.NONE)
    own = ConsentSigner(stranger.account.key, registry.address, registry.chain.w3.eth.chain_id)
    forged = own.sign(stranger.address, big, expiry, 0, clock.now() + 600)
    with reverts(errors.ConsentNotByAggregator, stranger.address, registry.aggregator()):
        registry.register(stranger, big, expiry, forged)
    huge = replace(big, capacity_w=4_000_000_000, flex_up_w=4_000_000_000)
    with reverts(errors.CapacityOutOfRange, 4_000_000_000, 100_000_000):  # not even with consent
        consented_register(registry, stranger, huge, expiry)
    assert registry.totals() == (4_000, 4_000, 2)
    rid, _ = open_request(deployment, aggregator, clock, 2_000)
    for p in honest:
        deployment.market.accept(p, rid)
    assert deployment.market.request(rid).committed_w == 2_000


BOUNDS = [
    pytest.param(dict(capacity_w=100_000_001, expected_wh_per_day=0), errors.CapacityOutOfRange,
                 (100_000_001, 100_000_000), id="capacity"),
    pytest.param(dict(capacity_w=1_000, flex_up_w=10, flex_down_w=10, expected_wh_per_day=24_001),
                 errors.ExpectedEnergyOutOfRange, (24_001, 24_000), id="expected-energy"),
    pytest.param(dict(expected_wh_per_day=-(2**39)), errors.ExpectedEnergyOutOfRange,
                 (-(2**39), 192_000), id="expected-energy-int40-min"),
    pytest.param(dict(max_duration_s=7 * DAY_S + 1), errors.DurationOutOfRange,
                 (7 * DAY_S + 1, 7 * DAY_S), id="duration"),
    pytest.param(dict(tariff_up=10**24 + 1), errors.TariffOutOfRange, (10**24 + 1, 10**24), id="tariff-up"),
    pytest.param(dict(tariff_down=2**88 - 1), errors.TariffOutOfRange, (2**88 - 1, 10**24), id="tariff-down"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "error", "args"), BOUNDS)
def test_terms_are_bounded_to_sane_ranges(registry, prosumer, clock, overrides, error, args):
    with reverts(error, *args):
        consented_register(registry, prosumer, make_terms(**overrides), clock.now() + DAY_S)
    assert registry.totals() == (0, 0, 0)


def test_the_expiry_is_at_most_five_years_ahead(registry, prosumer, clock):
    now = clock.now()
    too_far = now + 5 * 365 * DAY_S + 60
    with pytest.raises(errors.ExpiryTooFar):
        consented_register(registry, prosumer, make_terms(), too_far)
    consented_register(registry, prosumer, make_terms(), now + 5 * 365 * DAY_S - 60)
    assert registry.is_active(prosumer.address)


def test_the_int40_minimum_no_longer_panics_renegotiation(registry, prosumer, clock):
    """Issue 10 item 5: expectedWhPerDay at the int40 minimum made every later renegotiation panic."""
    consented_register(registry, prosumer, make_terms(), clock.now() + DAY_S)
    with pytest.raises(errors.ExpectedEnergyOutOfRange):
        registry.renegotiate(prosumer, make_terms(expected_wh_per_day=-(2**39)), clock.now() + 100)
    lower = make_terms(flex_up_w=1_000)
    registry.renegotiate(prosumer, lower, clock.now() + DAY_S - 100)
    assert registry.registration_of(prosumer.address).terms == lower


def test_consent_follows_the_aggregator_role(deployment, owner, aggregator, prosumers, clock):
    """After `setAggregator` only the new account's signature counts."""
    registry = deployment.registry
    new = Account.create()
    registry.set_aggregator(owner, new.address)
    a, b = prosumers[:2]
    terms, expiry = make_terms(), clock.now() + DAY_S
    by_old = grant(registry, a.address, terms, expiry, key=aggregator.account.key)
    with reverts(errors.ConsentNotByAggregator, aggregator.address, new.address):
        registry.register(a, terms, expiry, by_old)
    registry.register(b, terms, expiry, grant(registry, b.address, terms, expiry, key=new.key))
    assert registry.is_active(b.address)
