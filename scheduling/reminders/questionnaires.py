"""Questionnaires patients fill in from a link, contributed by the app that owns the instrument.

The reminders send the request and show the form, but storing the answers as an assessment is
the treatments app's business: it registers each patient-reported instrument here (from its
AppConfig.ready()), so this package never imports it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Questionnaire:
    instrument: str
    title: str
    intro: str
    # (item key, question) in order; every item is answered on the ``choices`` scale unless
    # ``item_choices`` gives it its own answers (value, label): a value is stored as given.
    items: list[tuple[str, str]]
    choices: list[tuple[int | str, str]]
    # Called as save(patient=, items={key: value}, answered_at=, source=) and returns nothing.
    save: Callable[..., None]
    item_choices: dict[str, list[tuple[int | str, str]]] = field(default_factory=dict)
    # Called at display time for {item key: question}: wording the clinic has loaded (licensed
    # instruments ship item ids only). Missing keys keep the text in ``items``.
    wording: Callable[[], dict[str, str]] | None = None

    def choices_for(self, key: str) -> list[tuple[int | str, str]]:
        return self.item_choices.get(key, self.choices)

    def questions(self) -> list[tuple[str, str]]:
        loaded = self.wording() if self.wording else {}
        return [(key, loaded.get(key) or question) for key, question in self.items]


_registry: dict[str, Questionnaire] = {}


def register_questionnaire(questionnaire: Questionnaire) -> None:
    _registry[questionnaire.instrument] = questionnaire


def questionnaire_for(instrument: str) -> Questionnaire | None:
    return _registry.get(instrument)
