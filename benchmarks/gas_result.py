"""The shape of `flexsim bench gas --json` (`docs/schemas/gas.schema.json`): `GasResult`.

CI reads `targets` and `batch` (`.ci/run`). Every figure is a `gasUsed` from a mined receipt on a
London anvil with an 8,000,000 block gas limit.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from base.published import Part, Published
from benchmarks.machine import Machine
from benchmarks.targets import AtMost


class GasChain(Part):
    hardfork: str = Field(description="EVM rules of the chain measured on.")
    block_gas_limit: int = Field(description="Its block gas limit.")
    chain_id: int = Field(description="Its chain id.")


class Compiler(Part):
    solc: str = Field(description="solc version.")
    evm_version: str = Field(description="Target EVM version.")
    origin: str = Field(description="Where the compiler came from (native, py-solc-x, npm).")


class BatchAttempt(Part):
    batch: int = Field(description="Deliveries (or relayed answers) in the mined batch.")
    gas: int = Field(description="Its gas used.")


class GasFigures(Part):
    """Gas used per operation (median over prosumers where many did the same)."""

    deploy_Registry: int = Field(description="Deploying the Registry.")
    deploy_FlexToken: int = Field(description="Deploying the FlexToken.")
    deploy_FlexibilityMarket: int = Field(description="Deploying the FlexibilityMarket.")
    deploy_SettlementAnchor: int = Field(description="Deploying the SettlementAnchor.")
    register_: int = Field(
        alias="register", description="A registration with the aggregator's consent (median)."
    )
    register_first_of_deployment: int = Field(description="The first registration of the deployment.")
    renegotiate_up: int = Field(description="A renegotiation raising terms (with consent).")
    renegotiate_down: int = Field(description="A renegotiation lowering terms.")
    remove: int = Field(description="A prosumer removing its registration.")
    terminate: int = Field(description="The aggregator terminating a registration.")
    open_request: int = Field(description="Opening a fair request (steady state).")
    open_request_first_of_deployment: int = Field(description="The first request of the deployment.")
    accept: int = Field(description="A fair acceptance (median).")
    accept_up_to: int = Field(description="A fair acceptance with a limit for the top-up (median).")
    top_up_per_accepter: int = Field(description="The fair top-up round per accepter (one call for all).")
    top_up_accepters: int = Field(description="Accepters in that top-up call.")
    decline: int = Field(description="A decline with a reason.")
    cancel_request: int = Field(description="Cancelling a request before its start.")
    record_delivery_batch_150_total: int = Field(description="Recording a batch of 150 deliveries.")
    record_delivery_per_prosumer: int = Field(description="That batch per prosumer.")
    record_delivery_marginal_per_prosumer: int = Field(description="One more delivery in a batch.")
    finalise: int = Field(
        description="Finalising the recorded fair request of every prosumer, anchored (`finaliseAnchored`: "
        "a request with recorded deliveries cannot be finalised without its anchor)."
    )
    open_request_reputation: int = Field(description="Opening a reputation request.")
    apply: int = Field(description="A candidacy (median).")
    select_per_candidate: int = Field(description="Selection per ranked candidate (100 candidates).")
    select_100_candidates_total: int = Field(description="Ranking 100 candidates in one call.")
    record_delivery_per_prosumer_reputation: int = Field(description="Recording per selected prosumer.")
    token_transfer: int = Field(description="A token transfer to an existing holder.")
    token_transfer_to_new_holder: int = Field(description="A token transfer to a new holder.")
    token_approve: int = Field(description="An approval.")
    token_transfer_from: int = Field(description="A transferFrom.")
    token_redeem: int = Field(description="Redeeming (burning) tokens.")
    finalise_unanchored: int = Field(
        description="Plain `finalise` of a reputation request without participants (the baseline: "
        "plain `finalise` refuses a request with recorded deliveries)."
    )
    finalise_anchored: int = Field(
        description="Finalising the recorded reputation request (60 participants) with its settlement "
        "root (`finaliseAnchored`: root stored and emitted)."
    )
    anchor_extra: int = Field(
        description="Gas the anchor adds per request: finalise_anchored - finalise_unanchored (whole "
        "transactions)."
    )
    dispute_depth16: int = Field(description="An upheld delivery dispute with a Merkle proof of depth 16.")
    dispute_depth16_execution: int = Field(description="That, less the intrinsic 21,000 + calldata.")
    dispute_readings_root_depth16: int = Field(
        description="An upheld readings-root dispute (EIP-712 signature checked), proof of depth 16."
    )
    largest_delivery_batch: int = Field(description="Most deliveries in one batch under 80% of the limit.")
    largest_delivery_batch_gas: int = Field(description="That batch's gas used.")
    largest_delivery_batch_verified: bool = Field(description="Whether a batch of that size was mined.")
    largest_delivery_batch_attempts: list[BatchAttempt] = Field(description="The batches mined to find it.")
    largest_delivery_batch_limited_by_prosumers: bool = Field(
        description="Whether the batch size was limited by the prosumers registered, not by gas."
    )
    accept_again: int = Field(
        description="A direct fair acceptance by a prosumer who answered before (its answer slot reused)."
    )
    relay_answer_batch: int = Field(description="Answers in the relayAnswers batch measured.")
    relay_answer_batch_gas: int = Field(description="That batch's gas used (warm answer slots).")
    relay_answer_per_answer: int = Field(
        description="Relayed answer gas per answer in that batch: the steady state, where each prosumer "
        "answered an earlier request (compare with accept_again and accept)."
    )
    relay_answer_marginal_per_answer: int = Field(description="One more relayed answer in a batch.")
    relay_first_answer_per_answer: int | None = Field(
        description="Relayed gas per answer in a batch of 150 where each is the prosumer's first answer "
        "ever (a new storage slot, ~17,000 gas more); null when no new prosumer was added."
    )
    relay_answers_per_block: int = Field(
        description="Most relayed answers one 8M-gas block holds (computed from two batch sizes)."
    )
    relay_answers_total: int = Field(description="Answers relayed to one request in full-block batches.")
    relay_blocks_for_1000_answers: int = Field(description="Blocks 1,000 relayed answers need (computed).")
    relay_blocks_for_1000_answers_mined: int | None = Field(
        description="Blocks the 1,000 answers actually took when mined, one full-block batch each."
    )
    relay_1000_answers_batches: list[BatchAttempt] = Field(description="Those mined batches and their gas.")


class GasTargets(Part):
    register_: AtMost = Field(alias="register", description="Registration gas.")
    accept: AtMost = Field(description="Acceptance gas.")
    record_delivery_per_prosumer: AtMost = Field(description="Settlement gas per prosumer.")
    open_request: AtMost = Field(description="Gas to open a request.")
    relay_answer_per_answer: AtMost = Field(description="Relayed answer gas per answer (batch of 250).")
    relay_blocks_for_1000_answers: AtMost = Field(description="8M-gas blocks for 1,000 relayed answers.")
    anchor: AtMost = Field(
        description="Gas anchoring adds per request: finaliseAnchored less a plain finalise of a request "
        "without participants (the same code up to the anchor), whole transactions (gas.anchor_extra)."
    )
    dispute_depth16: AtMost = Field(
        description="An upheld delivery dispute with a proof of depth 16, its execution "
        "(gas.dispute_depth16_execution)."
    )


class BatchTarget(Part):
    budget_gas: int = Field(description="80% of the block gas limit.")
    largest_delivery_batch: int = Field(description="Most deliveries in one batch within the budget.")
    target_min: int = Field(description="The least it should be.")
    met: bool = Field(description="At least target_min, and verified by mining one.")


class Prototype(Part):
    register_: int = Field(alias="register", description="The prototype's registration.")
    claim: int = Field(description="The prototype's claim.")
    delivery_result_without_payment: int = Field(description="The prototype's delivery result.")


class GasResult(Published):
    """Gas per contract operation on a fresh London anvil (`flexsim bench gas --json`)."""

    benchmark: Literal["gas"] = Field(description="Which benchmark.")
    chain: GasChain = Field(description="The chain measured on.")
    compiler: Compiler = Field(description="The compiler of the contracts measured.")
    gas: GasFigures = Field(description="Gas per operation.")
    targets: GasTargets = Field(description="Per-operation gas targets.")
    batch: BatchTarget = Field(description="The settlement batch size target.")
    prototype_for_comparison: Prototype = Field(description="What the seed's prototype spent.")
    prosumers: int = Field(description="Prosumers registered.")
    elapsed_s: float = Field(description="Wall time of the benchmark (s).")
    machine: Machine = Field(description="The machine it ran on.")

    @property
    def met(self) -> bool:
        """Every gas target and the batch target met (the command's exit code says so)."""
        return all(t.met for _, t in self.targets) and self.batch.met
