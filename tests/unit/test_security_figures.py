"""docs/SECURITY.md's figures table against the tests that produce its figures: the counts that do not depend
on a run (the bad-input catalog, the abuse cases, the crash points listed in docs/flows.md, the refusals the
tests assert) must be the ones the table states."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "SECURITY.md").read_text()


def _row(item: str) -> str:
    rows = [line for line in DOC.splitlines() if line.startswith(f"| {item}")]
    assert len(rows) == 1, f"docs/SECURITY.md's figures table has no single row for {item!r}"
    return rows[0]


def test_the_table_covers_items_1_to_7() -> None:
    for item in ("1 canary", "2 crash", "3 Vault", "3 Prefect", "3 Slack", "3 SaaS", "4 long", "5 who can", "5 who may",
                 "6 gateway", "7 bad"):  # fmt: skip
        _row(item)
    assert "**0 hits**" in _row("1 canary")


def test_bad_inputs_count_is_the_catalogs() -> None:
    from tests.integration.test_bad_inputs import CASES

    assert f"**{len(CASES)} distinct bad inputs**" in _row("7 bad"), len(CASES)
    assert len(CASES) >= 40


def test_abuse_cases_count_is_the_tests() -> None:
    from tests.integration.test_gateway_abuse import CASES

    assert f"{len(CASES)} abuse cases" in _row("6 gateway"), len(CASES)


def test_crash_points_are_docs_flows_tables() -> None:
    flows_md = (ROOT / "docs" / "flows.md").read_text()
    rows = re.findall(r"^\| [^|]+ \| `test_crash_matrix[^|]+\| (\d+) \| (\d+) \|$", flows_md, re.M)
    assert len(rows) == 6, rows  # the six flows
    points, at_steps = sum(int(p) for p, _ in rows), sum(int(s) for _, s in rows)
    assert f"{points} crash points ({at_steps} at human steps) over 6 flows, **{points} survived**" in _row("2 crash")


def test_refusal_counts_are_the_ones_the_tests_assert() -> None:
    rights = (ROOT / "tests" / "integration" / "test_answer_rights.py").read_text()
    n = int(re.search(r"assert len\(REFUSALS\) == (\d+)", rights).group(1))  # type: ignore[union-attr]
    assert f"**{n} refused**" in _row("5 who may")
    auth = (ROOT / "tests" / "integration" / "test_prefect_auth.py").read_text()
    kinds, requests, cli = map(int, re.search(r"assert len\(refused\) == (\d+) \* (\d+) \+ (\d+)", auth).groups())  # type: ignore[union-attr]
    assert f"{kinds} kinds" in _row("5 who can") and f"\u00d7 {requests} requests" in _row("5 who can")
    assert f"**{kinds * requests + cli} refused**" in _row("5 who can")
