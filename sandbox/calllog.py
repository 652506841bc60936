"""Which calls in the sandbox's call log (``world.calls``: ``"<host> <METHOD> <path>": count``) change a vendor
system. Slack is not a vendor system here (it is where Baton reports); the sandbox's own admin host neither.

A *write* is any call to a vendor host with POST, PUT, PATCH or DELETE, except these, which read:
- ``salesforce POST /services/oauth2/token``: a token grant (refresh, password, client credentials, JWT) hands
  out a session and changes no record (Salesforce logs it in LoginHistory, as it logs every login);
- ``salesforce POST /services/Soap/u/<version>``: SOAP ``login``, the only partner-API operation modelled;
- ``salesforce POST /services/Soap/m/...``: the Metadata API, read-only only when the operation is
  ``readMetadata``, ``listMetadata`` or ``describeMetadata``: the stand-in logs each operation as
  ``salesforce SOAP metadata <operation>``, and any other operation counts as a write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

VENDORS = ("salesforce", "jira", "jira_server", "intercom", "jotform")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
READ_ONLY = (
    re.compile(r"^salesforce POST /services/oauth2/token$"),
    re.compile(r"^salesforce POST /services/Soap/u/[0-9.]+/?$"),
    re.compile(r"^salesforce POST /services/Soap/m/"),  # the operation decides (below)
)
METADATA_READS = ("readMetadata", "listMetadata", "describeMetadata")


def vendor_calls(calls: Mapping[str, int]) -> dict[str, int]:
    """The calls to vendor hosts only."""
    return {k: n for k, n in calls.items() if k.split(" ", 1)[0] in VENDORS}


def requests(calls: Mapping[str, int]) -> dict[str, int]:
    """The HTTP requests to vendor hosts (without the Metadata API's operation notes, which repeat a POST)."""
    return {k: n for k, n in vendor_calls(calls).items() if k.split(" ", 2)[1:2] != ["SOAP"]}


def writes(calls: Mapping[str, int]) -> dict[str, int]:
    """The calls in *calls* that change a vendor system (see the module docstring)."""
    found: dict[str, int] = {}
    for key, count in vendor_calls(calls).items():
        _host, method, path = [*key.split(" ", 2), "", ""][:3]
        if method == "SOAP":
            if not any(path == f"metadata {op}" for op in METADATA_READS):
                found[key] = count
        elif method in WRITE_METHODS and not any(rule.match(key) for rule in READ_ONLY):
            found[key] = count
    return found


def since(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """The calls made between two copies of ``world.calls``."""
    return {k: n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0) > 0}
