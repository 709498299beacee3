"""The shape of a run's `summary.json` (one strategy): `RunSummary`, published as a JSON Schema
(`docs/schemas/summary.schema.json`, `flexsim schema summary`).

`simulation.summary` computes it from the collected data; `flexsim run` writes it per strategy and
prints its headline. Read one back with `RunSummary.model_validate_json(path.read_text())`.

Extending it (e.g. per-request tables for a research report): add a model here and a field on
`RunSummary` with its description, fill it in `simulation.summary`, then `flexsim schema --write
docs/schemas`. A field that older runs lack is declared with `absent_when_none` (or a default), so their
files still validate.
"""

from __future__ import annotations

from pydantic import Field

from base.published import Number, Part, Published, absent_when_none


class Stats(Part):
    n: int = Field(description="How many values.")
    mean: Number | None = Field(description="Their mean (3 decimals); null without values.")
    max: Number | None = Field(description="The largest (3 decimals); null without values.")


class Energy(Part):
    requested: int = Field(description="Energy requested by the settled requests (Wh), from the chain.")
    committed: int = Field(description="Energy participants committed to (Wh), from the chain.")
    delivered: int = Field(description="Energy measured as delivered (Wh), from the chain.")


class FunctionGas(Part):
    count: int = Field(description="Transactions calling the function.")
    mean: int = Field(description="Mean gas used per transaction.")
    total: int = Field(description="Gas used by all of them.")


class AnswerGas(Part):
    """Answers to requests by how they reached the chain: prosumers' own transactions (direct) or
    signed answers the aggregator relayed in batches (relayed, docs/relayed-answers.md)."""

    direct_answers: int = Field(description="accept, acceptUpTo, applyFor and decline transactions.")
    direct_gas_per_answer: int | None = Field(description="Their mean gas; null without any.")
    relayed_answers: int = Field(description="Answers recorded by relayAnswers transactions.")
    relay_transactions: int = Field(description="relayAnswers transactions.")
    relayed_gas_per_answer: int | None = Field(
        description="relayAnswers gas over the answers they recorded; null without any."
    )


class RunGas(Part):
    per_function: dict[str, FunctionGas] = Field(description="Gas per contract function, by name.")
    market_total: int = Field(description="Gas of the market's request functions (open to finalise).")
    per_participating_prosumer: int | None = Field(
        description="market_total per recorded delivery; null without deliveries."
    )
    answers: AnswerGas | None = absent_when_none(
        "Gas per answer, direct and relayed (absent from summaries written before relayed answers)."
    )


class Latencies(Part):
    notified: Stats = Field(description="From the request reaching the aggregator to its announcement.")
    acceptances_recorded: Stats = Field(
        description="From the request reaching the aggregator to its last acceptance, candidacy or selection."
    )
    settlement_final: Stats = Field(description="From the request reaching the aggregator to its settlement.")


class RequestLatency(Part):
    request_id: int = Field(description="The aggregator's request id.")
    chain_request_id: int = Field(description="The market's request id.")
    notified_s: float | None = Field(
        description="Seconds until the last prosumer learned of it (their own records); without them, "
        "to the announcement on chain."
    )
    notified_p95_s: float | None = absent_when_none(
        "Seconds until 95 % of the prosumers that learned of it had (their own records)."
    )
    notified_prosumers: int | None = absent_when_none("Prosumers whose records say they learned of it.")
    acceptances_recorded_s: float | None = Field(description="Seconds to the last acceptance or candidacy.")
    settlement_final_s: float | None = Field(description="Seconds to the settlement on chain.")


class StageBound(Part):
    measured_s: float | None = Field(description="The measured latency (s).")
    bound_s: float = Field(description="The lower bound block time and gas limit allow (s).")
    ratio: float | None = Field(description="measured / bound.")


class RequestGas(Part):
    join: int = Field(description="Gas of the request's acceptances or candidacies and selection.")
    settle: int = Field(description="Gas of its deliveries recorded and its finalisation.")


class RequestBound(Part):
    request_id: int = Field(description="The aggregator's request id.")
    strategy: str = Field(description="fair or reputation.")
    queued_behind_previous_s: float = Field(description="Seconds it waited for the previous request.")
    gas: RequestGas = Field(description="Gas its stages used.")
    notified: StageBound = Field(
        description="The last prosumer notified (their own records; else announced on chain)."
    )
    notified_p95_s: float | None = absent_when_none(
        "Seconds until 95 % of the prosumers that learned of it had (their own records)."
    )
    acceptances_recorded: StageBound = Field(description="Last acceptance recorded.")
    settlement_final: StageBound = Field(description="Settled on chain.")


class StageSummary(Part):
    requests: int = Field(description="Requests measured at this stage.")
    measured_mean_s: float | None = Field(description="Mean measured latency (s).")
    bound_mean_s: float | None = Field(description="Mean lower bound (s).")
    ratio: float | None = Field(description="Mean measured / mean bound.")
    ratio_max: float | None = absent_when_none("The largest per-request ratio (absent without requests).")


