"""A flow's steps as data, so a flow can print its plan (dry run) and report what it did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from core.errors import BatonError

Who = Literal["automatic", "person"]
M = TypeVar("M", bound=BaseModel)


class InvalidRequest(BatonError):
    """A flow's parameters are wrong, or do not fit the remote systems; nothing was changed."""


def validate(model: type[M], params: M | dict[str, Any]) -> M:
    """The flow's parameters as *model*, or InvalidRequest naming every bad field.

    A flow declares its parameters once, as *model* in its signature (``request: Model``), with
    ``validate_parameters=False`` on its decorator so that a bad request reaches this check (and its
    clear error) instead of Prefect's; *params* is then the dict a run was given, or the model itself.
    """
    if isinstance(params, BaseModel):
        params = params.model_dump()
    if not isinstance(params, dict):
        raise InvalidRequest(
            f"nothing was changed; fix these parameters: request: is a {type(params).__name__}, not a mapping; "
            f"give the request as an object of its fields ({', '.join(model.model_fields)})"
        )
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        problems = "; ".join(_problem(model, e) for e in exc.errors())
        raise InvalidRequest(f"nothing was changed; fix these parameters: {problems}") from None


def _problem(model: type[BaseModel], error: Any) -> str:
    """'field: what is wrong (expected: the field's description)'; a check across fields names its fields."""
    loc = [str(p) for p in error["loc"]]
    message = str(error["msg"]).removeprefix("Value error, ")
    if not loc:
        return message
    if error["type"] == "extra_forbidden":
        names = ", ".join(model.model_fields)
        return f"{'.'.join(loc)}: not a parameter of this flow; remove it (the parameters: {names})"
    info = model.model_fields.get(loc[0])
    hint = f" (expected: {info.description})" if info is not None and info.description and len(loc) == 1 else ""
    return f"{'.'.join(loc)}: {message}{hint}"


@dataclass(frozen=True)
class Step:
    title: str
    who: Who
    detail: str = ""


Steps = dict[str, Step]  # a flow's steps by key, in the guide's order: the report names a step by key, never by place


@dataclass
class Report:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)

    def add(self, step: Step | str, outcome: str) -> None:
        self.rows.append((step.title if isinstance(step, Step) else step, outcome))

    def markdown(self) -> str:
        lines = [f"# {self.title}", "", "| step | outcome |", "|---|---|"]
        lines += [f"| {step} | {outcome.replace('|', '/')} |" for step, outcome in self.rows]
        return "\n".join(lines)

    def slack(self) -> str:
        return f"*{self.title}*\n" + "\n".join(f"• {step}: {outcome}" for step, outcome in self.rows)


def render_plan(title: str, steps: Steps, skipped: set[str] | None = None) -> str:
    """The dry-run text: each step, numbered, marked automatic or needing a person; *skipped* are step keys
    that this request does not need. The last line counts the steps that need a person."""
    lines = [f"Plan: {title} (dry run: nothing is changed)"]
    people = 0
    for number, (key, step) in enumerate(steps.items(), 1):
        mark = "AUTO  " if step.who == "automatic" else "PERSON"
        skip = bool(skipped and key in skipped)
        people += step.who == "person" and not skip
        lines.append(
            f"{number:2}. [{mark}] {step.title}"
            + (f" - {step.detail}" if step.detail else "")
            + ("  (skipped: not asked for)" if skip else "")
        )
    lines.append(f"Steps that need a person: {people}")
    return "\n".join(lines)
