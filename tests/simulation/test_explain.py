"""What the report explains, from summary data alone: per-request rows with declines in the prosumers' own
words, the population, gas by phase, the verdict, the console table, the stress wording, the plots' span."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest

from simulation.collect import ChainEvent, ClockMapping, RunData
from simulation.explain import decline_reasons, gas_phases, phase_of, population, request_rows
from simulation.report_page import request_table, stress_section
from simulation.report_plots import _power
from simulation.run_table import closing
from simulation.summary import summarise
from simulation.verdict import verdict

A, B, C = "0x" + "aa" * 20, "0x" + "bb" * 20, "0x" + "cc" * 20
CLOCK = ClockMapping(sim_start=1_750_000_000.0, real_start=1_000.0, speed=60.0)


def terms(kind: int, capacity: int, flex: int) -> dict[str, int]:
    return {
        "kind": kind,
        "capacityW": capacity,
        "expectedWhPerDay": 0,
        "flexUpW": flex,
        "flexDownW": flex,
        "maxDurationS": 3_600,
        "tariffUp": 10**17,
        "tariffDown": 10**17,
    }


def ev(name: str, tx: str, args: dict[str, Any], contract: str = "Market", t: int = 1_060) -> ChainEvent:
    return ChainEvent(contract, name, args, block=1, timestamp=t, tx_hash=tx)


def run_data(delivered_wh: int = 400) -> RunData:
    events = [
        ev("Registered", "0xr1", {"prosumer": A, "terms": terms(3, 8_000, 2_000)}, "Registry"),
        ev("Registered", "0xr2", {"prosumer": B, "terms": terms(2, 6_000, 500)}, "Registry"),
        ev("Registered", "0xr3", {"prosumer": C, "terms": terms(2, 4_000, 400)}, "Registry"),
        ev("FlexibilityRequested", "0xopen", {"requestId": 1}),
        ev("Accepted", "0xacc", {"requestId": 1, "prosumer": A, "powerW": 1_000}),
        ev("Declined", "0xDEC1", {"requestId": 1, "prosumer": B, "reason": 2}),
        ev("Declined", "0xdec2", {"requestId": 1, "prosumer": C, "reason": 4}),
        ev("ToppedUp", "0xtop", {"requestId": 1, "prosumer": A, "extraW": 200, "committedW": 1_200}),
        ev(
            "RequestSettled",
            "0xfin",
            {
                "requestId": 1,
                "requestedWh": 500,
                "committedWh": 400,
                "deliveredWh": delivered_wh,
                "participants": 1,
                "compliant": 1,
                "paid": 8 * 10**16,
            },
        ),
    ]
    txs = {  # tx -> (function, gas)
        "0xdeploy": ("deploy Registry", 3_000_000),
        "0xr1": ("register", 200_000),
        "0xr2": ("register", 200_000),
        "0xr3": ("register", 200_000),
        "0xopen": ("openRequest", 150_000),
        "0xacc": ("acceptUpTo", 80_000),
        "0xDEC1": ("decline", 50_000),
        "0xdec2": ("decline", 50_000),
        "0xtop": ("topUp", 70_000),
        "0xfin": ("finalise", 100_000),
        "0xconnect": ("connect", 40_000),
    }
    requests: list[dict[str, Any]] = [
        {
            "id": 7,
            "chain_request_id": 1,
            "status": "settled",
            "direction": "up",
            "power_w": 1_500,
            "duration_s": 1_200,
            "start": 1_080,
            "end": 1_100,
            "created_at": 1_050.0,
            "requested_wh": 500,
            "committed_wh": 400,
            "delivered_wh": delivered_wh,
            "participants": 1,
            "compliant": 1,
            "paid": 8 * 10**16,
        },
        {
            "id": 8,
            "chain_request_id": None,
            "status": "failed",
            "direction": "down",
            "power_w": 900,
            "duration_s": 600,
            "start": None,
            "end": None,
            "created_at": 1_200.0,
        },
    ]
    return RunData(
        strategy="fair",
        chain_id=31337,
        events=events,
        gas_by_function={f: [g for t, (f2, g) in txs.items() if f2 == f] for f, _ in txs.values()},
        tx_gas={t: g for t, (_, g) in txs.items()},
        tx_function={t: f for t, (f, _) in txs.items()},
        tx_gas_price={t: 2 * 10**9 for t in txs},
        requests=requests,
        responses=[],
        power_series=[
            (CLOCK.sim_start - 600, -1_000.0, 3),
            (CLOCK.sim_start + 1_800, 2_000.0, 3),
            (CLOCK.sim_start + 9_000, 500.0, 3),
        ],
        reading_latency=[],
        balances={A: 8 * 10**16, B: 0, C: 0},
        reputations={A: 525, B: 500, C: 500},
        launches=[
            {"kind": "start", "index": i, "address": a, "real_t": 1_000.0} for i, a in enumerate((A, B, C))
        ],
        explanations={
            "0xdec1": "too variable to deliver provably: may miss by ~390 W, more than 5% of 170 W"
        },
        clock=CLOCK,
        duration_s=7_200.0,
    )


def test_each_request_row_has_its_chain_totals_and_each_decline_its_reason_and_own_words() -> None:
    settled, failed = request_rows(run_data())
    assert (settled.request_id, settled.direction, settled.requested_wh, settled.delivered_wh) == (
        7,
        "up",
        500,
        400,
    )
    assert (settled.delivered_share, settled.participants, settled.topped_up_w) == (0.8, 1, 200)
    assert settled.start_h == round((1_080 - 1_000) * 60 / 3600, 3)  # simulated h from the scenario start
    assert settled.declines == {"insufficient_forecast": 1, "duration_beyond_contract": 1}
    b, c = settled.declined
    assert (b.index, b.kind, b.explanation) == (1, "consumer", run_data().explanations["0xdec1"])
    assert (c.index, c.reason, c.explanation) == (2, "duration_beyond_contract", None)
    assert settled.answers == {"Accepted": 1, "Declined": 2, "ToppedUp": 1}
    assert (failed.chain_request_id, failed.requested_wh, failed.delivered_share, failed.declined) == (
        None,
        None,
        None,
        [],
    )
    assert decline_reasons([settled, failed]) == {"insufficient_forecast": 1, "duration_beyond_contract": 1}


def test_the_population_is_counted_per_kind_as_registered() -> None:
    pop = population(run_data())
    assert pop.registered == 3 and list(pop.by_kind) == ["consumer", "battery"]
    assert pop.by_kind["consumer"].model_dump() == {
        "prosumers": 2,
        "capacity_kw": 10.0,
        "flex_up_kw": 0.9,
        "flex_down_kw": 0.9,
    }
    assert [(p.index, p.kind, p.balance) for p in pop.prosumers] == [
        (0, "battery", 0.08),
        (1, "consumer", 0.0),
        (2, "consumer", 0.0),
    ]


@pytest.mark.parametrize(
    ("function", "phase"),
    [
        ("register", "registration"),
        ("renegotiate", "registration"),
        ("acceptUpTo", "answers"),
        ("decline", "answers"),
        ("applyFor", "answers"),
        ("openRequest", "settlement"),
        ("topUp", "settlement"),
        ("select", "settlement"),
        ("finalise", "settlement"),
        ("deploy FlexToken", "deployment"),
        ("connect", "other"),
        ("unknown", "other"),
    ],
)
def test_each_function_belongs_to_one_phase(function: str, phase: str) -> None:
    assert phase_of(function) == phase


def test_gas_is_split_by_phase_priced_and_divided_by_the_delivered_kwh() -> None:
    gas = gas_phases(run_data(), delivered_wh=400)
    assert gas.by_phase is not None and gas.gas_price_source is not None
    assert {p: (g.transactions, g.gas) for p, g in gas.by_phase.items()} == {
        "registration": (3, 600_000),
        "answers": (3, 180_000),
        "settlement": (3, 320_000),
        "deployment": (1, 3_000_000),
        "other": (1, 40_000),
    }
    assert gas.market_total == 500_000 and gas.per_delivered_kwh == 500_000 * 1000 // 400
    assert gas.gas_price_gwei == 2.0 and gas.by_phase["answers"].native == pytest.approx(180_000 * 2e-9)
    assert "paid" in gas.gas_price_source
    stated = gas_phases(run_data(), delivered_wh=400, gas_price_gwei=0.1)
    assert stated.by_phase is not None and stated.gas_price_source is not None
    assert (
        stated.by_phase["settlement"].native == pytest.approx(320_000 * 1e-10)
        and "given" in stated.gas_price_source
    )
    assert gas_phases(run_data(), delivered_wh=0).per_delivered_kwh is None


def summaries(fair_wh: int, reputation_wh: int) -> dict[str, dict[str, Any]]:
    out = {}
    for name, wh in (("fair", fair_wh), ("reputation", reputation_wh)):
        s = summarise(run_data(wh)).to_dict()
        s["strategy"] = name
        out[name] = s
    return out


def test_the_verdict_names_the_strategy_that_delivered_more_with_its_numbers() -> None:
    text = verdict(summaries(250, 480))
    assert text.startswith("Reputation served the grid better in this run: it delivered 96 % of the energy")
    assert "(480 of 500 Wh) and met 1 of 1 requests within 10 %" in text
    assert "against 50 % (250 of 500 Wh) and 0 of 1 for fair (+46 percentage points" in text
    assert "not a statistic" in text and "flexsim experiment" in text
    assert verdict(summaries(480, 478)).startswith("Neither strategy served the grid better")
    only = {"fair": summaries(250, 480)["fair"]}
    assert verdict(only).startswith("Only fair ran, so there is nothing to compare: fair delivered 50 %")


def test_the_console_ends_with_a_short_table_and_the_reports_absolute_path(tmp_path: Path) -> None:
    text = closing(summaries(250, 480), tmp_path / "report.html")
    lines = text.splitlines()
    assert lines[-1] == f"report: {(tmp_path / 'report.html').resolve()}"
    assert "delivered / requested          50 %        96 %" in text
    assert "requests met within 10 %     0 of 1      1 of 1" in text
    assert "{" not in text and len(lines) < 20


def test_a_request_table_shows_counts_and_folds_the_prosumers_words() -> None:
    page = request_table(summarise(run_data()).to_dict())
    assert "insufficient_forecast 1, duration_beyond_contract 1" in page
    assert "#1 consumer: too variable to deliver provably" in page and "(no explanation in its log)" in page
    assert "80 %" in page and "None" not in page


def test_a_stress_measure_never_judged_is_said_so_not_none() -> None:
    verdicts = {
        "reading_lag_s": {
            "threshold": 2.0,
            "unit": "s",
            "meaning": "",
            "degraded_at_prosumers": None,
            "value_there": None,
            "judged_up_to_prosumers": None,
            "worst": None,
        }
    }
    section = stress_section({"fair": {"stress": {"measures": verdicts, "max_prosumers": 3}}})
    assert "not judged" in section and "None" not in section


def test_the_power_plot_spans_the_scenario_from_its_start() -> None:
    fig, ax = plt.subplots()
    _power(run_data(), ax)
    assert ax.get_xlim() == (0.0, 2.0)  # the scenario's 7,200 s; the request window ends before
    (line,) = [line for line in ax.get_lines() if line.get_label() == "net power"]
    assert np.asarray(line.get_xdata()).tolist() == [0.5]  # before the start and after the end: cut
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["net power", "up request window", "scenario end"]
    assert "+ delivered to the grid" in ax.get_title()
    plt.close(fig)


def test_a_request_window_past_the_scenario_end_stretches_the_plot_to_it() -> None:
    run = run_data()
    run.requests[0] = {**run.requests[0], "start": 1_120, "end": 1_180}  # 2.0 to 3.0 simulated h
    fig, ax = plt.subplots()
    _power(run, ax)
    assert ax.get_xlim() == (0.0, 3.0)
    (line,) = [line for line in ax.get_lines() if line.get_label() == "net power"]
    assert np.asarray(line.get_xdata()).tolist() == [0.5, 2.5]
    plt.close(fig)
