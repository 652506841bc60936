"""Six runs start at once and each posts its first step to the same channel: none fails with ``ratelimited``.

Each run is its own flow process (as six workers would be); the Slack stand-in keeps its 1 message/s per
channel limit on. Baton's Slack client paces posts per channel across processes (a lock file per channel,
clients/slack_pacing.py) and retries a 429 after its Retry-After; the stand-in's counters show what it let
through and what it refused.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time

import pytest

from baton.devstack import PrefectServer
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.figures import record
from tests.flows import probe_runs
from tests.harness import FlowProcess, RunningGateway

CHANNEL = "C0HANDOVER"
RUNS = 6


@pytest.mark.slow
def test_six_runs_starting_together_all_post_their_first_step(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer
) -> None:
    api = prefect_server.api_url
    slack = state_of(sandbox.world)
    assert slack.limiter.per_second == 1, "the stand-in's real limit is on"
    channel = slack.channel_id(CHANNEL)
    accepted_before = slack.limiter.accepted.get(channel, 0)
    refused_before = slack.limiter.refused.get(channel, 0)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    deadlines = [900 + i for i in range(RUNS)]  # tells the runs apart
    flows = [FlowProcess("step_probe.py", baton_env, "kind=task", f"deadline={d}") for d in deadlines]
    run_ids: list[str] = []
    started = time.monotonic()
    try:
        for d in deadlines:
            run_ids.append(
                probe_runs.find_paused(api, "step-probe", since=since, where={"deadline": d}, timeout=180)["id"]
            )
        all_posted = time.monotonic() - started
        posted = {
            run_id: [m for m in slack.messages(CHANNEL) if run_id in json.dumps(m.get("blocks") or [])]
            for run_id in run_ids
        }
        for flow in flows:
            assert flow.proc.poll() is None, f"a run ended early:\n{flow.output()[-2000:]}"
            assert "ratelimited" not in flow.output()
    finally:
        for flow in flows:
            flow.kill()
        for run_id in run_ids:
            probe_runs.cancel_if_open(api, run_id)

    assert all(len(found) == 1 for found in posted.values()), {k: len(v) for k, v in posted.items()}
    accepted = slack.limiter.accepted.get(channel, 0) - accepted_before
    refused = slack.limiter.refused.get(channel, 0) - refused_before
    stamps = sorted(float(found[0]["ts"]) for found in posted.values())
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    record("slack-pacing", runs_started_together=RUNS, posts_accepted=accepted, refused_429=refused)
    print(
        f"FIGURES slack pacing: runs started together={RUNS}, first steps posted={len(posted)}, "
        f"posts accepted={accepted}, 429s answered={refused}, smallest gap={min(gaps):.2f}s, "
        f"all posted after {all_posted:.1f}s"
    )
    assert accepted >= RUNS
    assert refused == 0, "the pacer queued the posts: nothing for the stand-in to refuse"
    assert min(gaps) >= 0.95, gaps  # the stand-in's clock: one post a second at most
