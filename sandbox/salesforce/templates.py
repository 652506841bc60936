"""The HTML the browser sees: login, consent, home, verification and security-token pages."""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = (
    "body{font-family:sans-serif;background:#f3f3f3;margin:0}main{max-width:420px;margin:60px auto;"
    "background:#fff;padding:24px;border-radius:4px;box-shadow:0 1px 3px #0003}label{display:block;"
    "margin-top:12px}input[type=text],input[type=password],input[type=email]{width:100%;padding:8px}"
    ".error{color:#c23934}button,input[type=submit]{margin-top:16px;padding:8px 16px}"
)


def page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def login_page(start_url: str, error: str | None = None, username: str = "") -> str:
    err = f'<p class="error" id="error">{escape(error)}</p>' if error else ""
    return page(
        "Login | Salesforce",
        (
            f'{err}<form id="login_form" method="post" action="/">'
            f'<label for="username">Username</label><input type="email" id="username" name="username" '
            f'value="{escape(username)}" autocomplete="username">'
            '<label for="password">Password</label><input type="password" id="password" name="pw" '
            'autocomplete="current-password">'
            f'<input type="hidden" name="startURL" value="{escape(start_url)}">'
            '<input type="submit" id="Login" name="Login" value="Log In"></form>'
        ),
    )


def consent_page(app_name: str, username: str, scopes: list[str], fields: dict[str, Any]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(str(v))}">' for k, v in fields.items() if v is not None
    )
    items = "".join(f"<li>{escape(_SCOPE_TEXT.get(s, s))}</li>" for s in scopes)
    return page(
        "Allow Access?",
        (
            f'<p id="app_name"><strong>{escape(app_name)}</strong> is asking to:</p><ul>{items}</ul>'
            f'<p>You are logged in as <span id="username">{escape(username)}</span>. Do you want to allow access?</p>'
            f'<form id="consent_form" method="post" action="/services/oauth2/authorize">{hidden}'
            '<input type="submit" id="oaapprove" name="decision" value="Allow"> '
            '<input type="submit" id="oadeny" name="decision" value="Deny"></form>'
        ),
    )


_SCOPE_TEXT = {
    "api": "Manage user data via APIs (api)",
    "refresh_token": "Perform requests at any time (refresh_token, offline_access)",
    "offline_access": "Perform requests at any time (refresh_token, offline_access)",
    "id": "Access the identity URL service (id, profile, email, address, phone)",
    "openid": "Access unique user identifiers (openid)",
    "full": "Full access (full)",
    "web": "Manage user data via Web browsers (web)",
}


def home_page(name: str, api_only: bool) -> str:
    if api_only:
        return page(
            "API Only User",
            (
                f"<p>Hello {escape(name)}.</p><p id=\"api_only_notice\">You're an API only user. You can't access "
                "the Salesforce user interface. Your account can be used by integrations through the API only.</p>"
                '<p><a href="/secur/logout.jsp" id="logout">Log out</a></p>'
            ),
        )
    return page(
        "Home | Salesforce",
        (
            f"<p>Hello {escape(name)}.</p><ul>"
            '<li><a id="reset_token" href="/_ui/system/security/ResetApiTokenEdit">Reset My Security Token</a></li>'
            '<li><a id="logout" href="/secur/logout.jsp">Log out</a></li></ul>'
        ),
    )


def reset_token_page(done_email: str | None = None) -> str:
    if done_email:
        return page(
            "Reset Security Token",
            (f'<p id="token_sent">Your new security token has been sent to {escape(done_email)}.</p>'),
        )
    return page(
        "Reset Security Token",
        (
            "<p>When you reset your security token, your old token no longer works. Applications that use it "
            "stop working until you enter the new one.</p>"
            '<form method="post" action="/_ui/system/security/ResetApiTokenEdit">'
            '<input type="submit" id="reset_button" value="Reset Security Token"></form>'
        ),
    )


def message_page(title: str, text: str, element_id: str = "message") -> str:
    return page(title, f'<p id="{escape(element_id)}">{escape(text)}</p>')
