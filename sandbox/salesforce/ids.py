"""Salesforce record Ids: a 3-character key prefix, 15 case-sensitive characters, 3 more for 18."""

from __future__ import annotations

import itertools
import re
import threading

KEY_PREFIXES: dict[str, str] = {
    "Organization": "00D",
    "User": "005",
    "Profile": "00e",
    "UserRole": "00E",
    "UserLicense": "100",
    "PermissionSet": "0PS",
    "PermissionSetAssignment": "0Pa",
    "PermissionSetLicense": "0PL",
    "PermissionSetLicenseAssign": "2LA",
    "UserLogin": "060",
    "LoginHistory": "0Ya",
    "OauthToken": "0CQ",
    "ConnectedApplication": "0H4",
    "SetupEntityAccess": "0J0",
    "QueryLocator": "01g",
}
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")


def to18(id15: str) -> str:
    """The 18-character form of a 15-character Id (each suffix letter encodes 5 case bits)."""
    if len(id15) == 18:
        return id15
    suffix = ""
    for chunk in range(3):
        bits = 0
        for pos, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << pos
        suffix += _SUFFIX_ALPHABET[bits]
    return id15 + suffix


def normalize(value: str) -> str | None:
    """A 15- or 18-character Id in its 18-character form, or ``None`` if *value* is not an Id."""
    if not _ID_RE.match(value):
        return None
    full = to18(value[:15])
    return full if len(value) == 15 or full == value else None


def _base62(number: int, width: int) -> str:
    out = ""
    while number:
        number, digit = divmod(number, 62)
        out = _BASE62[digit] + out
    return out.rjust(width, "0")


class IdFactory:
    """Makes Ids that look like an org's: prefix, a pod-ish pair, a counter; thread-safe."""

    def __init__(self, pod: str = "Hn") -> None:
        self._pod = pod
        self._counter = itertools.count(1000)
        self._lock = threading.Lock()

    def new(self, sobject: str) -> str:
        with self._lock:
            number = next(self._counter)
        prefix = KEY_PREFIXES[sobject]
        return to18(prefix + self._pod + _base62(number * 7919, 10))


def prefix_object(record_id: str) -> str | None:
    """The object a record Id belongs to, from its key prefix."""
    for name, prefix in KEY_PREFIXES.items():
        if record_id.startswith(prefix):
            return name
    return None
