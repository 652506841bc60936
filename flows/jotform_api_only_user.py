"""Flow for guides/jotform-salesforce-api-only-user.txt: Jotform's Salesforce integration as an API-only user.

Reads like the guide: a permission set with the "Salesforce API Integration" licence → the user with the
"Salesforce Integration" licence and the "Minimum Access - API Only Integrations" profile (and a generated
password, staged in Vault: the person needs it to sign in for Jotform) → the new user verifies their
e-mail (a person) → the permission set licence, then the permission set, assigned → in Jotform,
Authenticate as the API-only user, Allow, choose action, object and mapping, Save (a person) → check in
the org that Jotform is authorized by that user (OauthToken) and promote the password → report.
Every change is looked up first, so a rerun after a crash or a stop converges without duplicates.
"""

from __future__ import annotations

import functools
import re
from typing import Any, ParamSpec, TypeVar

from prefect import Task, flow
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, EmailStr, Field, field_validator

from core.errors import BatonError
from flows.human import human_step, reveal_link
from flows.plan import InvalidRequest, Report, Step, Steps, validate
from flows.reporting import finish, run_reported, show_plan, who
from tasks import jotform as jf
from tasks import salesforce as sf

FLOW_NAME = "create-jotform-api-only-user"
TITLE = "Create a Salesforce API-only user for Jotform"
USER_LICENCE = "Salesforce Integration"
PROFILE = "Minimum Access - API Only Integrations"
PERMISSION_SET_LICENCE = "Salesforce API Integration"
CONNECTED_APP = "Jotform"  # the connected app Jotform's Salesforce integration signs in through
STEPS: Steps = {
    "check": Step("Check the form, the licences and the username", "automatic", "nothing changes when one is wrong"),
    "permission-set": Step(
        "Create the permission set", "automatic", f"licence {PERMISSION_SET_LICENCE}; looked up by API name first"
    ),
    "user": Step(
        "Create the integration user", "automatic", f"licence {USER_LICENCE}, profile {PROFILE}; by Username first"
    ),
    "password": Step("Set a generated password", "automatic", "staged in Vault, set by API; shown once to the person"),
    "verify-email": Step(
        "Verify the new user's e-mail", "person", "the link in Salesforce's e-mail; checked in the org if it says"
    ),
    "licence-assignment": Step(
        "Assign the permission set licence", "automatic", "PermissionSetLicenseAssign, looked up first"
    ),
    "permission-set-assignment": Step(
        "Assign the permission set", "automatic", "PermissionSetAssignment, looked up first"
    ),
    "jotform-authenticate": Step(
        "Authenticate Jotform as the API-only user", "person", "Form Builder > Settings > Integrations > Salesforce"
    ),
    "check-authorized": Step(
        "Check that Jotform is authorized by the API-only user", "automatic", "OauthToken; then promote the password"
    ),
    "report": Step("Report", "automatic", "Prefect artifact and Slack thread"),
}
# Salesforce's rule for API names (DeveloperName): letters, digits and single underscores, starting
# with a letter and not ending with an underscore.
API_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*$")


class ApiOnlyUserRequest(BaseModel):
    """The flow's parameters, checked before anything changes."""

    first_name: str = Field("", max_length=40, description="optional, but the guide recommends it")
    last_name: str = Field(min_length=1, max_length=80)
    email: EmailStr = Field(description="an active mailbox: the new user verifies it")
    username: EmailStr = Field(description="Salesforce usernames look like e-mail addresses and are unique")
    alias: str = Field(min_length=1, max_length=8)
    permission_set_name: str = Field(min_length=1, max_length=80, description="API name, e.g. Jotform_API_Only")
    permission_set_label: str = Field(min_length=1, max_length=80)
    form_id: str = Field(pattern=r"^\d{6,20}$", description="the number in the form's URL")
    requested_by: str = Field(min_length=3, description="e-mail of the person asking")

    @field_validator("permission_set_name")
    @classmethod
    def _api_name(cls, name: str) -> str:
        if not API_NAME.match(name) or name.endswith("_"):
            raise ValueError(
                f"{name!r} is not an API name: use letters, digits and single underscores, start with a letter "
                "and do not end with an underscore, e.g. 'Jotform_API_Only'"
            )
        return name

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", str(self.username).lower()).strip("-")


P = ParamSpec("P")
R = TypeVar("R")


class StepNotDone(BatonError):
    """A person answered Done, but the org shows the step is not done; the message says what to redo."""


