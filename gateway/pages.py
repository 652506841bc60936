"""The gateway's few HTML pages: plain, self-contained, no scripts."""

from __future__ import annotations

import html

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d1c1d}"
    "label{display:block;margin:1rem 0 .3rem;font-weight:600}input[type=password]{width:100%;padding:.5rem}"
    "button{margin-top:1rem;padding:.5rem 1.2rem;font-size:1rem}.muted{color:#616061}"
)


def page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def message(title: str, text: str) -> str:
    return page(title, f"<p>{html.escape(text)}</p>")


def deposit_form(label: str, field: str, action: str) -> str:
    return page(
        "Deposit a secret for Baton",
        f"<p>{html.escape(label)}</p>"
        f'<form method="post" action="{html.escape(action)}" autocomplete="off">'
        f'<label for="secret">{html.escape(field)}</label>'
        '<input type="password" id="secret" name="secret" required autofocus>'
        '<button type="submit">Store in Vault</button></form>'
        '<p class="muted">The value goes straight into Vault; Baton shows it to nobody. This link works once.</p>',
    )
