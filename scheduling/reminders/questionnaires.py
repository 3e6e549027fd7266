"""Questionnaires patients fill in from a link, contributed by the app that owns the instrument.

The reminders send the request and show the form, but storing the answers as an assessment is
the treatments app's business: it registers each patient-reported instrument here (from its
AppConfig.ready()), so this package never imports it.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Questionnaire:
    instrument: str
    title: str
    intro: str
    # (item key, question) in order; every item is answered on the ``choices`` scale.
    items: list[tuple[str, str]]
    choices: list[tuple[int, str]]
    # Called as save(patient=, items={key: value}, answered_at=, source=) and returns nothing.
    save: Callable[..., None]


_registry: dict[str, Questionnaire] = {}


def register_questionnaire(questionnaire: Questionnaire) -> None:
    _registry[questionnaire.instrument] = questionnaire


def questionnaire_for(instrument: str) -> Questionnaire | None:
    return _registry.get(instrument)
