"""`python -m grid_operator` (and `flexsim grid-operator`): send the scenario's requests (GRID_* settings)."""

from __future__ import annotations

import logging
import sys
import time


def main() -> int:
    from base.errors import FlexsimError
    from grid_operator.operator import AggregatorClient, GridOperator, connect_chain, write_results
    from grid_operator.plan import load_plan
    from grid_operator.settings import GridSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s grid-operator: %(message)s")
    try:
        settings = GridSettings()  # type: ignore[call-arg]
        scenario = load_plan(settings.scenario)
        client = AggregatorClient(settings.aggregator_url, settings.token.get_secret_value())
        start = settings.sim_real_start_epoch or time.time()
        operator = GridOperator(
            scenario,
            client,
            start,
            connect_chain(settings.rpc_url, settings.manifest),
            flex_wait_s=settings.flex_wait_s,
        )
        sent = operator.run(settings.settle_timeout_s)
        print(write_results(sent, settings.out))
    except FlexsimError as exc:
        print(f"grid-operator: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
