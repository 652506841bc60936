"""The jwt mode's request rules and the login-restriction conversions (no server needed)."""

from __future__ import annotations

import pytest

from flows.plan import InvalidRequest, validate
from flows.salesforce_integration_user import IntegrationUserRequest
from tasks.salesforce_metadata import login_hours, login_ranges

BASE = {
    "first_name": "Jwt", "last_name": "Integration", "email": "jwt@acme.example", "username": "jwt@acme.example",
    "alias": "jwtint", "profile": "Standard User", "requested_by": "bob@acme.example",
}  # fmt: skip


def test_jwt_is_a_credential_mode() -> None:
    req = validate(IntegrationUserRequest, {**BASE, "credential_mode": "jwt", "clone_profile_as": "Clone",
                                            "disable_permissions": ["ExportReport"]})  # fmt: skip
    assert req.credential_mode == "jwt" and req.disable_permissions == ["ExportReport"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"disable_permissions": ["ExportReport"]}, "disable_permissions: only a clone"),
        ({"clone_profile_as": "Clone", "disable_permissions": ["ApiEnabled"]}, "needs ApiEnabled"),
        ({"credential_mode": "magic"}, "credential_mode"),
    ],
)
def test_bad_requests_name_the_field(extra: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRequest, match=field):
        validate(IntegrationUserRequest, {**BASE, **extra})


def test_login_hours_become_minutes_after_midnight() -> None:
    assert login_hours(["Monday 08:00-18:00", "Sunday 00:00-24:00"]) == {
        "mondayStart": "480", "mondayEnd": "1080", "sundayStart": "0", "sundayEnd": "1440",
    }  # fmt: skip
    with pytest.raises(ValueError, match="Funday"):
        login_hours(["Funday 08:00-18:00"])


def test_login_ranges_become_start_and_end_addresses() -> None:
    assert login_ranges(["203.0.113.10-203.0.113.20"]) == [
        {"startAddress": "203.0.113.10", "endAddress": "203.0.113.20"}
    ]
