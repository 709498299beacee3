"""The `flexsim` console command: one module per command group, options declared once.

    app.py       the parser (built from the groups) and `main`: one-line failures, SIGTERM handling
    options.py   reusable options (`--json`, `--rpc-url`, `--manifest`, ...), commands, model options
    chain.py     compile, chain, deploy, doctor
    run.py       run, report, demo
    services.py  aggregator, prosumer, grid-operator
    bench.py     bench gas | ingest | fleet | e2e (the benchmarks live in the `benchmarks` package)
    docs.py      schema, settings (the JSON Schemas and settings tables flexsim publishes)

Adding a command: write its handler in the module of its group with `@group.command(name, help,
*options)`, reusing the options of `flexsim.cli.options`; import what it needs inside the handler.
"""

from flexsim.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
