"""Flow for guides/salesforce-jira-connector.txt: move the Salesforce-Jira connector (Jira Cloud or Server)
from the leaver's Salesforce account to a dedicated integration user.

Reads like the guide: checks before any change (the new user, its permission sets, the connector's connected
app installed and open to it, its token count, the connection, no other handover of this integration) →
1. log out of Salesforce → 2. Revoke in Jira → 3. Authorize as the new user (then Baton checks in Salesforce who
authorised it, and asks again when it was the wrong account) → 4. copy the API access token (into Vault) →
5. in the Salesforce package, Revoke the connection, paste and Save → Baton verifies both sides, revokes the
leaver's leftover authorisation, promotes the token in Vault and reports how long the connector was disconnected.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum
from typing import Any, Literal

from prefect import flow
from pydantic import BaseModel, EmailStr, Field, model_validator

from flows.connector_texts import PACKAGES, Links, Texts
from flows.handover_common import INTEGRATION_ID, Waits, hhmm, minutes_between, now_iso, validated
from flows.human import HumanResult, human_step, reveal_link, secret_step
from flows.plan import Report, Step
from flows.reporting import finish, run_reported, show_plan, who
from tasks import connector as cn
from tasks.handover_guard import no_other_handover
from tasks.notify import say_once
from tasks.services import services
from tasks.vaultrefs import current_version

FLOW_NAME = "rotate-salesforce-jira-connector"
TITLE = "Hand the Salesforce-Jira connector over"
MAX_REDOS = 3


class S(Enum):
    PREFLIGHT = Step("Check before any change", "automatic", "new user, permission sets, connected app, tokens, "
                     "connection, no other handover; refuses with what to fix")  # fmt: skip
    LOGOUT = Step("1. Logout from Salesforce", "person", "the guide's warning: else Salesforce authorises as you")
    REVOKE = Step("2. Revoke the connection in Jira", "person", "Jira Apps > Salesforce > Connections > Configure")
    AUTHORIZE = Step("3. Authorize as the new integration user", "person", "Salesforce login as the new user")
    WHO = Step("Check who authorised the connector", "automatic", "OauthToken AppName/UserId; wrong user: ask again")
    COPY = Step("4. Copy the API access token", "person", "three dots > API Access token; deposited into Vault")
    SAVE = Step("5. Paste it in the Salesforce package and Save", "person", "Setup > Installed packages > Configure")
    VERIFY = Step("Verify both sides", "automatic", "the token opens the connector as the new user; the leaver's "
                  "authorisation revoked (DeleteToken) if still there")  # fmt: skip
    PROMOTE = Step("Promote the token in Vault", "automatic", "pending → current, previous kept")
    REPORT = Step("Report", "automatic", "Prefect artifact and Slack thread, with the disconnected window")


class ConnectorHandoverRequest(BaseModel):
    """What a run of rotate-salesforce-jira-connector needs (its one parameter, ``request``)."""

    integration_id: str = Field(
        pattern=INTEGRATION_ID, description="Baton's id of this connector, e.g. 'jira-cloud-salesforce'; Vault paths "
        "baton/integrations/<integration_id>/... and one handover per id at a time",
    )  # fmt: skip
    variant: Literal["cloud", "server"] = Field(description="cloud: Jira Cloud for Salesforce; server: Jira Server")
    leaver: EmailStr = Field(description="Salesforce username the connector runs as today")
    successor: EmailStr = Field(description="Salesforce username of the dedicated integration user")
    connection_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="the connection's id in Jira")
    requested_by: str = Field(min_length=3, description="e-mail of the person asking")
    assignee: str = Field("", description="who does the steps (e-mail or Slack id); default: requested_by")
    permission_sets: list[str] = Field(
        default_factory=lambda: ["Jira_Connector_Access"],
        description="permission sets the connector needs; those the leaver holds, the successor must hold too",
    )
    successor_password_path: str = Field(
        "", description="Vault path of the successor's password (shown once); default: "
        "baton/integrations/salesforce-<successor>/password, where create-salesforce-integration-user puts it",
    )  # fmt: skip
    grant_app_through: str = Field(
        "", description="when the connector's app admits only admin-approved users and no permission set of the "
        "successor grants it: the successor's permission set (API name) through which Baton may grant it",
    )  # fmt: skip
    waits: Waits = Field(default_factory=Waits)

    @model_validator(mode="after")
    def _different(self) -> ConnectorHandoverRequest:
        if str(self.leaver).lower() == str(self.successor).lower():
            raise ValueError("successor must differ from leaver: the connector moves to a dedicated integration user")
        return self

    @property
    def token_path(self) -> str:
        return f"baton/integrations/{self.integration_id}/api-access-token"

    @property
    def password_path(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", str(self.successor).lower()).strip("-")
        return self.successor_password_path or f"baton/integrations/salesforce-{slug}/password"


@flow(name=FLOW_NAME, validate_parameters=False)
def rotate_salesforce_jira_connector(request: ConnectorHandoverRequest, plan: bool = False) -> dict[str, Any]:
    """Hand the connector over as the guide describes; ``plan=True`` prints the steps and changes nothing."""
    req = validated(ConnectorHandoverRequest, request, TITLE)
    title = f"{TITLE} ({req.variant}): {req.leaver} → {req.successor}"
    if plan:
        return show_plan(title, {s.name.lower(): s.value for s in S})
    thread_title = (
        f"*{TITLE}* ({PACKAGES[req.variant]}, connection {req.connection_id}): `{req.leaver}` → `{req.successor}` "
        f"(integration {req.integration_id}, requested by {req.requested_by})"
    )
    return run_reported(title, thread_title, lambda report, ts, run_id: _Run(req, report, ts, run_id).go())


class _Run:
    def __init__(self, req: ConnectorHandoverRequest, report: Report, thread_ts: str | None, run_id: str) -> None:
        self.req, self.report, self.thread_ts, self.run_id = req, report, thread_ts, run_id
        self.app = PACKAGES[req.variant]
        self.texts = Texts(req.variant, str(req.leaver), str(req.successor), req.connection_id)
        settings = services().settings
        self.links = Links(
            str(settings.salesforce_login_url).rstrip("/"), cn.connector_url(req.variant), req.variant,
            req.connection_id,
        )  # fmt: skip
        self.revoked_at = ""

    def add(self, step: S, outcome: str) -> None:
        self.report.add(step.value.title, outcome)

    def ask(self, key: str, step: S, instruction: str, state: str, links: dict[str, str],
            more: Callable[[], dict[str, str]] | None = None) -> HumanResult:  # fmt: skip
        """A human step; *more* (e.g. a one-time reveal link) is made only when the step is posted."""
        req = self.req
        return human_step(
            key, title=step.value.title, instruction=instruction, assignee=req.assignee or req.requested_by,
            thread_ts=self.thread_ts, policy=req.waits.policy(), state_if_expired=state,
            extra_links=lambda: {**links, **(more() if more else {})},
        )  # fmt: skip

    def stop(self, status: str) -> dict[str, Any]:
        return finish(self.report, step=S.REPORT.value.title, artifact_key="salesforce-jira-connector-report",
                      thread_ts=self.thread_ts, run_id=self.run_id, status=status)  # fmt: skip

    def go(self) -> dict[str, Any]:
        req = self.req
        no_other_handover(FLOW_NAME, req.integration_id, self.run_id)
        users = cn.check_users(str(req.successor), str(req.leaver))
        self.leaver_id, self.successor_id = users["leaver_id"], users["successor_id"]
        app = cn.check_connected_app(self.app, self.successor_id, req.grant_app_through)
        sets = cn.check_permission_sets(self.successor_id, self.leaver_id, req.permission_sets, app["app_id"])
        tokens = cn.check_tokens(self.app, self.leaver_id, self.successor_id)
        self.password_version = current_version(req.password_path)
        grant = f", granted to it by {app['granted_by']}" if app["granted_by"] else ""
        self.add(S.PREFLIGHT, (
            f"successor {req.successor} ({self.successor_id}) active, API enabled; permission sets "
            f"{', '.join(sets) or 'none needed'}; app {self.app!r} installed{grant}; tokens: leaver "
            f"{tokens['leaver']}, successor {tokens['successor']} (< 5); no other handover of {req.integration_id}"
        ))  # fmt: skip
        done = cn.api_token_state(req.variant, req.token_path)
        if (
            tokens["successor"]
            and done["current"]
            and done["works"]
            and cn.same_id(done["salesforce_user_id"], self.successor_id)
        ):
            self.add(S.VERIFY, f"already handed over: Vault {req.token_path} v{done['version']} opens the connector "
                               f"as {req.successor}; nothing asked")  # fmt: skip
            return self.after(done_before=True)
        return self.people()

    def people(self) -> dict[str, Any]:
        req, texts, links = self.req, self.texts, self.links
        answer = self.ask("sf-logout", S.LOGOUT, texts.logout(), texts.before_revoke(),
                          {"Salesforce: log out": links.salesforce_logout})  # fmt: skip
        self.add(S.LOGOUT, who(answer))
        if not answer.ok:
            return self.stop(f"stopped before any change: a person reported a problem. {texts.before_revoke()}")
        answer = self.ask("jira-revoke", S.REVOKE, texts.revoke(), texts.before_revoke() + " (If you did click "
                          "Revoke: " + texts.after_revoke("") + ")", {"Jira: the connection's Configure page":
                          links.jira_configure})  # fmt: skip
        self.add(S.REVOKE, who(answer))
        if not answer.ok:
            return self.stop(f"stopped: a person reported a problem at Revoke. {texts.before_revoke()}")
        self.revoked_at = answer.answered_at
        since = hhmm(self.revoked_at)
        if not self.authorize(since):
            return self.stop(f"stopped: a person reported a problem at Authorize. {texts.after_revoke(since)}")
        answer = secret_step(
            "api-token", title=S.COPY.value.title, instruction=texts.copy_token(), vault_path=req.token_path,
            field="api_access_token", assignee=req.assignee or req.requested_by, thread_ts=self.thread_ts,
            policy=req.waits.policy(), state_if_expired=texts.after_authorize(since),
            extra_links=lambda: {"Jira: the connection's Configure page": links.jira_configure},
        )  # fmt: skip
        self.add(S.COPY, who(answer))
        if not answer.ok:
            return self.stop(f"stopped: a person reported a problem copying the token. {texts.after_authorize(since)}")
        answer = self.ask("sf-package-save", S.SAVE, texts.save(), texts.after_authorize(since), {
            f"Salesforce: Configure {self.app}": links.package_configure,
            "Salesforce: Installed packages": links.installed_packages,
        })  # fmt: skip
        self.add(S.SAVE, who(answer) + " (Salesforce has no API for the package's token: the answer is the record)")
        if not answer.ok:
            return self.stop(f"stopped: a person reported a problem in Salesforce. {texts.after_authorize(since)}")
        return self.after(done_before=False)

    def authorize(self, since: str) -> bool:
        """Step 3, then who authorised it (OauthToken); the wrong account → say so and ask again."""
        req, wrong = self.req, ""
        for attempt in range(MAX_REDOS + 1):
            links = {"Jira: the connection's Configure page": self.links.jira_configure}
            if attempt:
                links["Salesforce: log out"] = self.links.salesforce_logout
            reveal = None
            if self.password_version:
                reveal = reveal_link(req.password_path, self.password_version, "password",
                                     f"the password of {req.successor}")  # fmt: skip
            key = "authorize" if attempt == 0 else f"authorize-redo-{attempt}"
            answer = self.ask(key, S.AUTHORIZE, self.texts.authorize(attempt, wrong), self.texts.after_revoke(since),
                              links, reveal)  # fmt: skip
            if not answer.ok:
                self.add(S.AUTHORIZE, who(answer))
                return False
            found = cn.who_authorised(self.app, self.leaver_id, self.successor_id, attempt)
            if found["successor"]:
                self.add(S.AUTHORIZE, who(answer))
                self.add(S.WHO, f"OauthToken: {self.app} authorised by {req.successor} ({self.successor_id})"
                                + (f" after {attempt} redo(s)" if attempt else ""))  # fmt: skip
                return True
            wrong = found["latest_user"] or "nobody"
            say_once(self.thread_ts, (
                f":warning: *Wrong user*: Salesforce shows {self.app!r} authorised by `{wrong}`, not by "
                f"`{req.successor}` (you were probably still logged in to Salesforce). The connector must not run as "
                "that account: log out of Salesforce, Revoke in Jira and Authorize again as the integration user. "
                "The step is asked again."
            ))  # fmt: skip
        raise cn.VerificationFailed(
            f"{self.app} is still not authorised by {req.successor} after {MAX_REDOS} redos (latest: {wrong}). "
            + self.texts.after_revoke(since)
        )

    def state_text(self) -> str:
        found = cn.authorizations(self.app, self.leaver_id, self.successor_id)
        token = cn.api_token_state(self.req.variant, self.req.token_path)
        return (
            f"Salesforce side: {self.app} authorised by the successor {found['successor']}x, by the leaver "
            f"{found['leaver']}x. Jira side: the deposited API access token "
            + (f"opens connection as {token['salesforce_username']}" if token["works"] else "does not work")
            + f". Vault: {self.req.token_path} not promoted (pending v{token['version']}, previous kept)."
        )

    def after(self, done_before: bool) -> dict[str, Any]:
        req = self.req
        token = cn.api_token_state(req.variant, req.token_path)
        if not token["works"] or not cn.same_id(token["salesforce_user_id"], self.successor_id):
            raise cn.VerificationFailed(
                "the deposited API access token "
                + (f"opens the connector as {token['salesforce_username']}, not as {req.successor}"
                   if token["works"] else "does not open the connector (copy it again after Authorize)")
                + ". " + self.state_text() + " " + self.texts.after_authorize(hhmm(self.revoked_at))
            )  # fmt: skip
        revoked = cn.revoke_leaver_tokens(self.app, self.leaver_id)
        found = cn.authorizations(self.app, self.leaver_id, self.successor_id)
        if found["leaver"] or not found["successor"]:
            raise cn.VerificationFailed("the leaver's authorisation is still there or the successor's is gone. "
                                        + self.state_text())  # fmt: skip
        verified_at = now_iso()
        if not done_before:
            self.add(S.VERIFY, (
                f"the token opens connection {req.connection_id} as {req.successor}; {self.app} authorised by "
                f"{req.successor} only; the leaver's leftover authorisations revoked: {revoked}"
            ))  # fmt: skip
        version = cn.promote_api_token(req.token_path, token["version"], self.run_id, req.requested_by)
        self.add(S.PROMOTE, f"Vault {req.token_path} v{version} is current")
        window = minutes_between(self.revoked_at, verified_at) if self.revoked_at else 0.0
        if self.revoked_at:
            self.add(S.REPORT, f"disconnected window: {window} minutes (Revoke{hhmm(self.revoked_at)} → verified"
                               f"{hhmm(verified_at)})")  # fmt: skip
        result = self.stop("done")
        return {**result, "disconnected_minutes": window, "successor_id": self.successor_id}
