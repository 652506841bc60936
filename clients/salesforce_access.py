"""Who can reach Salesforce as a user: the connected apps they authorised (OauthToken) and their login
(UserLogin.IsFrozen). Never keyed on OauthToken.Id (documented as reserved); a row is its AppName and
UserId. Freezing keeps the account (never delete, never deactivate: that revokes its apps' tokens)."""

from __future__ import annotations

from dataclasses import dataclass

from clients.salesforce import SalesforceClient, SalesforceError, soql_quote


@dataclass(frozen=True)
class Grant:
    """One connected app a user authorised: an OauthToken row, named by its app and user."""

    app_name: str
    user_id: str
    created: str
    last_used: str
    use_count: int


def user_id_of(sf: SalesforceClient, username: str) -> str | None:
    """``SELECT Id FROM User WHERE Username = ...``."""
    row = sf.one(f"SELECT Id FROM User WHERE Username = {soql_quote(username)} LIMIT 1")  # noqa: S608 - soql_quote
    return str(row["Id"]) if row else None


def grants_of(sf: SalesforceClient, user_id: str) -> list[Grant]:
    """The connected apps *user_id* authorised, oldest first (``OauthToken WHERE UserId = ...``)."""
    fields = "AppName, UserId, CreatedDate, LastUsedDate, UseCount"
    where = f"UserId = {soql_quote(user_id)}"
    rows = sf.query(f"SELECT {fields} FROM OauthToken WHERE {where} ORDER BY CreatedDate")  # noqa: S608 - soql_quote
    return [
        Grant(
            app_name=str(row.get("AppName") or ""),
            user_id=str(row.get("UserId") or user_id),
            created=str(row.get("CreatedDate") or ""),
            last_used=str(row.get("LastUsedDate") or ""),
            use_count=int(row.get("UseCount") or 0),
        )
        for row in rows
    ]


def is_frozen(sf: SalesforceClient, user_id: str) -> bool:
    row = sf.one(f"SELECT Id, IsFrozen FROM UserLogin WHERE UserId = {soql_quote(user_id)} LIMIT 1")  # noqa: S608 - soql_quote
    if row is None:
        raise SalesforceError("UserLogin lookup", "NOT_FOUND", f"no UserLogin row for user {user_id}")
    return bool(row["IsFrozen"])


def freeze(sf: SalesforceClient, user_id: str) -> bool:
    """``PATCH /sobjects/UserLogin/<id>`` IsFrozen=true, unless it is already frozen; True when it changed."""
    row = sf.one(f"SELECT Id, IsFrozen FROM UserLogin WHERE UserId = {soql_quote(user_id)} LIMIT 1")  # noqa: S608 - soql_quote
    if row is None:
        raise SalesforceError("freeze", "NOT_FOUND", f"no UserLogin row for user {user_id}")
    if row["IsFrozen"]:
        return False
    sf.update("UserLogin", str(row["Id"]), {"IsFrozen": True})
    return True
