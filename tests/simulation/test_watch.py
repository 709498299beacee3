"""The run watcher's files and the aggregator metrics it samples."""

from __future__ import annotations

from pathlib import Path

from simulation.watch import Block, Watch, load, parse_metrics


def test_the_watched_metrics_are_read_from_the_prometheus_text() -> None:
    text = (
        "# HELP flexsim_aggregator_writer_queue_rows Readings waiting\n"
        "# TYPE flexsim_aggregator_writer_queue_rows gauge\n"
        "flexsim_aggregator_writer_queue_rows 42.0\n"
        "flexsim_aggregator_chain_lag_blocks 3\n"
        'flexsim_aggregator_writer_commit_seconds_bucket{le="0.1"} 7\n'
        "other_metric 1\n"
    )
    assert parse_metrics(text) == {"writer_queue_rows": 42.0, "chain_lag_blocks": 3.0}


def test_a_watch_is_written_and_read_back(tmp_path: Path) -> None:
    watch = Watch(
        blocks=[
            Block(5, 1000, 1000.25, 21_000, 8_000_000, ["0xaa", "0xbb"]),
            Block(6, 1005, 1005.1, 0, 8_000_000, []),
        ],
        pooled={"0xaa": (999.5, 4)},
        metrics=[(1000.0, "writer_queue_rows", 3.0)],
    )
    watch.write(tmp_path)
    assert load(tmp_path) == watch
    assert load(tmp_path / "missing") == Watch()
