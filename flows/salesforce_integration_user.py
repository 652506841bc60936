"""Flow for guides/salesforce-integration-user.txt: a dedicated Salesforce integration user.

Reads like the guide: look the user up (never a duplicate) → a profile with API Enabled (a real clone by
Metadata API, restricted as asked, when asked) → the user with role, profile and licence → a generated
password, staged in Vault and set by API → login IP ranges and hours by Metadata API, read back (a person
only when the org refuses the call) → the credential: the JWT bearer flow with no person at all (a key
pair for the connected app named in settings, the user pre-authorized through a permission set), OAuth
consent as the new user through the gateway, or a security-token reset deposited through the gateway →
verify with a test call before promoting in Vault → report.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any, Literal

from prefect import flow
from pydantic import BaseModel, EmailStr, Field, field_validator, model_validator

from flows.human import human_step, reveal_link, secret_step
from flows.plan import InvalidRequest, Report, Step, Steps, validate
from flows.reporting import finish, run_reported, show_plan, who
from tasks import salesforce as sf
from tasks import salesforce_jwt as sfj
from tasks import salesforce_metadata as sfm

TITLE = "Create a Salesforce integration user"
STEPS: Steps = {
    "lookup": Step("Look the user up", "automatic", "never create a duplicate"),
    "profile": Step("Ensure the profile", "automatic", "a Metadata API clone, restricted, when asked; API Enabled"),
    "user": Step("Create the user", "automatic", "role, profile, licence"),
    "password": Step("Set a generated password", "automatic", "staged in Vault, set by API"),
    "login-restrictions": Step(
        "Restrict login IP ranges and hours", "automatic", "Metadata API, read back; a person only if the org refuses"
    ),
    "jwt-key": Step("Put Baton's certificate on the connected app", "automatic", "private key staged in Vault"),
    "jwt-grant": Step("Pre-authorize the user for the connected app", "automatic", "a permission set granting it"),
    "oauth-consent": Step("Authorize Baton as the new user (OAuth)", "person", "consent page through Baton's gateway"),
    "security-token": Step("Reset and deposit the security token", "person", "e-mailed to the user; deposit page"),
    "verify": Step("Verify the credential, then promote it in Vault", "automatic", "a test call as the new user"),
    "report": Step("Report", "automatic", "Prefect artifact and Slack thread"),
}
HOURS = re.compile(
    r"^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday) ([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$"
)


class IntegrationUserRequest(BaseModel):
    """The flow's parameters (its one declaration: the Prefect UI's run form is built from it), checked before
    anything changes."""

    first_name: str = Field(min_length=1, max_length=40, description="The integration user's first name")
    last_name: str = Field(min_length=1, max_length=80, description="Last name, e.g. Integration")
    email: EmailStr = Field(description="A mailbox the team reads (Salesforce mails the user there)")
    username: EmailStr = Field(description="Salesforce usernames look like e-mail addresses and are unique")
    alias: str = Field(min_length=1, max_length=8, description="Up to 8 characters")
    role_name: str | None = Field(None, description="A low role, as the guide advises (optional)")
    profile: str = Field(min_length=1, description="The profile to use, or to clone when clone_profile_as is set")
    clone_profile_as: str | None = Field(None, description="Name of a new profile cloned from profile (optional)")
    licence: str = Field("Salesforce", description="User licence, e.g. Salesforce or Salesforce Integration")
    login_ip_ranges: list[str] = Field(
        default_factory=list, description='"start-end", e.g. "203.0.113.10-203.0.113.20"'
    )
    login_hours: list[str] = Field(default_factory=list, description='"Monday 08:00-18:00"')
    credential_mode: Literal["oauth", "security_token", "jwt"] = Field(
        "oauth",
        description="oauth: consent as the new user (preferred for a vendor's connector); security_token: reset and "
        "deposit it; jwt: the JWT bearer flow, no person at all (the organisation's own integrations)",
    )
    disable_permissions: list[str] = Field(
        default_factory=list,
        description="Permissions turned off on the clone, e.g. ExportReport (needs clone_profile_as)",
    )
    requested_by: str = Field(min_length=3, description="e-mail of the person asking (they may not approve)")

    @field_validator("login_ip_ranges")
    @classmethod
    def _ranges(cls, ranges: list[str]) -> list[str]:
        for item in ranges:
            try:
                start, end = (ipaddress.IPv4Address(p.strip()) for p in item.split("-"))
            except ValueError:
                raise ValueError(f"{item!r} is not 'start-end' IPv4, e.g. '203.0.113.10-203.0.113.20'") from None
            if start > end:
                raise ValueError(f"{item!r}: the start address is after the end address")
        return ranges

    @field_validator("login_hours")
    @classmethod
    def _hours(cls, hours: list[str]) -> list[str]:
        for item in hours:
            if not HOURS.match(item):
                raise ValueError(f"{item!r} is not like 'Monday 08:00-18:00'")
        return hours

    @model_validator(mode="after")
    def _clone_differs(self) -> IntegrationUserRequest:
        if self.clone_profile_as and self.clone_profile_as == self.profile:
            raise ValueError("clone_profile_as must differ from profile (the profile to clone)")
        if self.disable_permissions and not self.clone_profile_as:
            raise ValueError("disable_permissions: only a clone is restricted; set clone_profile_as too")
        if "ApiEnabled" in self.disable_permissions:
            raise ValueError("disable_permissions: an integration user needs ApiEnabled; remove it from the list")
        return self

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", str(self.username).lower()).strip("-")


def _ip_hours_instruction(req: IntegrationUserRequest, profile: str, refused: dict[str, Any]) -> str:
    lines = [
        f"Baton could not set these by Metadata API: the org answered {refused['code']} (Baton's Salesforce user "
        f"needs the {refused['missing_permission']} permission). In Salesforce, **Setup > Profiles > {profile}**:"
    ]
    if req.login_ip_ranges:
        lines.append("*Login IP Ranges* > **New** for each range (Start IP Address, End IP Address):")
        lines += [f"• {r.replace('-', ' → ')}" for r in req.login_ip_ranges]
    if req.login_hours:
        lines.append("*Login Hours* > **Edit**, and set:")
        lines += [f"• {h}" for h in req.login_hours]
    lines.append("Save, then press **Done**.")
    return "\n".join(lines)


@flow(name="create-salesforce-integration-user", validate_parameters=False)
def create_salesforce_integration_user(request: IntegrationUserRequest, plan: bool = False) -> dict[str, Any]:
    """Create a dedicated integration user as the guide describes; ``plan=True`` prints the steps only."""
    req = validate(IntegrationUserRequest, request)
    if plan:
        skipped = set()
        if not (req.login_ip_ranges or req.login_hours):
            skipped.add("login-restrictions")
        modes = {"oauth": {"oauth-consent"}, "security_token": {"security-token"}, "jwt": {"jwt-key", "jwt-grant"}}
        skipped |= set().union(*(keys for mode, keys in modes.items() if mode != req.credential_mode))
        return show_plan(f"{TITLE}: {req.username}", STEPS, skipped)

    return run_reported(
        f"{TITLE}: {req.username}",
        f"*{TITLE}*: `{req.username}` (requested by {req.requested_by})",
        lambda report, thread_ts, run_id: _run(req, report, thread_ts, run_id),
    )


def _run(req: IntegrationUserRequest, report: Report, thread_ts: str | None, run_id: str) -> dict[str, Any]:
    app = sfj.jwt_app() if req.credential_mode == "jwt" else ""  # a missing setting stops the run before any change
    existing = sf.find_user(req.username)
    report.add(STEPS["lookup"], f"found {existing}" if existing else "not there yet")
    licence_info = sf.check_licence(req.profile, req.licence)
    if not existing and licence_info["free"] < 1:
        raise InvalidRequest(f"no '{req.licence}' licence seat is free; free one, then run again (nothing changed)")
    if req.clone_profile_as:
        clone = sfm.clone_profile(req.profile, req.clone_profile_as, req.disable_permissions)
        profile_id = clone["profile_id"]
        changes = "; ".join(clone["differences"]) or "none"
        report.add(
            STEPS["profile"], f"{req.clone_profile_as} ({profile_id}), a clone of {req.profile}; differs: {changes}"
        )
    else:
        profile_id = sf.ensure_profile(req.profile)
        report.add(STEPS["profile"], f"{req.profile} ({profile_id}), API Enabled")
    role_id = sf.role_id(req.role_name) if req.role_name else None
    spec = sf.UserSpec(req.first_name, req.last_name, str(req.email), str(req.username), req.alias, profile_id, role_id)
    user_id = sf.ensure_user(spec)
    report.add(STEPS["user"], f"{req.username} ({user_id})")
    password_path = f"baton/integrations/salesforce-{req.slug}/password"
    password = sf.ensure_password(user_id, password_path, run_id)
    report.add(STEPS["password"], f"Vault {password.path} v{password.version}")

    if req.login_ip_ranges or req.login_hours:
        restricted = _restrict(req, report, thread_ts)
        if restricted is not None:
            return _finish(report, thread_ts, run_id, restricted)
    if req.credential_mode == "jwt":
        return _jwt(req, app, report, thread_ts, run_id, user_id, password)
    return _credential(req, report, thread_ts, run_id, user_id, password)


def _restrict(req: IntegrationUserRequest, report: Report, thread_ts: str | None) -> str | None:
    """Login IP ranges and hours by Metadata API; a person only when the org refuses. A status when stopped."""
    profile = req.clone_profile_as or req.profile
    result = sfm.set_login_restrictions(profile, req.login_ip_ranges, req.login_hours)
    if result["set"]:
        done_how = "set by Metadata API" if result["changed"] else "already set"
        report.add(STEPS["login-restrictions"], f"{done_how} on {profile}, read back")
        return None
    done = human_step(
        "login-restrictions", title="Restrict login IP ranges and hours", kind="task",
        instruction=_ip_hours_instruction(req, profile, result), assignee=req.requested_by, thread_ts=thread_ts,
        state_if_expired=f"The user {req.username} exists without login restrictions and is not used yet.",
    )  # fmt: skip
    report.add(STEPS["login-restrictions"], f"{who(done)} (the org refused the Metadata API: {result['code']})")
    if not done.ok:
        return "stopped: a person reported a problem with the restrictions"
    return None


def _jwt(
    req: IntegrationUserRequest, app: str, report: Report, thread_ts: str | None, run_id: str, user_id: str,
    password: Any,
) -> dict[str, Any]:  # fmt: skip
    """The JWT bearer flow: no person. Key pair for the app (staged), the user pre-authorized, a grant as the user."""
    path = sfj.key_path(app)
    key = sfj.ensure_jwt_key(app, path, run_id)
    report.add(
        STEPS["jwt-key"], f"certificate {key['fingerprint']} on {app}; private key in Vault {path} v{key['version']}"
    )
    grant = sfj.ensure_app_grant(app, f"Baton_JWT_{sfj.app_full_name(app)}", user_id)
    granted = f"SetupEntityAccess {grant['setup_entity_access_id']}"
    report.add(
        STEPS["jwt-grant"], f"permission set {grant['permission_set_id']} grants {app} ({granted}), to {user_id}"
    )
    version = sfj.verify_jwt_and_promote(
        path, key["version"], key["consumer_key"], str(req.username), user_id, run_id, req.requested_by
    )
    sf.promote_password(password.path, password.version, run_id, req.requested_by)
    report.add(STEPS["verify"], f"JWT bearer grant answered as {user_id}; Vault {path} v{version} is current")
    return _finish(report, thread_ts, run_id, "done", user_id=user_id)


def _credential(
    req: IntegrationUserRequest, report: Report, thread_ts: str | None, run_id: str, user_id: str, password: Any
) -> dict[str, Any]:
    """OAuth consent (a person, through the gateway) or a security-token reset (a person, deposit page)."""
    if req.credential_mode == "oauth":
        oauth_path = f"baton/integrations/salesforce-{req.slug}/oauth"
        version = sf.credential_in_custody(oauth_path, user_id)
        if version is None:
            consent = secret_step(
                "oauth-consent", title="Authorize Baton as the new integration user",
                instruction=(f"1. Open *the integration user's password* (shown once).\n2. Press **Sign in to "
                             f"Salesforce**, log in as `{req.username}` with that password, and press **Allow**."),
                vault_path=oauth_path, oauth_provider="salesforce", assignee=req.requested_by, thread_ts=thread_ts,
                extra_links=reveal_link(password.path, password.version, "password", "the integration user's password"),
                state_if_expired=f"The user {req.username} exists; its password is pending in Vault, unused.",
            )  # fmt: skip
            report.add(STEPS["oauth-consent"], who(consent))
            if not consent.ok:
                return _finish(report, thread_ts, run_id, "stopped: a person reported a problem with the consent")
            version = sf.verify_oauth_and_promote(oauth_path, consent.vault_version, user_id, run_id, req.requested_by)
        else:
            report.add(STEPS["oauth-consent"], "already authorized and working; nothing asked")
        sf.promote_password(password.path, password.version, run_id, req.requested_by)
        report.add(STEPS["verify"], f"userinfo answered as {user_id}; Vault {oauth_path} v{version} is current")
    else:
        token_path = f"baton/integrations/salesforce-{req.slug}/security-token"
        if sf.password_login_works(str(req.username), password.path, token_path):
            report.add(STEPS["security-token"], "the token in Vault already works; nothing asked")
            report.add(STEPS["verify"], "password login succeeded with the current credentials")
            return _finish(report, thread_ts, run_id, "done", user_id=user_id)
        reset = secret_step(
            "security-token", title="Reset the integration user's security token and deposit it",
            instruction=(f"1. Open *the integration user's password* (shown once) and log in as `{req.username}`.\n"
                         "2. **Settings > Reset My Security Token**; the token arrives by e-mail.\n"
                         "3. Paste it on the deposit page."),
            vault_path=token_path, field="security_token", assignee=req.requested_by, thread_ts=thread_ts,
            extra_links=reveal_link(password.path, password.version, "password", "the integration user's password"),
            state_if_expired=f"The user {req.username} exists; its password is pending in Vault, unused.",
        )  # fmt: skip
        report.add(STEPS["security-token"], who(reset))
        if not reset.ok:
            return _finish(report, thread_ts, run_id, "stopped: a person reported a problem with the token")
        sf.verify_password_login_and_promote(
            str(req.username), password.path, token_path, reset.vault_version, run_id, req.requested_by
        )
        report.add(STEPS["verify"], f"password login succeeded; Vault {token_path} and {password.path} are current")
    return _finish(report, thread_ts, run_id, "done", user_id=user_id)


_finish = functools.partial(finish, step=STEPS["report"], artifact_key="integration-user-report")
