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


class GasPhase(Part):
    transactions: int = Field(description="Transactions of the phase.")
    gas: int = Field(description="Gas they used.")
    native: float = Field(description="Their cost in the chain's native token at `gas_price_gwei`.")


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
    per_function: dict[str, FunctionGas] = Field(
        description="Gas per contract function, by name; a contract creation is `deploy <Contract>`."
    )
    market_total: int = Field(description="Gas of the requests: answers and settlement (open to finalise).")
    per_participating_prosumer: int | None = absent_when_none(
        "Summaries written before per_delivered_kwh only: market_total per recorded delivery."
    )
    by_phase: dict[str, GasPhase] | None = absent_when_none(
        "Gas per phase: `registration` (register, renegotiate, remove, terminate, expire), `answers` (the "
        "prosumers' accept, acceptUpTo, decline, applyFor, and relayAnswers), `settlement` (the "
        "aggregator's openRequest, topUp, select, recordDeliveries, finalise or finaliseAnchored, close "
        "or cancel), "
        "`deployment` (the contracts' creation, when this run deployed them) and `other` (token, admin "
        "and dispute calls)."
    )
    gas_price_gwei: float | None = absent_when_none(
        "The gas price the native-token costs are stated at (gwei): the mean effective price paid by the "
        "run's transactions, unless the report was given one."
    )
    gas_price_source: str | None = absent_when_none("Where gas_price_gwei comes from.")
    per_delivered_kwh: int | None = absent_when_none(
        "market_total per kWh delivered (gas/kWh; registration and deployment excluded); absent without "
        "delivered energy."
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
    request_id: int | None = Field(description="The aggregator's request id; null if it has none settled.")
    chain_request_id: int | None = absent_when_none("The market's request id.")
    database: SettledTotals | None = Field(description="The aggregator database's totals; null if none.")
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


class DeclineRow(Part):
    prosumer: str = Field(description="Its account.")
    index: int | None = Field(description="Its index in the population (null if the run did not start it).")
    kind: str | None = Field(description="solar, wind, consumer or battery, from its registered terms.")
    reason: str = Field(description="The reason code it declined with, on chain (`DeclineReason`).")
    explanation: str | None = Field(description="Its own explanation, from its log; null if not found.")


class RequestRow(Part):
    request_id: int = Field(description="The aggregator's request id.")
    chain_request_id: int | None = Field(description="The market's request id; null if never opened.")
    status: str = Field(description="The aggregator's state of the request.")
    direction: str = Field(description="up (more power to the grid) or down (less).")
    power_w: int = Field(description="Power requested (W).")
    duration_s: int = Field(description="Duration (simulated s).")
    start_h: float | None = Field(description="Start of its window, simulated hours from the scenario start.")
    requested_wh: int | None = Field(description="Energy requested (Wh), from the chain.")
    committed_wh: int | None = Field(description="Energy committed (Wh), from the chain.")
    delivered_wh: int | None = Field(description="Energy delivered as measured (Wh), from the chain.")
    delivered_share: float | None = Field(description="delivered / requested (0-1, 3 decimals).")
    participants: int | None = Field(description="Participants (accepted or selected), from the chain.")
    compliant: int | None = Field(description="Participants delivered within 10 %.")
    topped_up_w: int = Field(description="Power added to the accepters' shares by the top-up round (W).")
    answers: dict[str, int] = Field(
        description="Answers on chain by event (Accepted, Declined, Applied, ...)."
    )
    declines: dict[str, int] = Field(description="Declines by reason code.")
    declined: list[DeclineRow] = Field(description="Each decline, with the prosumer's own explanation.")


class KindCount(Part):
    prosumers: int = Field(description="How many registered.")
    capacity_kw: float = Field(description="Their capacity (kW).")
    flex_up_kw: float = Field(description="Their contracted upward flexibility (kW).")
    flex_down_kw: float = Field(description="Their contracted downward flexibility (kW).")


class ProsumerRow(Part):
    index: int | None = Field(description="Its index in the population.")
    address: str = Field(description="Its account.")
    kind: str = Field(description="solar, wind, consumer or battery.")
    capacity_w: int = Field(description="Capacity (W).")
    flex_up_w: int = Field(description="Contracted upward flexibility (W).")
    flex_down_w: int = Field(description="Contracted downward flexibility (W).")
    max_duration_s: int = Field(description="Longest request it guarantees to hold (s).")
    reputation: int | None = Field(description="Reputation at the end (0-1000).")
    balance: float = Field(description="Tokens earned (whole tokens).")


class PopulationDrawn(Part):
    registered: int = Field(description="Prosumers registered on chain.")
    by_kind: dict[str, KindCount] = Field(description="Per kind, as registered (the first terms).")
    prosumers: list[ProsumerRow] = Field(description="Each prosumer's first registered terms.")


class RequestShortfallOut(Part):
    chain_request_id: int = Field(description="The market's request id.")
    direction: str = Field(description="up or down.")
    requested_wh: float = Field(description="Energy requested (Wh).")
    committed_wh: float = Field(description="Energy committed (Wh); 0 when not settled.")
    delivered_wh: float = Field(description="Energy delivered as measured (Wh).")
    undelivered_wh: dict[str, float] = Field(
        description="requested - delivered split by reason (Wh; simulation/shortfall.py); sums exactly."
    )


class BehaviourStats(Part):
    prosumers: int = Field(description="Prosumers of this behaviour registered in the run.")
    participations: int = Field(description="Their recorded deliveries.")
    compliant: int = Field(description="Of those, within the 10 % tolerance.")
    mean_reputation: float | None = Field(description="Their mean reputation at the end (0-1000).")


class Shortfall(Part):
    requested_wh: float = Field(description="Energy of every request sent (Wh), settled or not.")
    delivered_wh: float = Field(description="Energy delivered (Wh).")
    delivered_share: float | None = Field(description="delivered / requested; null without requests.")
    by_reason: dict[str, float] = Field(description="Undelivered Wh per reason, over the requests.")
    per_request: list[RequestShortfallOut] = Field(description="Per request.")
    by_behaviour: dict[str, BehaviourStats] = Field(
        description="Per kind of prosumer (diligent, careless, over-promising; domain.realism)."
    )


class RunSummary(Published):
    """The numbers of one strategy's run (`<run>/<strategy>/summary.json`)."""

    strategy: str = Field(description="fair or reputation.")
    chain_id: int = Field(description="The chain the run settled on.")
    requests: dict[str, int] = Field(description="`total`, and the aggregator's requests per status.")
    energy_wh: Energy = Field(description="Energy of the settled requests, from the chain.")
    delivered_share: float | None = absent_when_none(
        "Energy delivered / energy requested over the settled requests; absent if none settled."
    )
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
    per_request: list[RequestRow] | None = absent_when_none(
        "Every request the aggregator received, in order."
    )
    declines: dict[str, int] | None = absent_when_none("Declines of all requests by reason code.")
    population: PopulationDrawn | None = absent_when_none("The population as registered on chain.")

    shortfall: Shortfall | None = absent_when_none(
        "Where the undelivered energy went, per request and reason, and compliance per behaviour."
    )
    stress: StressHeadline | None = absent_when_none(
        "Where the run stopped keeping up (watched runs with launches only; stress.json has the levels)."
    )

    def headline(self) -> dict[str, object]:
        """What `flexsim run` prints per strategy."""
        keys = ("requests", "energy_wh", "success_rate", "compliant_share", "tokens_paid", "latency_s")
        data = self.to_dict()
        return {k: data[k] for k in keys}
