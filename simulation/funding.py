"""Gas money for the prosumer accounts (R14): how much each needs, and the transfers from the funder.

Each prosumer gets the gas its planned transactions need (`doctor.planned_needs`: register, one
answer per request, renegotiations), with the gas margin, at today's max fee, times a headroom for
base-fee rises and unplanned transactions. An account that already holds that much gets nothing.
The funder's balance is checked before anything is spent.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from contracts.chain import Chain
from contracts.errors import InsufficientFunds
from contracts.sender import Sender
from simulation.doctor import GAS, planned_needs
from simulation.scenario import Scenario

log = logging.getLogger(__name__)

HEADROOM = 3  # x the planned gas: base-fee rises, declines, renewals; unused gas stays in the account


@dataclass(frozen=True)
class FundingPlan:
    per_prosumer_wei: int  # what each prosumer account should hold
    transfer_wei: int  # what one transfer costs the funder at most

    def top_ups(self, balances: Sequence[int]) -> list[int]:
        """What to send each account: nothing to one that holds enough, else the difference."""
        return [0 if b >= self.per_prosumer_wei else self.per_prosumer_wei - b for b in balances]

    def cost(self, top_ups: Sequence[int]) -> int:
        """What the funder spends on these top-ups, transfer fees included."""
        return sum(top_ups) + self.transfer_wei * sum(1 for t in top_ups if t)


def plan_funding(scenario: Scenario, gas_margin: float, max_fee_per_gas: int) -> FundingPlan:
    per_gas = planned_needs(scenario, redeploy=False).per_prosumer_gas
    per = math.ceil(per_gas * gas_margin * HEADROOM * max_fee_per_gas)
    return FundingPlan(per_prosumer_wei=per, transfer_wei=GAS["fund_transfer"] * max_fee_per_gas)


def native(wei: int) -> str:
    return f"{wei / 10**18:.6f}"


def check_funder(chain: Chain, funder: str, need: int, what: str) -> None:
    """Fails before anything is spent when the funder cannot pay `need` wei."""
    have = chain.balance(funder)
    if have < need:
        raise InsufficientFunds(
            f"funder {funder} has {native(have)} native tokens on chain {chain.chain_id}, {what} need "
            f"about {native(need)}: send it {native(need - have)} more ({chain.faucet_hint()})"
        )


def fund(funder: Sender, plan: FundingPlan, addresses: Sequence[str], progress: Callable[[str], None]) -> int:
    """Tops up every account to `plan.per_prosumer_wei`; returns how many were funded."""
    chain = funder.chain
    top_ups = plan.top_ups([chain.balance(a) for a in addresses])
    todo = [(a, wei) for a, wei in zip(addresses, top_ups, strict=True) if wei]
    check_funder(chain, funder.address, plan.cost(top_ups), f"{len(todo)} prosumer accounts")
    progress(
        f"funding {len(todo)} prosumer accounts from {funder.address} with up to "
        f"{native(plan.per_prosumer_wei)} each for gas (R14); {len(addresses) - len(todo)} hold enough"
    )
    hashes = [funder.submit_value(a, wei) for a, wei in todo]
    for h in hashes:
        funder.wait(h, "funding transfer")
    return len(todo)
