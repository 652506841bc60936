"""The Jira part of the Intercom handover as a flow of its own, for the fault-storm test: find the leaver, ensure
the app user (create it if missing), ensure its groups, check its project permissions. Prints RESULT=<json>.

    jira_storm_probe.py <successor e-mail>
"""

from __future__ import annotations

import json
import sys
from typing import Any

from prefect import flow

from tasks import jira


@flow(name="jira-storm-probe")
def jira_storm_probe(successor: str) -> dict[str, Any]:
    leaver = jira.find_account("alice@acme.example")
    account = jira.ensure_account(successor, "Intercom app (storm)")
    added = jira.ensure_groups(account["account_id"], ["jira-software-users", "site-admins"])
    granted = jira.check_permissions(account["account_id"], ["BROWSE_PROJECTS", "CREATE_ISSUES"], [10000])
    return {"leaver": leaver, "account": account, "added": added, "granted": granted}


if __name__ == "__main__":
    print("RESULT=" + json.dumps(jira_storm_probe(sys.argv[1]), default=str))