class Stages(Part):
    notified: StageSummary = Field(description="Announced on chain.")
    acceptances_recorded: StageSummary = Field(description="Last acceptance recorded.")
    settlement_final: StageSummary = Field(description="Settled on chain.")


class LatencyBound(Part):
    block_time_s: float = Field(description="The chain's block time (s).")
    gas_limit: int = Field(description="The smallest block gas limit watched.")
    stages: Stages = Field(description="Per stage, over the requests (simulation/bounds.py).")
    per_request: list[RequestBound] = Field(description="Per request.")


class RemovedProsumer(Part):
    index: int = Field(description="The prosumer's index in the population.")
    address: str = Field(description="Its account.")
    real_t: float = Field(description="Real Unix time it was told to leave (SIGUSR1).")
    on_chain: bool = Field(description="Whether its `Removed` event is on chain.")


class Removals(Part):
    injected: int = Field(description="Removals the run injected.")
    removed_on_chain: int = Field(description="`Removed` events on chain.")
    injected_and_on_chain: int = Field(description="Injected removals that reached the chain.")
    prosumers: list[RemovedProsumer] = Field(description="Each injected removal.")


class SettledTotals(Part):
    requested_wh: int | None = Field(description="Requested energy (Wh).")
    committed_wh: int | None = Field(description="Committed energy (Wh).")
    delivered_wh: int | None = Field(description="Delivered energy (Wh).")
    participants: int | None = Field(description="Participants.")
    compliant: int | None = Field(description="Compliant participants.")
    paid: int | None = Field(description="Tokens paid (base units).")


class Mismatch(Part):
    request_id: int = Field(description="The aggregator's request id.")
    database: SettledTotals = Field(description="The aggregator database's totals.")
    chain: dict[str, int] | None = Field(description="The `RequestSettled` event's totals; null if none.")


class CrossCheck(Part):
    settled_on_chain: int = Field(description="`RequestSettled` events on chain.")
    matches: bool = Field(description="Every settled request's totals on chain equal the database's.")
    mismatches: list[Mismatch] = Field(description="The requests whose totals differ.")


class StressVerdict(Part):
    threshold: float = Field(description="The p95 above which the measure degrades.")
    unit: str = Field(description="Unit of the measure.")
    meaning: str = Field(description="What crossing the threshold means.")
    degraded_at_prosumers: int | None = Field(description="First level (prosumers) over the threshold.")
    value_there: float | None = Field(description="The p95 at that level.")
    judged_up_to_prosumers: int | None = Field(description="The largest level judged.")
    worst: float | None = Field(description="The worst p95 over the levels judged.")


class StressHeadline(Part):
    measures: dict[str, StressVerdict] = Field(description="Per measure (simulation/stress.py).")
    max_prosumers: int = Field(description="The most prosumers running at once.")


class RunSummary(Published):
    """The numbers of one strategy's run (`<run>/<strategy>/summary.json`)."""

    strategy: str = Field(description="fair or reputation.")
    chain_id: int = Field(description="The chain the run settled on.")
    requests: dict[str, int] = Field(description="`total`, and the aggregator's requests per status.")
    energy_wh: Energy = Field(description="Energy of the settled requests, from the chain.")
    success_rate: float | None = Field(
        description="Share of settled requests delivered within 10% of requested; null if none settled."
    )
    success_rule: str = Field(description="The rule success_rate applies.")
    participations: int = Field(description="Participations in settled requests.")
    compliant_share: float | None = Field(description="Share of participations delivered within ±10%.")
    tokens_paid: float = Field(description="Tokens paid to participants (whole tokens).")
    gas: RunGas = Field(description="Gas used by the run's transactions.")
    latency_s: Latencies = Field(description="Request latencies from the aggregator's receipt (s).")
    latency_per_request: list[RequestLatency] = Field(description="Those latencies per request.")
    latency_bound: LatencyBound | None = Field(
        description="Latencies against the block-time and gas-limit bound; null on an automining chain."
    )
    reading_latency_s: Stats = Field(description="Seconds from a reading taken to it stored.")
    readings_within_2s: float | None = Field(description="Share of readings stored within 2 s.")
    prosumers_started: int = Field(description="Prosumer processes started.")
    removals: Removals = Field(description="Injected removals against the chain's `Removed` events.")
    cross_check: CrossCheck = Field(description="Settled totals on chain against the database.")
    stress: StressHeadline | None = absent_when_none(
        "Where the run stopped keeping up (watched runs with launches only; stress.json has the levels)."
    )

    def headline(self) -> dict[str, object]:
        """What `flexsim run` prints per strategy."""
        keys = ("requests", "energy_wh", "success_rate", "compliant_share", "tokens_paid", "latency_s")
        data = self.to_dict()
        return {k: data[k] for k in keys}