def _again(check: Task[P, R]) -> Task[P, R]:
    """*check* asked again after a person's answer: never from the cache. (The first ask stays cached
    for the run, so a suspended run that restarts from the top reaches the same human step and reads
    the answer it already has.)"""
    return check.with_options(cache_policy=NO_CACHE)


# -- what people read (the guide's words) ----------------------------------------------------------


def _verify_email_instruction(req: ApiOnlyUserRequest) -> str:
    return (
        f"The new user `{req.username}` was created. Salesforce has sent *Welcome to Salesforce: Verify your "
        f"account* to `{req.email}`.\n"
        "As the guide says: _After saving, the new user should verify their account through the email that's sent "
        "to their email address._\n"
        "1. Open that e-mail and click the verification link.\n"
        "2. The page then says the user is an *API Only User*: that is expected.\n"
        "Then press **Done**."
    )


def _jotform_instruction(req: ApiOnlyUserRequest, form: dict[str, str]) -> str:
    title = f"*{form['title']}* ({req.form_id})" if form.get("title") else f"form {req.form_id}"
    return "\n".join([
        f"Set up Jotform's Salesforce integration for {title} as the API-only user `{req.username}`:",
        "1. Open *the API-only user's password* (shown once) and keep it at hand.",
        "2. In the Form Builder, go to the **Settings** tab. Select **Integrations** from the left panel. "
        "Search for **Salesforce** and click it (or open *Jotform: the form's Salesforce integration*).",
        "3. Click the **Authenticate** button.",
        f"4. Log in to the API Only Account (`{req.username}`, not your own), and ensure to click **Allow** "
        "when asked for permissions.",
        "5. Choose an action from the list: **Create or update a record** or **Find existing record**.",
        "6. Select the appropriate **Object**, and map your form fields accordingly.",
        "7. Click the **Save** button to complete the integration, then press **Done** here.",
        f"Baton then checks in Salesforce that Jotform is authorized by `{req.username}`.",
    ])  # fmt: skip


def _not_verified(req: ApiOnlyUserRequest) -> str:
    return (
        f"Salesforce reports the e-mail of {req.username} as not verified: open the link in the 'Verify your "
        f"account' e-mail sent to {req.email}, then run the flow again (it picks up where it stopped)"
    )


def _not_authorized(req: ApiOnlyUserRequest, latest_user: str | None) -> str:
    other = f"; the latest Jotform authorization in the org is by {latest_user}" if latest_user else ""
    return (
        f"Jotform is not authorized by {req.username} in Salesforce{other}. In Jotform's Form Builder, Settings > "
        f"Integrations > Salesforce, press Authenticate, log in as {req.username} (not as yourself), press Allow, "
        "choose the action, object and mapping and Save; then run the flow again (it picks up where it stopped)"
    )


def _seat_problem(what: str) -> str:
    return f"no '{what}' seat is free; free one (or buy more), then run the flow again (nothing changed)"


# -- the flow ---------------------------------------------------------------------------------------


@flow(name=FLOW_NAME, validate_parameters=False)
def create_jotform_api_only_user(request: ApiOnlyUserRequest, plan: bool = False) -> dict[str, Any]:
    """Create an API-only Salesforce user for Jotform's integration as the guide describes; ``plan=True``
    prints the steps (automatic or a person) and changes nothing."""
    req = validate(ApiOnlyUserRequest, request)
    if plan:
        return show_plan(f"{TITLE}: {req.username}", STEPS)

    return run_reported(
        f"{TITLE}: {req.username}",
        f"*{TITLE}*: `{req.username}` for Jotform form {req.form_id} (requested by {req.requested_by})",
        lambda report, thread_ts, run_id: _run(req, report, thread_ts, run_id),
    )


