"""Load the licensed wording of an instrument's items: a JSON object {item key: question}.

    python manage.py instrument_wording_load face wording-face.json

Unknown item keys are refused (nothing is loaded); loading again replaces the text.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from treatments import instruments
from treatments.services.assessments import instrument_wording_load


class Command(BaseCommand):
    help = "Load the clinic's licensed wording for an instrument's items."

    def add_arguments(self, parser):
        parser.add_argument("instrument")
        parser.add_argument("path")

    def handle(self, *args, instrument: str, path: str, **options):
        definition = instruments.get(instrument)
        if definition is None:
            raise CommandError(f"Unknown instrument {instrument!r}.")
        try:
            with open(path, encoding="utf-8") as handle:
                wording = json.load(handle)
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        try:
            count = instrument_wording_load(instrument=definition, wording=wording, actor=None)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Loaded {count} item(s) for {definition.name}.")
