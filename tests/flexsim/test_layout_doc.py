"""The README's rule table (R1-R15) names real files: a newcomer who follows it finds the rule."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def rule_rows() -> dict[str, str]:
    section = README.split("### Where each rule lives", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (R\d+) \|[^|]*\|(.*)\|$", section, flags=re.MULTILINE)
    return dict(rows)


def test_every_rule_r1_to_r15_has_a_row() -> None:
    assert sorted(rule_rows(), key=lambda r: int(r[1:])) == [f"R{n}" for n in range(1, 16)]


def test_every_file_the_table_names_exists_and_mentions_its_rule_or_names_its_function() -> None:
    for rule, where in rule_rows().items():
        paths = re.findall(r"`([\w/]+\.(?:py|sol))`", where)
        for path in paths:
            assert (ROOT / path).is_file(), f"{rule}: {path} does not exist"
        for path, name in re.findall(r"`([\w/]+\.(?:py|sol))` \(`(\w+)`", where):
            assert re.search(rf"\b{name}\b", (ROOT / path).read_text()), f"{rule}: {name} not in {path}"
