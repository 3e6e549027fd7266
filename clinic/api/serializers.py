"""DRF's serializers module, with the input rules every API endpoint shares.

The apps import ``serializers`` from here instead of from rest_framework; everything is DRF's
except:

- ``Serializer`` and ``ModelSerializer`` refuse input naming a field they cannot set. DRF
  silently drops names it does not know: a client that misspells ``palsy_onset_date`` or tries
  to set ``status`` through a PATCH would be told "200 OK" and believe the record changed. Here
  such a request answers 400 with code ``unknown_field`` and a message per field (read-only
  fields included: they are not input). Nested serializers (an injection inside a toxin
  session) are held to it too, with the path to the field.
- ``DateTimeField`` takes only times with a UTC offset (``Z`` or ``+01:00``): a bare local time
  is ambiguous twice a year around the clock change, and the API will not guess. The offset is
  one in use (-14:00 to +14:00: PostgreSQL refuses more than 15:59). Datetimes and
  ``DateField`` dates are within the years ``MIN_YEAR``..``MAX_YEAR``: nothing the clinic
  records lies outside, and far-off years break time zone arithmetic (local mean time offsets
  of the 1800s are not valid RFC 3339) or overflow.

ModelSerializer builds its model fields from these classes too.
"""

import datetime
import re
from collections.abc import Mapping

from django.db import models
from django.utils.dateparse import parse_datetime
from rest_framework import serializers as drf
from rest_framework.serializers import *  # noqa: F403  (everything else of DRF's module, unchanged)

from clinic.validators import MAX_UTC_OFFSET, MAX_YEAR, MIN_YEAR, OFFSET_MESSAGE, YEAR_MESSAGE

UNKNOWN_FIELD = "unknown_field"
# RFC 3339's offsets: Z, or hours 00-23 and minutes 00-59 (Python alone would take +01:99).
UTC_OFFSET = re.compile(r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)$")


class DateTimeField(drf.DateTimeField):
    default_error_messages = {
        "naive": "Give the UTC offset too, e.g. 2027-03-02T10:00:00+00:00 or ...Z.",
        "offset": OFFSET_MESSAGE,
        "year": YEAR_MESSAGE,
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:  # well formed but impossible: month 13, offset +25:00
                self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss[.uuuuuu]]+HH:MM")
            if parsed is not None:
                if parsed.tzinfo is None:
                    self.fail("naive")
                if not UTC_OFFSET.search(value.strip()) or abs(parsed.utcoffset()) > MAX_UTC_OFFSET:
                    self.fail("offset")
                if not MIN_YEAR <= parsed.year <= MAX_YEAR:
                    self.fail("year")
        elif isinstance(value, datetime.datetime) and value.tzinfo is None:
            self.fail("naive")
        elif isinstance(value, datetime.datetime) and abs(value.utcoffset()) > MAX_UTC_OFFSET:
            self.fail("offset")
        result = super().to_internal_value(value)
        if not MIN_YEAR <= result.year <= MAX_YEAR:
            self.fail("year")
        return result


class DateField(drf.DateField):
    default_error_messages = {"year": YEAR_MESSAGE}

    def to_internal_value(self, value):
        result = super().to_internal_value(value)
        if not MIN_YEAR <= result.year <= MAX_YEAR:
            self.fail("year")
        return result


class RejectUnknownFieldsMixin:
    # A serializer that reads a query string, where other parameters (``page``, ``ordering``,
    # ``format``) legitimately travel alongside, sets ``allow_unknown_fields = True``.
    allow_unknown_fields = False

    def input_errors(self, data) -> dict:
        """Errors of the body as a whole, reported with the fields' own: unknown and read-only
        fields here; a subclass adds its own (``super().input_errors(data) | {...}``)."""
        if not isinstance(data, Mapping) or self.allow_unknown_fields:
            return {}
        writable = {field.field_name for field in self._writable_fields}
        readable = set(self.fields)
        return {
            str(name): [
                drf.ErrorDetail(
                    "This field is read-only." if name in readable else "Unknown field.",
                    code=UNKNOWN_FIELD,
                )
            ]
            for name in data
            if name not in writable
        }

    def to_internal_value(self, data):
        problems = self.input_errors(data)
        try:
            value = super().to_internal_value(data)
        except drf.ValidationError as exc:
            # Every problem at once: the fields' own and the body's.
            if problems and isinstance(exc.detail, dict):
                raise drf.ValidationError({**exc.detail, **problems}) from exc
            raise
        if problems:
            raise drf.ValidationError(problems)
        return value


class Serializer(RejectUnknownFieldsMixin, drf.Serializer):
    pass


class ModelSerializer(RejectUnknownFieldsMixin, drf.ModelSerializer):
    serializer_field_mapping = {
        **drf.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: DateTimeField,
        models.DateField: DateField,
    }

    def include_extra_kwargs(self, kwargs, extra_kwargs):
        allow_blank = kwargs.get("allow_blank")
        kwargs = super().include_extra_kwargs(kwargs, extra_kwargs)
        if allow_blank and kwargs.get("read_only"):
            # DRF drops allow_blank from read-only fields, and the schema would then say that a
            # choice left unset ("") cannot be answered.
            kwargs["allow_blank"] = True
        return kwargs


class ReferenceField(drf.PrimaryKeyRelatedField):
    """A related record: its id as input, ``{"id", "name"}`` as output (``name`` read from the
    record's ``name_attr``). The schema says so per direction (clinic.api.schema)."""

    def __init__(self, *, name_attr: str = "display_name", **kwargs):
        self.name_attr = name_attr
        super().__init__(**kwargs)

    def use_pk_only_optimization(self):
        return False

    def to_representation(self, value):
        return {"id": value.pk, "name": getattr(value, self.name_attr)}


class AnsweredChoiceField(drf.ChoiceField):
    """A choice a client sends from ``choices``, answered from ``choices`` plus ``answered_only``:
    values the server records itself (a consent carried over by a merge) and a client may not
    send. The schema documents each direction's enum (clinic.api.schema)."""

    def __init__(self, *, answered_only, **kwargs):
        self.answered_only = list(answered_only)
        super().__init__(**kwargs)

    @property
    def answered_choices(self):
        return [*self.choices.items(), *self.answered_only]

    def to_representation(self, value):
        return "" if value in ("", None) else str(value)
