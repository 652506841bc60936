"""Login IP ranges and login hours of a profile (set through the Metadata API), checked at every login:
SOAP, OAuth (password, JWT bearer) and the login page. As Salesforce: a profile with IP ranges denies a
login from any other address; a profile with login hours denies a login outside them.

SOAP faults are the partner API's LoginFault codes ``LOGIN_DURING_RESTRICTED_DOMAIN`` ("The user is not
allowed to log in from this IP address.") and ``LOGIN_DURING_RESTRICTED_TIME``; the token endpoint answers
``invalid_grant`` "ip restricted" / "login hours restricted"; LoginHistory says "Restricted IP" /
"Restricted Time". Hours are minutes after midnight in the org's time zone (``org.time_zone``), read from
``org.clock()`` (tests may replace it).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.salesforce.errors import LoginFailed

Record = dict[str, Any]
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
RESTRICTED_IP = LoginFailed("LOGIN_DURING_RESTRICTED_DOMAIN", "The user is not allowed to log in from this IP address.")
RESTRICTED_TIME = LoginFailed(
    "LOGIN_DURING_RESTRICTED_TIME", "The user is not allowed to log in during this time period."
)
STATUS = {"LOGIN_DURING_RESTRICTED_DOMAIN": "Restricted IP", "LOGIN_DURING_RESTRICTED_TIME": "Restricted Time"}
OAUTH_DESCRIPTION = {
    "LOGIN_DURING_RESTRICTED_DOMAIN": "ip restricted",
    "LOGIN_DURING_RESTRICTED_TIME": "login hours restricted",
}


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def range_problem(start: str, end: str) -> str | None:
    """Why (start, end) is not a valid login IP range, or None."""
    low, high = parse_ip(start), parse_ip(end)
    if low is None or high is None:
        return f"Invalid IP address: {start if low is None else end}"
    if low.version != high.version or low > high:  # type: ignore[operator]
        return "The start IP address must be less than or equal to the end IP address."
    return None


def in_ranges(ip: str, ranges: list[Record]) -> bool:
    address = parse_ip(ip)
    if address is None:
        return False
    for item in ranges:
        low, high = parse_ip(str(item["startAddress"])), parse_ip(str(item["endAddress"]))
        if low is not None and high is not None and low.version == address.version and low <= address <= high:  # type: ignore[operator]
            return True
    return False


def hours_allow(hours: Record, moment: dt.datetime) -> bool:
    """Whether *moment* (aware, in the org's zone) falls in the login hours of its weekday."""
    day = DAYS[moment.weekday()]
    start, end = hours.get(f"{day}Start"), hours.get(f"{day}End")
    if start in (None, "") and end in (None, ""):
        return not any(hours.get(f"{d}Start") not in (None, "") for d in DAYS)  # no hours at all: no restriction
    minute = moment.hour * 60 + moment.minute
    return int(start or 0) <= minute < int(end or 1440)


def check(profile: Record, source_ip: str, now: dt.datetime, time_zone: str) -> LoginFailed | None:
    """The refusal for a login by a user of *profile* from *source_ip* at *now*, or None."""
    ranges = profile.get("_loginIpRanges") or []
    if ranges and not in_ranges(source_ip, ranges):
        return RESTRICTED_IP
    hours = profile.get("_loginHours") or {}
    if hours and not hours_allow(hours, now.astimezone(ZoneInfo(time_zone))):
        return RESTRICTED_TIME
    return None
