"""Check Slack Web API responses against Slack's own Swagger 2 spec (shared/specs/slack-web-api.openapi.json).

jsonschema + a referencing registry over the whole file. Each method documents ``200`` (success) and
``default`` (error); the body's ``ok`` picks one. A few documented corrections are applied (PATCHES);
``strict=True`` loads the file untouched. Where the spec writes ``items: [A, B]`` on a non-array (so JSON
Schema ignores it), ``QUIRK_CHECKS`` validates the fields Baton reads against the intended alternative.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from tests.contract.openapi_specs import SPECS

SPEC_PATH = Path(os.environ.get("BATON_SPECS", str(SPECS))) / "slack-web-api.openapi.json"
SPEC_URI = "urn:slack-web-api"

# Error codes Slack returns today that the spec's (2019-era) closed lists lack.
EXTRA_ERRORS: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("invalid_blocks",),  # Block Kit came after the spec's error list
    "chat.update": ("invalid_blocks",),
    "chat.postEphemeral": ("invalid_blocks",),
    "usergroups.users.list": ("no_such_subteam",),  # unknown usergroup id
}


def _op(spec: dict[str, Any], method: str) -> dict[str, Any]:
    path = spec["paths"]["/" + method]
    return path.get("post") or path.get("get") or next(iter(path.values()))


def apply_patches(spec: dict[str, Any]) -> dict[str, Any]:
    """The corrections (each one a documented divergence of the spec from Slack's behaviour)."""
    spec = copy.deepcopy(spec)
    for method, codes in EXTRA_ERRORS.items():
        _op(spec, method)["responses"]["default"]["schema"]["properties"]["error"]["enum"].extend(codes)
    # An empty channel's history is "messages": [] on Slack; the spec demands at least one.
    _op(spec, "conversations.history")["responses"]["200"]["schema"]["properties"]["messages"].pop("minItems")
    return spec


class SpecMismatch(AssertionError):
    """A response that does not match the spec (or a quirk check)."""


class SlackSpec:
    def __init__(self, path: Path = SPEC_PATH, *, strict: bool = False) -> None:
        raw = json.loads(path.read_text())
        self.spec = raw if strict else apply_patches(raw)
        resource = Resource.from_contents(self.spec, default_specification=DRAFT4)
        self.registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._validators: dict[str, Draft4Validator] = {}
        self.checked = 0

    def validator(self, pointer: str) -> Draft4Validator:
        """A validator for the schema at a JSON pointer into the spec (e.g. /definitions/objs_message)."""
        found = self._validators.get(pointer)
        if found is None:
            found = Draft4Validator(
                {"$ref": f"{SPEC_URI}#{pointer}"}, registry=self.registry, format_checker=FormatChecker()
            )
            self._validators[pointer] = found
        return found

    def response_pointer(self, method: str, ok: bool) -> str:
        path = self.spec["paths"]["/" + method]
        verb = "post" if "post" in path else "get"
        return f"/paths/~1{method}/{verb}/responses/{'200' if ok else 'default'}/schema"

    def _validate(self, pointer: str, value: Any, where: str) -> None:
        errors = sorted(self.validator(pointer).iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [
                f"{where}: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}" for e in errors[:8]
            ]
            raise SpecMismatch("response does not match the Slack spec\n" + "\n".join(lines))

    def check(self, method: str, body: Any, status: int = 200) -> None:
        """Raise SpecMismatch unless ``body`` (with HTTP ``status``) is what the spec allows for ``method``."""
        self.checked += 1
        if status == 429:  # Slack's rate-limit answer (not in the spec, which documents 200/default only)
            if body != {"ok": False, "error": "ratelimited"}:
                raise SpecMismatch(f"{method}: a 429 must carry {{'ok': false, 'error': 'ratelimited'}}; got {body!r}")
            return
        if status != 200:
            raise SpecMismatch(f"{method}: Web API methods answer HTTP 200 (errors too); got {status}")
        if not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
            raise SpecMismatch(f"{method}: the body must be an object with a boolean ok; got {body!r}")
        self._validate(self.response_pointer(method, body["ok"]), body, method)
        if body["ok"]:
            for check in QUIRK_CHECKS.get(method, ()):
                check(self, body)


# -- checks where ``items: [A, B]`` makes the spec ignore a field Baton reads ----------------------------
def _user(spec: SlackSpec, body: dict[str, Any]) -> None:
    if not isinstance(body.get("user"), dict):
        raise SpecMismatch(f"user must be an object; got {body.get('user')!r}")
    spec._validate("/definitions/objs_user/items/0", body["user"], "user (objs_user, non-enterprise)")


def _conversation(spec: SlackSpec, body: dict[str, Any]) -> None:
    channel = body.get("channel")
    if not isinstance(channel, dict):
        raise SpecMismatch(f"channel must be an object; got {channel!r}")
    variant = 2 if channel.get("is_im") else 0
    spec._validate(f"/definitions/objs_conversation/items/{variant}", channel, "channel (objs_conversation)")


def _opened(spec: SlackSpec, body: dict[str, Any]) -> None:
    channel = body.get("channel")
    if not isinstance(channel, dict):
        raise SpecMismatch(f"channel must be an object with an id; got {channel!r}")
    if "is_im" in channel:  # return_im=true: the full IM object
        spec._validate("/definitions/objs_conversation/items/2", channel, "channel (IM)")
    else:
        pointer = spec.response_pointer("conversations.open", True) + "/properties/channel/items/1"
        spec._validate(pointer, channel, "channel (DM id)")


def _messages(spec: SlackSpec, body: dict[str, Any]) -> None:
    for i, message in enumerate(body.get("messages", [])):
        spec._validate("/definitions/objs_message", message, f"messages[{i}] (objs_message)")
        if not isinstance(message.get("user"), str):
            raise SpecMismatch(f"messages[{i}].user must be a user id")


def _channel_actions_ts(spec: SlackSpec, body: dict[str, Any]) -> None:
    value = body.get("channel_actions_ts")
    if value is not None and not isinstance(value, int):
        raise SpecMismatch(f"channel_actions_ts must be an integer or null; got {value!r}")


QUIRK_CHECKS: dict[str, tuple[Callable[[SlackSpec, dict[str, Any]], None], ...]] = {
    "users.info": (_user,),
    "users.lookupByEmail": (_user,),
    "conversations.info": (_conversation,),
    "conversations.open": (_opened,),
    "conversations.replies": (_messages,),
    "conversations.history": (_messages, _channel_actions_ts),
}

__all__ = [
    "EXTRA_ERRORS",
    "QUIRK_CHECKS",
    "SPEC_PATH",
    "CheckedWebClient",
    "SlackSpec",
    "SpecMismatch",
]


class CheckedWebClient(WebClient):
    """The real slack-sdk WebClient; every answer it gets (errors included) is checked against the spec."""

    def __init__(self, *args: Any, spec: SlackSpec, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.checked: list[str] = []

    def api_call(self, api_method: str, **kwargs: Any) -> Any:  # type: ignore[override]
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            self._check(api_method, exc.response)
            raise
        self._check(api_method, response)
        return response

    def _check(self, method: str, response: SlackResponse) -> None:
        self.checked.append(method)
        if "/" + method not in self.spec.spec["paths"]:
            if (
                response.status_code != 404
                or not isinstance(response.data, dict)
                or response.data.get("error") != "unknown_method"
            ):
                raise SpecMismatch(
                    f"{method} is no Slack method: expected 404 unknown_method; got "
                    f"{response.status_code} {response.data!r}"
                )
            return
        self.spec.check(method, response.data, response.status_code)
