"""Settings: a missing or malformed key stops start-up with its name and an example value."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import Settings, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("BATON_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_token_auth_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_VAULT_TOKEN", "hvs.example-token")
    s = load_settings()
    assert s.vault_kv_mount == "secret" and s.vault_prefix == "baton"
    assert str(s.salesforce_login_url) == "https://login.salesforce.com/"
    assert "hvs.example-token" not in repr(s)


def test_missing_vault_auth_names_the_keys() -> None:
    with pytest.raises(ConfigError, match=r"BATON_VAULT_TOKEN.*BATON_VAULT_ROLE_ID"):
        load_settings()


def test_half_an_approle_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_VAULT_ROLE_ID", "role")
    with pytest.raises(ConfigError, match="BATON_VAULT_SECRET_ID"):
        load_settings()


def test_malformed_url_names_key_and_example(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_VAULT_TOKEN", "hvs.x")
    monkeypatch.setenv("BATON_JIRA_SITE_URL", "acme dot atlassian")
    with pytest.raises(ConfigError) as err:
        load_settings()
    text = str(err.value)
    assert "BATON_JIRA_SITE_URL" in text and "example: BATON_JIRA_SITE_URL=https://acme.atlassian.net" in text


def test_bad_prefix_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_VAULT_TOKEN", "hvs.x")
    monkeypatch.setenv("BATON_VAULT_PREFIX", "baton/../x")
    with pytest.raises(ConfigError, match="BATON_VAULT_PREFIX"):
        load_settings()


def test_secret_values_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_VAULT_TOKEN", "hvs.x")
    monkeypatch.setenv("BATON_APPROVALS_SLACK_ONLY", "maybe-not")
    with pytest.raises(ConfigError, match="BATON_APPROVALS_SLACK_ONLY"):
        load_settings()


def test_env_example_documents_every_key() -> None:
    example = (Path(__file__).parents[2] / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"BATON_{name.upper()}=" in example, name


def test_operator_tools_need_no_vault_auth() -> None:
    settings = load_settings(vault=False)
    assert settings.vault_token is None and str(settings.prefect_api_url).startswith("http://127.0.0.1:4200")
