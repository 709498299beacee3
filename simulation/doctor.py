"""`flexsim doctor`: checks a chain before a run and says what to do about each failure.

Checks: the RPC answers; the chain id is the expected one; the latest block, its gas limit and base
fee; that the chain runs London bytecode (BASEFEE) and whether it has Shanghai's PUSH0 (it must not
be needed: flexsim compiles for London); and the deployer's and funder's balances against what the
planned run needs, estimated from the gas each operation costs (see `flexsim bench gas`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_account import Account
from web3.exceptions import Web3Exception

from base.errors import FlexsimError
from contracts.chain import VOLTA_FAUCET, Chain
from contracts.settings import ChainSettings
from simulation.scenario import Scenario

# gas per operation, from `flexsim bench gas` (London, 8M block gas limit)
GAS = {
    "deploy": 4_800_000,
    "register": 132_000,
    "accept": 60_000,
    "renegotiate": 53_000,
    "open_request": 87_000,
    "settle_per_participant": 28_000,
    "finalise": 69_000,  # finaliseAnchored: a request with deliveries settles only with its anchor
    "fund_transfer": 21_000,
}
# code run by eth_call as a contract creation: BASEFEE POP STOP (London) / PUSH0 POP STOP (Shanghai)
LONDON_PROBE = "0x485000"
SHANGHAI_PROBE = "0x5f5000"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"{mark} {self.name}: {self.detail}" + (f" -> {self.fix}" if not self.ok and self.fix else "")


@dataclass(frozen=True)
class Needs:
    deployer_gas: int
    funder_gas: int  # the funder's own transfers plus the gas it gives the prosumers
    per_prosumer_gas: int


def planned_needs(s: Scenario, redeploy: bool = True) -> Needs:
    """Gas the run needs, per account role, from the scenario."""
    n = s.population.count
    requests = s.requests.max_count or max(1, int(s.duration_s / 3600 * s.requests.rate_per_hour))
    renegotiations = max(1, int(s.duration_s / 3600 * s.incidents.renegotiation_rate_per_hour * 2))
    per_prosumer = GAS["register"] + requests * GAS["accept"] + renegotiations * GAS["renegotiate"]
    aggregator = requests * (GAS["open_request"] + GAS["finalise"] + n * GAS["settle_per_participant"])
    deployer = (GAS["deploy"] if redeploy else 0) + aggregator  # the deployer is the aggregator
    return Needs(deployer, n * (GAS["fund_transfer"] + per_prosumer), per_prosumer)


def run_checks(
    rpc_url: str, settings: ChainSettings, scenario: Scenario | None, expected_chain_id: int | None
) -> list[Check]:
    checks: list[Check] = []
    try:
        chain = Chain(rpc_url, retries=1)
    except FlexsimError as exc:
        return [
            Check("reachable", False, str(exc), "check the URL and your network, or start `flexsim chain`")
        ]
    checks.append(Check("reachable", True, rpc_url))
    expected = expected_chain_id if expected_chain_id is not None else settings.chain_id
    if expected is None:
        checks.append(Check("chain id", True, f"{chain.chain_id} (no expected id given)"))
    else:
        checks.append(
            Check(
                "chain id",
                chain.chain_id == expected,
                f"{chain.chain_id}, expected {expected}",
                "point --rpc-url at the right network (Volta is 73799) or fix CHAIN_CHAIN_ID",
            )
        )
    block = chain.w3.eth.get_block("latest")
    base_fee = int(block.get("baseFeePerGas") or 0)
    checks.append(
        Check(
            "latest block",
            True,
            f"#{block['number']}, gas limit {block['gasLimit']:,}, "
            f"base fee {Decimal(base_fee) / 10**9:.4f} gwei",
        )
    )
    checks.append(
        Check(
            "gas limit",
            block["gasLimit"] >= 6_500_000,
            f"{block['gasLimit']:,} (a 200-prosumer settlement batch needs ~5.5M)",
            "lower AGGREGATOR_SETTLE_BATCH to fit the chain's blocks",
        )
    )
    london = _runs(chain, LONDON_PROBE)
    checks.append(
        Check(
            "London bytecode",
            london,
            "BASEFEE runs" if london else "BASEFEE is rejected",
            "use a London chain",
        )
    )
    shanghai = _runs(chain, SHANGHAI_PROBE)
    checks.append(
        Check(
            "PUSH0",
            True,
            "present (Shanghai); not needed"
            if shanghai
            else "absent (pre-Shanghai): flexsim compiles for London",
        )
    )
    if scenario is not None:
        checks += _balances(chain, settings, scenario)
    return checks


def _runs(chain: Chain, code: str) -> bool:
    try:
        chain.w3.eth.call({"data": code})  # type: ignore[typeddict-item]
        return True
    except (Web3Exception, ValueError):
        return False


def _balances(chain: Chain, settings: ChainSettings, scenario: Scenario) -> list[Check]:
    needs = planned_needs(scenario)
    price = chain.max_fee_per_gas()
    hint = chain.faucet_hint() if chain.chain_id != 73799 else f"get VT at {VOLTA_FAUCET}"
    out = []
    for role, key, gas in (
        ("deployer", settings.deployer_key, needs.deployer_gas),
        ("funder", settings.funder_key, needs.funder_gas),
    ):
        if key is None:
            out.append(
                Check(f"{role} balance", False, "no key set", f"set CHAIN_{role.upper()}_KEY to a funded key")
            )
            continue
        address = Account.from_key(key.get_secret_value()).address
        balance, need = chain.balance(address), gas * price
        out.append(
            Check(
                f"{role} balance",
                balance >= need,
                f"{address} has {_native(balance)}, the '{scenario.name}' run needs about {_native(need)}",
                f"send it {_native(need - balance)} more ({hint})",
            )
        )
    return out


def _native(wei: int) -> str:
    return f"{Decimal(wei) / 10**18:.6f}"


def report(checks: list[Check]) -> tuple[str, bool]:
    ok = all(c.ok for c in checks)
    verdict = "ready" if ok else "NOT ready: fix the FAIL lines above"
    return "\n".join([*(c.line() for c in checks), verdict]), ok


def as_json(checks: list[Check]) -> list[dict[str, Any]]:
    return [c.__dict__ for c in checks]
