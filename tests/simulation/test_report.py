"""Collecting a run from the chain and the aggregator's database, its summary and its report files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.events import EventDecoder
from domain.market_rules import is_compliant, payment
from simulation.chain_export import chain_record
from simulation.collect import ClockMapping, collect_run
from simulation.report import write_csvs, write_html, write_plots
from simulation.saved_run import chain_facts
from simulation.summary import summarise
from tests.aggregator.test_dispatch import (  # noqa: F401  (fixtures)
    World,
    rpc_url,
    world,
)
from tests.simulation.settled import settle_three_fair

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def test_a_settled_run_is_collected_summarised_and_reported(world: World, tmp_path: Path) -> None:  # noqa: F811
    w = world
    settle_three_fair(w)

    c = w.ctx.clock.clock
    data = collect_run(
        chain_facts(chain_record(w.d), EventDecoder.of(w.d)),
        str(w.ctx.db.engine.url),
        "fair",
        ClockMapping(c.sim_start.timestamp(), c.real_start_epoch_s, c.speed),
    )
    summary = summarise(data).to_dict()  # summary.json's content
    assert summary["cross_check"] == {"settled_on_chain": 1, "matches": True, "mismatches": []}
    assert summary["energy_wh"] == {"requested": 750, "committed": 750, "delivered": 250 + 238 + 100}
    assert summary["participations"] == 3 and summary["compliant_share"] == round(2 / 3, 3)
    assert summary["tokens_paid"] == pytest.approx(2 * 0.2 * 0.25)
    (lat,) = summary["latency_per_request"]
    assert 0 <= lat["notified_s"] <= lat["acceptances_recorded_s"] <= lat["settlement_final_s"]
    assert summary["gas"]["per_function"]["accept"]["count"] == 3
    assert summary["gas"]["by_phase"]["answers"]["transactions"] == 3
    assert summary["gas"]["answers"] == {
        "direct_answers": 3,
        "direct_gas_per_answer": summary["gas"]["per_function"]["accept"]["mean"],
        "relayed_answers": 0,
        "relay_transactions": 0,
        "relayed_gas_per_answer": None,
    }

    # an independent reading of the chain's events: every payment is justified
    committed = {e.args["prosumer"]: e.args["powerW"] for e in data.events if e.name == "Accepted"}
    for e in (e for e in data.events if e.name == "DeliveryRecorded"):
        who = e.args["prosumer"]
        assert who in committed and e.args["committedW"] == committed[who]
        ok = is_compliant(committed[who], 900, e.args["deliveredWh"])
        assert e.args["compliant"] is ok
        assert e.args["payment"] == (payment(2 * 10**17, committed[who], 900) if ok else 0)

    out = tmp_path / "fair"
    out.mkdir()
    write_csvs(data, out)
    names = write_plots(data, out)
    report = write_html(tmp_path, "name = 'test'", {"fair": summary}, {"fair": names})
    for name in [
        *names,
        "power.csv",
        "requests.csv",
        "responses.csv",
        "gas.csv",
        "reputation.csv",
        "balances.csv",
    ]:
        assert (out / name).stat().st_size > 0, name
    page = report.read_text()
    assert "fair/power.png" in page and "chain totals = database totals" in page
    assert json.loads((tmp_path / "summary.json").read_text())["fair"]["energy_wh"]["requested"] == 750


def test_the_summary_compares_direct_and_relayed_answers(world: World, tmp_path: Path) -> None:  # noqa: F811
    w = world
    settle_three_fair(w, relayed=2)
    c = w.ctx.clock.clock
    data = collect_run(
        chain_facts(chain_record(w.d), EventDecoder.of(w.d)),
        str(w.ctx.db.engine.url),
        "fair",
        ClockMapping(c.sim_start.timestamp(), c.real_start_epoch_s, c.speed),
    )
    summary = summarise(data).to_dict()
    (relay,) = data.gas_by_function["relayAnswers"]
    (direct,) = data.gas_by_function["accept"]
    assert summary["gas"]["answers"] == {
        "direct_answers": 1,
        "direct_gas_per_answer": direct,
        "relayed_answers": 2,
        "relay_transactions": 1,
        "relayed_gas_per_answer": round(relay / 2),
    }
    assert summary["participations"] == 3  # relayed acceptances settle like direct ones
    assert summary["energy_wh"] == {"requested": 750, "committed": 750, "delivered": 250 + 238 + 100}
    report = write_html(tmp_path, "name = 'test'", {"fair": summary}, {"fair": []}).read_text()
    assert f"{round(relay / 2)} (2)" in report and f"{direct} (1)" in report
