"""When to remind, escalate and give up on a human step: one plan, used while a run waits in-process
(pause) and by the sweeper for suspended runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["remind", "escalate", "expire"]


@dataclass(frozen=True)
class WaitPolicy:
    """Seconds from the moment the step was posted: a reminder every *remind_every* until the escalation,
    the escalation at *escalate_after*, the safe failure at *deadline*."""

    remind_every: float = 4 * 3600
    escalate_after: float = 24 * 3600
    deadline: float = 72 * 3600

    def __post_init__(self) -> None:
        if not (0 < self.remind_every and 0 < self.escalate_after <= self.deadline):
            raise ValueError(
                f"a wait policy needs 0 < remind_every and 0 < escalate_after <= deadline; got remind_every="
                f"{self.remind_every}, escalate_after={self.escalate_after}, deadline={self.deadline}"
            )

    def due(self, elapsed: float, done: tuple[Action, ...]) -> list[Action]:
        """Actions due at *elapsed* seconds that are not in *done* (reminders are counted, in order).

        Reminders stop at the escalation; nothing is due before the first reminder."""
        due: list[Action] = []
        reminders_due = int(min(elapsed, self.deadline) // self.remind_every)
        if elapsed >= self.escalate_after:
            reminders_due = min(reminders_due, int(self.escalate_after // self.remind_every))
        due += ["remind"] * max(0, reminders_due - done.count("remind"))
        if elapsed >= self.escalate_after and "escalate" not in done:
            due.append("escalate")
        if elapsed >= self.deadline and "expire" not in done:
            due.append("expire")
        return due
