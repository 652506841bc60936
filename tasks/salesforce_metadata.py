"""Prefect tasks over Salesforce's Metadata API: a real profile clone (read the source's metadata, create the
new profile from it, then restrict it) and login IP ranges and hours (set, then read back). Each task first
looks for its change, so a rerun converges; results are ids, names and differences, never a secret."""

from __future__ import annotations

import functools
import re
from typing import Any

from prefect import get_run_logger, task

from clients.salesforce import SalesforceError, soql_quote
from clients.salesforce_metadata import METADATA_PERMISSIONS, MetadataClient, profile_full_name
from tasks.connections import salesforce_admin, salesforce_session
from tasks.retry import RETRY
from tasks.salesforce import MissingInOrg

PERSIST: dict[str, Any] = {"persist_result": True, **RETRY}
REFUSALS = {"INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY", "API_DISABLED_FOR_ORG"}
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_HOURS = re.compile(r"^(\w+) (\d\d):(\d\d)-(\d\d):(\d\d)$")


@functools.cache
def metadata_client() -> MetadataClient:
    """The Metadata API as Baton's admin (loads the WSDL once per process)."""
    admin = salesforce_admin()
    return MetadataClient(admin.sf, salesforce_session(), owner=admin)  # a new session when it expires


def _enabled(component: dict[str, Any]) -> set[str]:
    return {str(p["name"]) for p in component.get("userPermissions") or [] if p.get("enabled")}


def _read_profile(name: str) -> dict[str, Any]:
    found = metadata_client().read("Profile", profile_full_name(name))
    if found is None:
        raise MissingInOrg(
            "profile", name, [str(r["Name"]) for r in salesforce_admin().query("SELECT Name FROM Profile")]
        )
    return found


@task(**PERSIST)
def clone_profile(source_profile: str, clone_as: str, disable: list[str]) -> dict[str, Any]:
    """*clone_as*: the source profile's metadata (licence, permissions), then API Enabled on and *disable* off.

    ``{"profile_id", "differences": ["ApiEnabled: off → on", "ExportReport: on → off", ...]}`` (clone vs source)."""
    logger = get_run_logger()
    source = _read_profile(source_profile)
    wanted = (_enabled(source) | {"ApiEnabled"}) - set(disable)
    existing = metadata_client().read("Profile", clone_as)
    permissions = [{"enabled": name in wanted, "name": name} for name in sorted(wanted | set(disable))]
    if existing is None:
        metadata_client().create("Profile", {
            "fullName": clone_as, "custom": True, "userLicense": source.get("userLicense"),
            "description": f"Cloned from {source_profile} by Baton", "userPermissions": permissions,
        })  # fmt: skip
        logger.info("cloned profile %s as %s (Metadata API)", source_profile, clone_as)
    elif _enabled(existing) & (set(disable) | {"ApiEnabled"}) != wanted & (set(disable) | {"ApiEnabled"}):
        metadata_client().update("Profile", {"fullName": clone_as, "userPermissions": permissions})
        logger.info("restricted the existing profile %s", clone_as)
    back = _read_profile(clone_as)
    if _enabled(back) & (set(disable) | {"ApiEnabled"}) != wanted & (set(disable) | {"ApiEnabled"}):
        raise SalesforceError("clone profile", "NOT_APPLIED", f"profile {clone_as} does not read back as restricted")
    row = salesforce_admin().one(f"SELECT Id FROM Profile WHERE Name = {soql_quote(clone_as)} LIMIT 1")
    if row is None:
        raise MissingInOrg("clone_profile_as", clone_as, [])
    have, had = _enabled(back), _enabled(source)
    differences = [f"{n}: off → on" for n in sorted(have - had)] + [f"{n}: on → off" for n in sorted(had - have)]
    return {"profile_id": str(row["Id"]), "differences": differences}


def login_hours(hours: list[str]) -> dict[str, str]:
    """``["Monday 08:00-18:00"]`` → ``{"mondayStart": "480", "mondayEnd": "1080"}`` (minutes after midnight)."""
    out: dict[str, str] = {}
    for item in hours:
        found = _HOURS.match(item)
        if found is None or found.group(1) not in DAYS:
            raise ValueError(f"{item!r} is not like 'Monday 08:00-18:00'")
        day, h1, m1, h2, m2 = found.groups()
        out[f"{day.lower()}Start"] = str(int(h1) * 60 + int(m1))
        out[f"{day.lower()}End"] = str(int(h2) * 60 + int(m2))
    return out


def login_ranges(ranges: list[str]) -> list[dict[str, str]]:
    """``["203.0.113.10-203.0.113.20"]`` → ``[{"startAddress": ..., "endAddress": ...}]``."""
    return [{"startAddress": r.split("-")[0].strip(), "endAddress": r.split("-")[1].strip()} for r in ranges]


def _matches(profile: dict[str, Any], ranges: list[dict[str, str]], hours: dict[str, str]) -> bool:
    have_ranges = {(str(r["startAddress"]), str(r["endAddress"])) for r in profile.get("loginIpRanges") or []}
    have_hours = {k: str(v) for k, v in (profile.get("loginHours") or {}).items() if v not in (None, "")}
    return (not ranges or have_ranges == {(r["startAddress"], r["endAddress"]) for r in ranges}) and (
        not hours or have_hours == hours
    )


@task(**PERSIST)
def set_login_restrictions(profile_name: str, ip_ranges: list[str], hours: list[str]) -> dict[str, Any]:
    """Login IP ranges and hours of *profile_name* by Metadata API, read back to verify.

    ``{"set": True, "changed": bool}``, or ``{"set": False, "code", "missing_permission"}`` when the org refuses
    the call (a person then sets them in Setup)."""
    ranges, wanted_hours = login_ranges(ip_ranges), login_hours(hours)
    full_name = profile_full_name(profile_name)
    try:
        if _matches(_read_profile(profile_name), ranges, wanted_hours):
            return {"set": True, "changed": False}
        change: dict[str, Any] = {"fullName": full_name}
        if ranges:
            change["loginIpRanges"] = [{**r, "description": "set by Baton"} for r in ranges]
        if wanted_hours:
            change["loginHours"] = wanted_hours
        metadata_client().update("Profile", change)
        if not _matches(_read_profile(profile_name), ranges, wanted_hours):
            raise SalesforceError("login restrictions", "NOT_APPLIED", f"profile {profile_name} does not read back")
    except SalesforceError as exc:
        if exc.code not in REFUSALS:
            raise
        get_run_logger().info("the org refuses the Metadata API call (%s); a person sets the restrictions", exc.code)
        return {"set": False, "code": exc.code, "missing_permission": METADATA_PERMISSIONS}
    get_run_logger().info("set %d login IP range(s) and %d day(s) of login hours on %s", len(ranges),
                          len(wanted_hours) // 2, profile_name)  # fmt: skip
    return {"set": True, "changed": True}
