"""The Volta path, rehearsed: a Volta-like anvil (chain id 73799, 5 s blocks, 8M gas) started as an
external chain, deployed once with `flexsim deploy`, then `flexsim run --scenario volta` in a
subprocess configured only through `CHAIN_*` settings, as on Volta: the manifest reused, a funder
that is not the deployer, the request settled and the report's totals equal to the chain's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from contracts.anvil import AnvilConfig, dev_keys, start_anvil
from contracts.chain import Chain
from contracts.sender import Sender
from simulation.scenario import load_scenario
from tests.simulation.test_run_e2e import tiny

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.chain]

FLEXSIM = [sys.executable, "-m", "flexsim.cli"]
FUNDER_START = 10**18


def rehearsal(path: Path) -> Path:
    """The volta scenario at 60x: four batteries (they deliver exactly), one request ~22 s in."""
    s = load_scenario("volta").with_overrides(
        **{
            "speed": 60.0,
            "duration_s": 3_900.0,
            "reading_interval_s": 1.0,
            "population.count": 4,
            "population.mix": (0.0, 0.0, 0.0, 1.0),
            "ramp.initial": 4,
            "ramp.delay_ms": 200,
            "requests.rate_per_hour": 30.0,
            "requests.first_after_s": 1_200.0,
            "requests.duration_s": 600,
            "requests.max_count": 1,
            "incidents.outage_rate_per_hour": 0.0,
            "incidents.renegotiation_rate_per_hour": 0.0,
        }
    )
    path.write_text(s.to_toml())
    return path


def flexsim(args: list[str], env: dict[str, str], cwd: Path, timeout_s: float) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CHAIN_")}
    done = subprocess.run(
        [*FLEXSIM, *args], env={**base, **env}, cwd=cwd, capture_output=True, text=True, timeout=timeout_s
    )
    assert done.returncode == 0, f"flexsim {args[0]} failed:\n{done.stderr[-4000:]}"
    return done.stdout


def test_a_volta_like_run_through_the_volta_settings_settles_on_the_reused_deployment(tmp_path: Path) -> None:
    deployer_key, bank_key = dev_keys(2)
    funder = Account.create()
    with start_anvil(AnvilConfig.volta_like()) as anvil:
        chain = Chain(anvil.rpc_url)
        Sender(chain, bank_key).send_value(funder.address, FUNDER_START)
        deployer = {"CHAIN_DEPLOYER_KEY": deployer_key, "CHAIN_CHAIN_ID": "73799"}
        manifest = Path(
            flexsim(
                ["deploy", "--rpc-url", anvil.rpc_url, "--out", "deployed/manifest.json"],
                deployer,
                tmp_path,
                120,
            ).strip()
        )
        deployed = json.loads((tmp_path / manifest).read_text())

        env = {
            **deployer,
            "CHAIN_RPC_URL": anvil.rpc_url,
            "CHAIN_FUNDER_KEY": funder.key.hex(),
            "CHAIN_MANIFEST": str(tmp_path / manifest),
        }
        out = tmp_path / "results"
        scenario = rehearsal(tmp_path / "rehearsal.toml")
        printed = flexsim(["run", "--scenario", str(scenario), "--out", str(out)], env, tmp_path, 300)
        assert f"report: {out.resolve() / 'report.html'}" in printed  # the console ends with the report

        # settled, and the report's totals are the chain's
        summary = json.loads((out / "fair" / "summary.json").read_text())
        assert summary["requests"].get("settled") == 1, printed
        assert summary["chain_id"] == 73799
        assert summary["cross_check"]["matches"], summary["cross_check"]
        assert summary["cross_check"]["settled_on_chain"] == 1  # this run's request only
        assert summary["participations"] >= 1
        assert (out / "report.html").is_file()

        # no redeploy: the run used the deployed contracts, and kept no deployment of its own
        ran_on = json.loads((out / "fair" / "chain.json").read_text())
        assert ran_on["deployment"] == f"reused {tmp_path / manifest}"
        assert ran_on["contracts"] == deployed["contracts"]
        assert (
            json.loads((out / "fair" / "deployment" / "manifest.json").read_text())["contracts"]
            == (deployed["contracts"])
        )
        assert not (tmp_path / "deployment").exists()

        # the funder, not the deployer, paid the prosumers: what their planned gas needs, not 1 VT each
        assert ran_on["funder"] == funder.address != ran_on["aggregator"]
        keys = json.loads((out / "fair" / "prosumer-keys.json").read_text())
        assert len(keys) == 4
        funded = [chain.balance(Account.from_key(k).address) for k in keys]
        assert all(0 < b < ran_on["funding_per_prosumer_wei"] for b in funded)  # they spent some gas
        spent = FUNDER_START - chain.balance(funder.address)
        assert 4 * ran_on["funding_per_prosumer_wei"] <= spent < 10**16


def test_both_strategies_share_one_deployment_kept_for_later_runs(tmp_path: Path) -> None:
    """`--rpc-url` turns the embedded `quick` scenario into a run on an external (automining) anvil:
    the first strategy deploys and keeps the manifest, the second reuses it and clears the first's
    registrations; each report counts its own requests only. No keys set: anvil's, the deployer funds."""
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(tiny().to_toml())
    with start_anvil(AnvilConfig(accounts=2)) as anvil:
        out = tmp_path / "results"
        run = ["run", "--scenario", str(scenario), "--rpc-url", anvil.rpc_url, "--out", str(out)]
        flexsim(run, {}, tmp_path, 300)

    kept = json.loads((tmp_path / "deployment" / "chain-31337" / "manifest.json").read_text())
    for strategy, how in (("fair", "new"), ("reputation", f"reused {out / 'deployment' / 'manifest.json'}")):
        ran_on = json.loads((out / strategy / "chain.json").read_text())
        assert (ran_on["mode"], ran_on["deployment"]) == ("rpc", how)
        assert ran_on["contracts"] == kept["contracts"]
        summary = json.loads((out / strategy / "summary.json").read_text())
        settled = summary["requests"].get("settled", 0)
        assert settled >= 1, (strategy, summary["requests"])
        assert summary["cross_check"]["matches"] and summary["cross_check"]["settled_on_chain"] == settled
    assert len(json.loads((out / "reputation" / "prosumer-keys.json").read_text())) == 4