def _run(req: ApiOnlyUserRequest, report: Report, thread_ts: str | None, run_id: str) -> dict[str, Any]:
    username = str(req.username)
    form = jf.find_form(req.form_id)
    licence = sf.permission_set_licence(PERMISSION_SET_LICENCE)
    seats = sf.check_licence(PROFILE, USER_LICENCE)
    existing = sf.existing_user(username)
    if existing and existing["profile"] != PROFILE:
        raise InvalidRequest(
            f"username: {username} is taken by a user with the profile {existing['profile']!r}, not {PROFILE!r}; "
            "choose another username (nothing changed)"
        )
    if existing and not existing["active"]:
        raise InvalidRequest(f"username: {username} is inactive; reactivate it or choose another (nothing changed)")
    if not existing and seats["free"] < 1:
        raise InvalidRequest(_seat_problem(USER_LICENCE))
    if not existing and licence["free"] < 1:
        raise InvalidRequest(_seat_problem(PERMISSION_SET_LICENCE))
    title = repr(form["title"]) if form["title"] else "(not checked: BATON_JOTFORM_API_KEY is not set)"
    user = f"found: {existing['id']}" if existing else "not there yet"
    report.add(STEPS["check"], f"form {form['id']} {title}; user {user}")

    ps_id = sf.ensure_permission_set(req.permission_set_name, req.permission_set_label, licence["id"])
    report.add(STEPS["permission-set"], f"{req.permission_set_name} ({ps_id}), licence {PERMISSION_SET_LICENCE}")
    spec = sf.UserSpec(req.first_name, req.last_name, str(req.email), username, req.alias, seats["profile_id"], None)
    user_id = sf.ensure_user(spec)
    report.add(STEPS["user"], f"{username} ({user_id}), {USER_LICENCE} / {PROFILE}")
    password_path = f"baton/integrations/jotform-salesforce-{req.slug}/password"
    password = sf.ensure_password(user_id, password_path, run_id, staged_by=FLOW_NAME)
    report.add(STEPS["password"], f"Vault {password.path} v{password.version}")

    verified = sf.email_verified(username, password.path)
    if verified:
        report.add(STEPS["verify-email"], "already verified (Salesforce says so); nothing asked")
    else:
        answer = human_step(
            "verify-email", title="Verify the new API-only user's e-mail", kind="task",
            instruction=_verify_email_instruction(req), assignee=req.requested_by, thread_ts=thread_ts,
            state_if_expired=f"The user {username} exists with its permission set unassigned; nothing uses it yet.",
        )  # fmt: skip
        if not answer.ok:
            report.add(STEPS["verify-email"], who(answer))
            return _finish(report, thread_ts, run_id, "stopped: a person reported a problem with the e-mail")
        verified = _again(sf.email_verified)(username, password.path)
        if verified is False:
            raise StepNotDone(_not_verified(req))
        checked = "Salesforce confirms it" if verified else "Salesforce does not say; the answer is the record"
        report.add(STEPS["verify-email"], f"{who(answer)}; {checked}")

    psl_assignment = sf.ensure_licence_assignment(user_id, licence["id"])
    report.add(STEPS["licence-assignment"], f"{PERMISSION_SET_LICENCE} ({psl_assignment})")
    ps_assignment = sf.ensure_permission_set_assignment(user_id, ps_id)
    report.add(STEPS["permission-set-assignment"], f"{req.permission_set_name} ({ps_assignment})")

    authorization = sf.app_authorization(CONNECTED_APP, user_id)
    if authorization["authorized"]:
        report.add(STEPS["jotform-authenticate"], f"Jotform is already authorized by {username}; nothing asked")
    else:
        reveal = reveal_link(password.path, password.version, "password", "the API-only user's password")
        answer = human_step(
            "jotform-authenticate", title="Authenticate Jotform's Salesforce integration as the API-only user",
            kind="task", instruction=_jotform_instruction(req, form), assignee=req.requested_by, thread_ts=thread_ts,
            extra_links=lambda: {**reveal(), "Jotform: the form's Salesforce integration": form["integration_page"]},
            state_if_expired=f"The user {username} is set up with its permission set; its password is pending in "
                             "Vault, and Jotform still uses its former Salesforce account.",
        )  # fmt: skip
        report.add(STEPS["jotform-authenticate"], who(answer))
        if not answer.ok:
            return _finish(report, thread_ts, run_id, "stopped: a person reported a problem in Jotform")
        authorization = _again(sf.app_authorization)(CONNECTED_APP, user_id)
        if authorization["authorized"] is False:
            raise StepNotDone(_not_authorized(req, authorization["latest_user"]))
    sf.promote_password(password.path, password.version, run_id, req.requested_by)
    report.add(
        STEPS["check-authorized"],
        f"{_authorization_note(authorization)} (app {CONNECTED_APP}, user {user_id}); "
        f"Vault {password.path} v{password.version} is current",
    )
    return _finish(report, thread_ts, run_id, "done", user_id=user_id, permission_set_id=ps_id)


def _authorization_note(authorization: dict[str, Any]) -> str:
    if authorization["authorized"] is None:
        return "a person's answer (Baton's Salesforce user cannot see other users' OauthTokens)"
    return f"{authorization['tokens']} OauthToken row(s)"


_finish = functools.partial(finish, step=STEPS["report"], artifact_key="jotform-api-only-user-report")
