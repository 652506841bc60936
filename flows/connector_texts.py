"""What people read during a Salesforce-Jira connector handover: the guide's steps in its words
(guides/salesforce-jira-connector.txt), the state of each side when a run stops, and the way back."""

from __future__ import annotations

from dataclasses import dataclass

PACKAGES = {"cloud": "Jira Cloud for Salesforce", "server": "Jira Server for Salesforce"}
PACKAGE_SLUGS = {"cloud": "jira-cloud", "server": "jira-server"}
CONNECTOR_TITLES = {
    "cloud": "Connector for Salesforce & Jira Cloud",
    "server": "Connector for Salesforce & Jira Server",
}


@dataclass(frozen=True)
class Links:
    """Deep links into the vendors' pages (the sandbox's in the demo and the tests)."""

    salesforce: str
    jira: str
    variant: str
    connection_id: str

    @property
    def salesforce_logout(self) -> str:
        return f"{self.salesforce}/secur/logout.jsp"

    @property
    def jira_configure(self) -> str:
        return f"{self.jira}/plugins/servlet/salesforce/connections/{self.connection_id}"

    @property
    def installed_packages(self) -> str:
        return f"{self.salesforce}/lightning/setup/ImportedPackage/home"

    @property
    def package_configure(self) -> str:
        return f"{self.salesforce}/setup/packages/{PACKAGE_SLUGS[self.variant]}/configure"


@dataclass(frozen=True)
class Texts:
    variant: str
    leaver: str
    successor: str
    connection_id: str

    @property
    def package(self) -> str:
        return PACKAGES[self.variant]

    def logout(self) -> str:
        return (
            f"*{CONNECTOR_TITLES[self.variant]}*: moving the connector from `{self.leaver}` to `{self.successor}`.\n"
            "1. *Logout from Salesforce first* (:warning: Important).\n"
            "Why: in step 3 Salesforce authorises the connector as whoever is logged in to Salesforce in this "
            "browser. If that is you, the connector would run as your account, not as the integration user.\n"
            "Log out in every Salesforce tab (link below), then press **Done**. Nothing has changed yet."
        )

    def revoke(self) -> str:
        return (
            "2. In your Jira instance, navigate to *Jira Apps > Salesforce > Connections > Your connection > "
            f"Configure* (connection {self.connection_id}, link below), then click on **Revoke** to revoke the "
            "connection.\n"
            ":warning: From now on the connector is disconnected until the last step is done; Baton counts the "
            "minutes. Press **Done** once you have clicked Revoke."
        )

    def authorize(self, attempt: int, wrong: str = "") -> str:
        redo = ""
        if attempt:
            redo = (
                f":warning: *Again, please*: Salesforce shows the connector authorised by `{wrong or 'someone else'}`, "
                f"not by `{self.successor}`. Log out of Salesforce first (link below), then in Jira's Configure page "
                "click **Revoke** and do this step again.\n"
            )
        return redo + (
            "3. While on the same page, click **Authorize**. You will be redirected to the Salesforce website to log "
            "in. You should log in with the credentials of the user you want to use for integration: "
            f"`{self.successor}` (its password: the one-time link below; open it only when you are about to type it).\n"
            "Press **Done** when Jira shows the connection authorised. Baton then checks in Salesforce who "
            "authorised it."
        )

    def copy_token(self) -> str:
        return (
            "4. After you have successfully logged into Salesforce, return to your Jira instance (do not close the "
            "Salesforce window yet). Click on the *three dots* button > **API Access token** > **Copy**.\n"
            "Paste it into Baton's one-time deposit page (link below): it goes straight into Vault. Keep it on the "
            "clipboard for the next step."
        )

    def save(self) -> str:
        return (
            f'5. Return to Salesforce window. Click *Setup > Installed packages > Configure "{self.package}"* (link '
            "below) > Click **Revoke the connection**. Then paste the API Access token which you had copied earlier "
            "into the *Access token* field and click **Save**.\n"
            "Press **Done** when Salesforce shows the package connected. Baton then checks both sides."
        )

    # -- where things stand when a run stops ------------------------------------------------------------

    def before_revoke(self) -> str:
        return (
            f"Nothing was changed: the connection was not revoked, the connector still runs as {self.leaver} and "
            "works as before."
        )

    def after_revoke(self, since: str) -> str:
        return (
            f"Jira side broken: the connection {self.connection_id} was revoked{since} and the connector is "
            f"disconnected; the Salesforce package {self.package!r} still holds the old API access token, which no "
            f"longer works. Way back: in Jira's Configure page click Authorize and log in as {self.successor} (or as "
            f"{self.leaver} to roll back), copy the API access token, paste it in Salesforce (Setup > Installed "
            f"packages > Configure {self.package!r}) and Save; or start this handover again."
        )

    def after_authorize(self, since: str) -> str:
        return (
            f"Jira side authorised as {self.successor}, Salesforce side broken: the package {self.package!r} still "
            f"holds the old API access token, which stopped working when the connection was revoked{since}. Way back: "
            "in Jira, three dots > API Access token > Copy; in Salesforce, Setup > Installed packages > Configure "
            f"{self.package!r} > paste it and Save; or start this handover again (it picks up where it stopped)."
        )
