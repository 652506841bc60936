"""Who may answer what: the one set of answer rules that the flow, the gateway and the CLI all apply.

``refusal(answer)`` returns None when the answer may be taken, else a ``Refusal`` that names the rule, what
was wrong and how to fix it. Rules, in order:

- ``template-markers``: no ``{{ }}``, ``{% %}``, ``{# #}`` in what a person typed (Prefect's server would
  render them inside run_input);
- ``note-length``: a note of at most 2,000 characters;
- ``outcome-for-kind``: done / problem for a task or secret step, approve / reject for an approval;
- ``secret-through-its-link``: a secret step is done only through its one-time deposit or OAuth link, so the
  secret goes straight into Vault (any path may report a problem);
- ``who-may-answer``: a task or secret step answered through Slack (the gateway vouches for the clicker) is
  answered by its assignee, a member of the approver group, or, once the step was escalated, a member of the
  escalation group (checked where the groups are known); anyone else, the leaver included, is refused;
- ``approvals-slack-only``: while BATON_APPROVALS_SLACK_ONLY, an approval counts only when the gateway vouches
  for the clicker (a signed Slack click);
- ``approver-group``: the approver is a member of the approver group (checked where the group is known);
- ``four-eyes``: the requester may not approve their own request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from clients.humanstep.answer import MAX_NOTE, OUTCOMES_BY_KIND, SECRET_PATHS, has_template_markers

LABELS = {"note": "the note", "responder": "the responder's name"}


@dataclass(frozen=True)
class Refusal:
    """Why an answer is not taken: the rule, what was wrong, and the fix."""

    rule: str
    reason: str
    fix: str
    field: str = ""
    choices: tuple[str, ...] = ()

    def message(self, labels: Mapping[str, str] | None = None) -> str:
        """The refusal in words; *labels* renames fields for a path (the CLI says ``--note``, ``--outcome``)."""
        names = {**LABELS, **(labels or {})}
        reason = self.reason.replace("{field}", names.get(self.field, self.field))
        fix = self.fix
        if self.choices:
            flag = names.get("outcome", "")
            fix = fix.replace("{choices}", " or ".join(f"{flag} {c}".strip() for c in self.choices))
        return f"{reason}; {fix}"

    def __str__(self) -> str:
        return self.message()


@dataclass(frozen=True)
class Answer:
    """What the rules look at. *approvers* is None where the group is not known (an unverified path);
    *requester* holds every identity of the person who asked (e-mail, Slack user id)."""

    kind: str
    outcome: str
    via: str
    verified: bool
    responder: str = ""
    note: str = ""
    requester: frozenset[str] = field(default_factory=frozenset)
    approvers: frozenset[str] | None = None
    approver_group: str = "baton-approvers"
    approvals_slack_only: bool = True
    assignee: str = ""  # the step's assignee (a Slack user id)
    escalation_group: str = ""  # the group the step was escalated to ('' while it is not escalated)
    escalated_to: frozenset[str] = field(default_factory=frozenset)  # that group's members


def may_answer(answer: Answer) -> bool:
    """True when the responder is the step's assignee, an approver, or in the group it was escalated to."""
    allowed = {answer.assignee} if answer.assignee else set()
    return answer.responder in allowed | (answer.approvers or frozenset()) | answer.escalated_to


def _who_may_answer(answer: Answer) -> Refusal:
    people = [f"<@{answer.assignee}> (the assignee)"] if answer.assignee else []
    people.append(f"a member of @{answer.approver_group}")
    if answer.escalation_group:
        people.append(f"a member of @{answer.escalation_group} (the step was escalated to it)")
    who = " or ".join([", ".join(people[:-1]), people[-1]] if len(people) > 1 else people)
    later = "" if answer.escalation_group else " (and, once it is escalated, the escalation group)"
    return Refusal(
        "who-may-answer",
        f"Only {who} may answer this step{later}, and <@{answer.responder}> is not one of them",
        "ask one of them to answer; nothing was changed and the step is still waiting",
    )


def refusal(answer: Answer) -> Refusal | None:
    """None when *answer* may be taken; else the first rule it breaks (see the module docstring)."""
    for name, text in (("note", answer.note), ("responder", answer.responder)):
        if has_template_markers(text):
            return Refusal(
                "template-markers",
                "{field} holds template markers ({{, }}, {%, %}, {#), which Prefect's server would render",
                "remove them and answer again",
                field=name,
            )
    if len(answer.note) > MAX_NOTE:
        return Refusal("note-length", f"{{field}} is longer than {MAX_NOTE} characters", "shorten it", field="note")
    allowed = OUTCOMES_BY_KIND.get(answer.kind)
    if allowed is None:
        return Refusal("outcome-for-kind", f"there is no kind of step called {answer.kind!r}", "answer a Baton step")
    if answer.outcome not in allowed:
        return Refusal(
            "outcome-for-kind",
            f"'{answer.outcome}' is not an answer to this {answer.kind} step",
            "use {choices}",
            choices=allowed,
        )
    if answer.kind == "secret" and answer.outcome == "done" and answer.via not in SECRET_PATHS:
        return Refusal(
            "secret-through-its-link",
            "a secret step is done only through its one-time deposit or OAuth link (see the Slack message), "
            "so the secret goes straight into Vault",
            "use that link, or report a problem",
        )
    rights_known = answer.via == "slack" and answer.verified and answer.approvers is not None
    if answer.kind in ("task", "secret") and rights_known and not may_answer(answer):
        return _who_may_answer(answer)
    if answer.kind == "approval" and answer.outcome == "approve":
        group = answer.approver_group
        if answer.approvals_slack_only and not answer.verified:
            return Refusal(
                "approvals-slack-only",
                "approvals are accepted only through Slack, where Slack vouches for who clicked "
                "(BATON_APPROVALS_SLACK_ONLY=true)",
                f"approve with the Slack button as a member of @{group}; a rejection may come from anywhere",
            )
        if answer.verified and answer.approvers is not None and answer.responder not in answer.approvers:
            return Refusal(
                "approver-group",
                f"Only members of @{group} may approve, and <@{answer.responder}> is not one",
                f"ask a member of @{group} to approve",
            )
        if answer.responder and answer.responder in answer.requester:
            return Refusal(
                "four-eyes",
                "the person who requested this may not approve it (four eyes)",
                f"someone else in @{group} must approve",
            )
    return None
