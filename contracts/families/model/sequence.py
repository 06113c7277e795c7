"""Running actions one after another: the model turns each into a request, the answer is
judged by every check of the API's registry against the state before it, then the model
moves on. The Hypothesis machine and `replay` both run sequences through here."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from . import runtype, systemprompt
from .core import Action, Answer, Problem, Request, Step

Sender = Callable[[Request], tuple[Answer, Any]]


class Model(Protocol):
    api: str

    def request(self, action: Action, step: int) -> Request | None: ...
    def view(self, step: Step) -> Any: ...
    def expectation(self, view: Any) -> str: ...
    def apply(self, view: Any) -> None: ...
    def cleanup(self) -> list[Action]: ...


Check = Callable[[Any, Any], Iterator[Problem]]
CHECKS: dict[str, Sequence[Check]] = {"runtype": runtype.CHECKS, "systemprompt": systemprompt.CHECKS}


def check_names() -> list[str]:
    """Every check of the model family, in registry order (names shared by both APIs)."""
    return list(dict.fromkeys(c.__name__ for checks in CHECKS.values() for c in checks))


def new_model(api: str, writable: str | None = None) -> Model:
    if api == "runtype":
        return runtype.RuntypeModel()
    return systemprompt.SystempromptModel(writable)


class Run:
    """One sequence: its model, what was sent and answered, and how each step was judged."""

    def __init__(self, model: Model, send: Sender) -> None:
        self.model = model
        self.send = send
        self.checks = CHECKS[model.api]
        self.steps: list[Step] = []

    def run(self, action: Action) -> Step | None:
        """Send `action` and judge the answer; None when it could not be sent (e.g. a get of
        a conversation whose create failed): such an action is no step."""
        number = len(self.steps) + 1
        request = self.model.request(action, number)
        if request is None:
            return None
        answer, exchange = self.send(request)
        step = Step(number, action, request, answer, exchange=exchange)
        view = self.model.view(step)
        step.expected = self.model.expectation(view)
        step.problems = [problem for check in self.checks for problem in check(self.model, view)]
        self.model.apply(view)
        self.steps.append(step)
        return step

    @staticmethod
    def failing(step: Step) -> Problem | None:
        return next((p for p in step.problems if not p.observation), None)
