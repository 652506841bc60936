"""Flow for guides/intercom-change-app-user.txt (with intercom-jira-connection.txt): make a dedicated Jira user the
Intercom app user of "Jira Cloud for Intercom".

Reads like the guide: the dedicated Jira user ("Intercom app"), looked up first and created through Jira's REST API
only when missing (it takes a seat; Atlassian e-mails the person an invitation, which is how they get into it) →
its groups → its permissions on the projects the app uses, checked by accountId (refused with the missing one
named) → log out of Jira → uninstall the Intercom app (links and comments are kept) → reinstall it and authorise
as the new Jira user → confirm the app user on the "App info" screen (no API tells it: self-declared) → report.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from prefect import flow
from pydantic import BaseModel, EmailStr, Field, model_validator

from flows.handover_common import INTEGRATION_ID, Waits, hhmm, minutes_between, now_iso, validated
from flows.human import HumanResult, human_step
from flows.plan import Report, Step
from flows.reporting import finish, run_reported, show_plan, who
from tasks import jira
from tasks.handover_guard import no_other_handover
from tasks.services import services

FLOW_NAME = "change-intercom-app-user"
TITLE = "Change the Intercom app user"
APP = "Jira Cloud for Intercom"


class S(Enum):
    PREFLIGHT = Step("Check before any change", "automatic", "no other handover of this integration; the leaver")
    USER = Step("Create a dedicated Jira user for the Intercom app", "automatic",
                "by e-mail first (never a duplicate); a new one takes a seat and gets an invitation")  # fmt: skip
    GROUPS = Step("Put it in its groups", "automatic", "each added only when missing")
    PERMISSIONS = Step("Check its permissions on the app's projects", "automatic",
                       "POST /rest/api/3/permissions/check by accountId; refused naming what is missing")  # fmt: skip
    LOGOUT = Step("Log out of Jira", "person", "avatar (top right) > Logout")
    UNINSTALL = Step("Uninstall the Intercom app", "person", "links and comments are kept")
    REINSTALL = Step("Reinstall it and authorise as the new Jira user", "person", "Jira asks you to log in first")
    APP_INFO = Step("Confirm the app user in App info", "person", "no API tells the app user: self-declared")
    REPORT = Step("Report", "automatic", "Prefect artifact and Slack thread")


class IntercomAppUserRequest(BaseModel):
    """What a run of change-intercom-app-user needs (its one parameter, ``request``)."""

    integration_id: str = Field(pattern=INTEGRATION_ID, description="Baton's id of this integration, e.g. "
                                "'intercom-jira'; one handover per id at a time")  # fmt: skip
    leaver: EmailStr = Field(description="e-mail of the Jira account the app runs as today")
    successor: EmailStr = Field(description="e-mail of the dedicated Jira user (created when missing)")
    successor_name: str = Field("Intercom app", min_length=1, max_length=255, description="its display name")
    groups: list[str] = Field(default_factory=lambda: ["jira-software-users"], description="Jira groups it needs")
    projects: list[int] = Field(min_length=1, description="ids of the Jira projects the Intercom app uses")
    permissions: list[str] = Field(
        default_factory=lambda: ["BROWSE_PROJECTS", "CREATE_ISSUES", "ADD_COMMENTS"],
        description="project permissions the app needs there (create issues, link and comment)",
    )
    intercom_workspace: str = Field(pattern=r"^[a-z0-9]{4,20}$", description="the workspace id in Intercom's URLs")
    requested_by: str = Field(min_length=3, description="e-mail of the person asking")
    assignee: str = Field("", description="who does the steps (e-mail or Slack id); default: requested_by")
    waits: Waits = Field(default_factory=Waits)

    @model_validator(mode="after")
    def _different(self) -> IntercomAppUserRequest:
        if str(self.leaver).lower() == str(self.successor).lower():
            raise ValueError("successor must differ from leaver: the app moves to a dedicated Jira user")
        return self


@flow(name=FLOW_NAME, validate_parameters=False)
def change_intercom_app_user(request: IntercomAppUserRequest, plan: bool = False) -> dict[str, Any]:
    """Change the Intercom app user as the guide describes; ``plan=True`` prints the steps and changes nothing."""
    req = validated(IntercomAppUserRequest, request, TITLE)
    title = f"{TITLE}: {req.leaver} → {req.successor}"
    if plan:
        return show_plan(title, {s.name.lower(): s.value for s in S})
    thread_title = (f"*{TITLE}* ({APP}, workspace {req.intercom_workspace}): `{req.leaver}` → `{req.successor}` "
                    f"(integration {req.integration_id}, requested by {req.requested_by})")  # fmt: skip
    return run_reported(title, thread_title, lambda report, ts, run_id: _Run(req, report, ts, run_id).go())


class _Run:
    def __init__(self, req: IntercomAppUserRequest, report: Report, thread_ts: str | None, run_id: str) -> None:
        self.req, self.report, self.thread_ts, self.run_id = req, report, thread_ts, run_id
        settings = services().settings
        self.app_page = f"{str(settings.intercom_app_url).rstrip('/')}/a/apps/{req.intercom_workspace}/appstore/jira"
        self.jira_logout = f"{str(settings.jira_site_url).rstrip('/')}/logout"

    def add(self, step: S, outcome: str) -> None:
        self.report.add(step.value.title, outcome)

    def ask(self, key: str, step: S, instruction: str, state: str, links: dict[str, str]) -> HumanResult:
        req = self.req
        return human_step(
            key, title=step.value.title, instruction=instruction, assignee=req.assignee or req.requested_by,
            thread_ts=self.thread_ts, policy=req.waits.policy(), state_if_expired=state, extra_links=lambda: links,
        )  # fmt: skip

    def stop(self, status: str, **extra: str) -> dict[str, Any]:
        return finish(self.report, step=S.REPORT.value.title, artifact_key="intercom-app-user-report",
                      thread_ts=self.thread_ts, run_id=self.run_id, status=status, **extra)  # fmt: skip

    def go(self) -> dict[str, Any]:
        req = self.req
        no_other_handover(FLOW_NAME, req.integration_id, self.run_id)
        leaver = jira.find_account(str(req.leaver))
        self.add(S.PREFLIGHT, f"no other handover of {req.integration_id}; the leaver's Jira account: "
                              + (leaver["account_id"] if leaver else "not found (nothing to check on it)"))  # fmt: skip
        account = jira.ensure_account(str(req.successor), req.successor_name)
        self.account = account
        made = "created: it takes a Jira Software seat; Atlassian e-mailed it an invitation" if account["created"] \
            else "found (not created again)"  # fmt: skip
        self.add(S.USER, f"{req.successor} ({account['account_id']}) {made}")
        added = jira.ensure_groups(account["account_id"], req.groups)
        self.add(S.GROUPS, f"{', '.join(req.groups)}; added now: {', '.join(added) or 'none (all there)'}")
        jira.check_permissions(account["account_id"], req.permissions, req.projects)
        self.add(S.PERMISSIONS, f"{', '.join(req.permissions)} on project(s) {', '.join(map(str, req.projects))}")
        return self.people()

    def people(self) -> dict[str, Any]:
        req = self.req
        unchanged = f"Nothing changed in Intercom: the app still runs as {req.leaver} and works as before."
        answer = self.ask("jira-logout", S.LOGOUT, (
            f"*{TITLE}*: moving {APP} from `{req.leaver}` to `{req.successor}`.\n"
            "Open Jira in your browser and click on your avatar in the top right corner, then click **Logout** "
            "(or use the link below). Reinstalling later authorises the app as whoever is logged in to Jira. "
            "Then press **Done**."
        ), unchanged, {"Jira: log out": self.jira_logout})  # fmt: skip
        self.add(S.LOGOUT, who(answer))
        if not answer.ok:
            return self.stop(f"stopped before any change in Intercom. {unchanged}")
        broken = (
            f"Intercom side broken: the app is uninstalled, so Intercom cannot reach Jira. Way back: in Intercom "
            f"({self.app_page}) click Install and authorise as {req.successor} (or as {req.leaver} to roll back). "
            "Links and comments are kept."
        )
        answer = self.ask("intercom-uninstall", S.UNINSTALL, (
            "After that, follow the steps to **uninstall** the Intercom app (App info page, link below > Uninstall).\n"
            "_No data will be lost when uninstalling and re-installing the app_: Intercom may show a warning that data "
            "associated with the app will be lost. Note that this is not the case for this app. If you had any links "
            "or comments made with the app before, they will all still be available after you reinstall the app.\n"
            "Then press **Done**."
        ), unchanged + f" (If you did uninstall it: {broken})",
            {"Intercom: Jira Cloud for Intercom": self.app_page})  # fmt: skip
        self.add(S.UNINSTALL, who(answer))
        if not answer.ok:
            return self.stop(f"stopped: a person reported a problem at Uninstall. {unchanged}")
        uninstalled_at = answer.answered_at
        invite = (
            f"\nThe new Jira user was just created: Atlassian e-mailed an invitation to `{req.successor}`. Open it, "
            "choose a password and sign up; that is how you get into the account."
            if self.account["created"] else ""
        )  # fmt: skip
        answer = self.ask("intercom-reinstall", S.REINSTALL, (
            "Reinstall the app by following the steps in the setup guide (link below > **Install**). Note that this "
            "time Jira will ask you to log in before you can authorize the connection to Jira. Log in with the Jira "
            f"user that you would like to become the new Intercom app user: `{req.successor}`, then **Accept**."
            + invite + "\nThen press **Done**."
        ), broken, {"Intercom: Jira Cloud for Intercom": self.app_page})  # fmt: skip
        self.add(S.REINSTALL, who(answer))
        if not answer.ok:
            return self.stop(f"stopped: a person reported a problem at Reinstall. {broken}")
        expected = f"{self.account['display_name']} ({req.successor})"
        answer = self.ask("intercom-app-info", S.APP_INFO, (
            "Open the app's **App info** (link below). No API tells Baton who the app user is, so please check it: "
            f"*App user* must read `{expected}` and *App user account id* `{self.account['account_id']}`.\n"
            "Press **Done** if it does; **Problem** (with a note of what it shows) if not."
        ), broken.replace("the app is uninstalled", "the app may run as the wrong Jira user"),
            {"Intercom: App info": self.app_page})  # fmt: skip
        if not answer.ok:
            self.add(S.APP_INFO, who(answer))
            return self.stop("stopped: App info does not show the new app user. Reinstall it as "
                             f"{req.successor} (log out of Jira first)")  # fmt: skip
        self.add(S.APP_INFO, f"{who(answer)}: App info shows {expected}; self-declared (no API tells the app user)")
        done_at = now_iso()
        self.add(S.REPORT, f"disconnected window: {minutes_between(uninstalled_at, done_at)} minutes (Uninstall"
                           f"{hhmm(uninstalled_at)} → confirmed{hhmm(done_at)})")  # fmt: skip
        return self.stop("done", app_user=self.account["account_id"], app_user_check="self-declared")
