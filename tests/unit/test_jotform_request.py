"""The Jotform client against httpx.MockTransport, and the checks create-jotform-api-only-user makes on its
parameters before anything changes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from clients.jotform import JotformClient, JotformError, builder_url
from flows.jotform_api_only_user import ApiOnlyUserRequest
from flows.plan import InvalidRequest, validate

GOOD: dict[str, Any] = {
    "first_name": "Jotform", "last_name": "Integration", "email": "jotform.api@acme.example",
    "username": "jotform.api@acme.example", "alias": "jotform", "permission_set_name": "Jotform_API_Only",
    "permission_set_label": "Jotform API only", "form_id": "241118435271045", "requested_by": "carol@acme.example",
}  # fmt: skip


def _client(status: int, body: Any, headers: dict[str, str] | None = None) -> tuple[JotformClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body, headers=headers)

    return JotformClient("https://api.jotform.com", "key-0123456789", transport=httpx.MockTransport(handler)), seen


def test_form_reads_the_envelope_and_keeps_the_key_out_of_the_url() -> None:
    content = {"id": "241118435271045", "title": "Contact Sales", "url": "https://form.jotform.com/241118435271045"}
    client, seen = _client(200, {"responseCode": 200, "message": "success", "content": content})
    form = client.form("241118435271045")
    assert (form.id, form.title) == ("241118435271045", "Contact Sales")
    assert seen[0].url == "https://api.jotform.com/form/241118435271045"
    assert seen[0].headers["APIKEY"] == "key-0123456789" and "key-0123456789" not in str(seen[0].url)


def test_missing_form_is_not_retried_and_names_form_id() -> None:
    client, _ = _client(404, {"responseCode": 404, "message": "Form not found", "content": ""})
    with pytest.raises(JotformError) as caught:
        client.form("999999")
    assert not caught.value.retryable
    assert "HTTP 404: Form not found" in str(caught.value) and "form_id" in str(caught.value)


def test_rate_limit_is_retryable_with_retry_after() -> None:
    body = {"responseCode": 429, "message": "You've reached your daily API limit.", "content": ""}
    client, _ = _client(429, body, {"Retry-After": "7"})
    with pytest.raises(JotformError) as caught:
        client.form("241118435271045")
    assert caught.value.retryable and caught.value.retry_after == 7.0


def test_bad_key_says_which_setting() -> None:
    client, _ = _client(401, {"responseCode": 401, "message": "You're not authorized to use (/form) ", "content": ""})
    with pytest.raises(JotformError, match="BATON_JOTFORM_API_KEY"):
        client.form("241118435271045")


@pytest.mark.parametrize(
    ("api", "page"),
    [
        ("https://api.jotform.com", "https://www.jotform.com/build/1234567/settings/integrations/salesforce"),
        ("https://eu-api.jotform.com/", "https://eu.jotform.com/build/1234567/settings/integrations/salesforce"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123/build/1234567/settings/integrations/salesforce"),
    ],
)
def test_builder_url_per_region(api: str, page: str) -> None:
    assert builder_url(api, "1234567") == page


def test_a_good_request_passes() -> None:
    req = validate(ApiOnlyUserRequest, GOOD)
    assert req.slug == "jotform-api-acme-example"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("permission_set_name", "Jotform API"),
        ("permission_set_name", "1Jotform"),
        ("permission_set_name", "Jotform__API"),
        ("permission_set_name", "Jotform_"),
        ("email", "not-an-email"),
        ("username", "jotform"),
        ("alias", "much-too-long"),
        ("form_id", "abc"),
        ("last_name", ""),
    ],
)
def test_bad_parameters_are_named(field: str, value: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate(ApiOnlyUserRequest, {**GOOD, field: value})
    assert f"{field}:" in str(caught.value) and "nothing was changed" in str(caught.value)
