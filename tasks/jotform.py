"""Prefect tasks over the Jotform client. Read-only: Jotform's Salesforce integration itself has no API
(a person sets it up in the Form Builder), so Baton only checks the form before anything changes."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task

from clients.jotform import JotformClient, builder_url
from tasks.retry import RETRY
from tasks.services import services

PERSIST: dict[str, Any] = {"persist_result": True, **RETRY}


@task(**PERSIST)
def find_form(form_id: str) -> dict[str, str]:
    """The form's id, title and its Salesforce integration page (``GET /form/<id>``).

    Without BATON_JOTFORM_API_KEY the form is not checked: the title is empty and the page is built
    from the form id alone. A missing form fails with a message naming form_id (never retried)."""
    settings = services().settings
    page = builder_url(str(settings.jotform_api_url), form_id)
    if settings.jotform_api_key is None:
        get_run_logger().info("BATON_JOTFORM_API_KEY is not set; form %s is not checked", form_id)
        return {"id": form_id, "title": "", "integration_page": page}
    with JotformClient(str(settings.jotform_api_url), settings.jotform_api_key.get_secret_value()) as jotform:
        form = jotform.form(form_id)
    get_run_logger().info("Jotform form %s is %r", form.id, form.title)
    return {"id": form.id, "title": form.title, "integration_page": page}
