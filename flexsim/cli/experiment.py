"""`flexsim experiment`: a sweep of whole runs over seeds x strategies x scenario settings, resumable,
with its results table and comparison report (simulation.experiment, docs/experiments.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from flexsim.cli.options import OUT, Group, Option
from flexsim.cli.progress import progress

group = Group()


@group.command(
    "experiment",
    "sweep seeds x strategies x scenario settings; results table and comparison report",
    Option("name", nargs="?", default="compare", help="compare (default), share, day, or a .toml path"),
    Option("--seeds", help="seeds and ranges, e.g. 1-10 or 1,4,7-9 (default: the experiment's)"),
    Option(
        "--set",
        repeat=True,
        dest="sets",
        help="FIELD=V1,V2: sweep a scenario field (repeatable; replaces the experiment's own [set])",
    ),
    Option("--strategies", help="fair,reputation (default: the experiment's)"),
    Option("--scenario", help="the scenario to sweep instead of the experiment's"),
    Option("--jobs", type=int, help="runs at once (default: the experiment's, else the machine's cores)"),
    OUT(help="results folder (default results/experiments/<name>; the same folder resumes)"),
)
def experiment(args: argparse.Namespace) -> int:
    from base.errors import ConfigError
    from simulation.experiment import load_experiment, run_experiment
    from simulation.sweep import parse_set

    exp = load_experiment(args.name)
    if args.scenario:
        exp = exp.model_copy(update={"scenario": args.scenario})
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"--jobs {args.jobs}: run at least 1 at once")
    strategies = args.strategies.split(",") if args.strategies else None
    sets = parse_set(args.sets) if args.sets else None
    out = args.out or Path("results") / "experiments" / exp.name
    result = run_experiment(exp, out, progress, args.seeds, sets, strategies, args.jobs)
    for g in result.groups:
        m = g.metrics["delivered_share"]
        ci = "" if m.ci_low is None else f" [{m.ci_low:.3f}, {m.ci_high:.3f}]"
        mean = "–" if m.mean is None else f"{m.mean:.3f}"
        print(f"{g.setting_id:40} {g.strategy:10} delivered/requested {mean}{ci} over {g.runs} runs")
    print(f"wall {result.wall_s / 60:.1f} min; report {(out / 'report.html').resolve()}")
    return 0
