import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.dateparse import parse_datetime
from django_filters import fields as filter_fields
from django_filters import rest_framework as drf_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.filters import OrderingFilter

from clinic.api.serializers import UTC_OFFSET
from clinic.validators import (
    MAX_YEAR,
    MIN_YEAR,
    OFFSET_MESSAGE,
    YEAR_MESSAGE,
    validate_clinic_year,
    validate_utc_offset,
)


class AllowListOrderingFilter(OrderingFilter):
    """Ordering only on the fields a view names in ``ordering_fields``.

    DRF falls back to every serializer field when a view names none; here a view that names
    none cannot be ordered by the client at all (user input never reaches ORDER BY unchecked).
    """

    def get_valid_fields(self, queryset, view, context=None):
        fields = getattr(view, "ordering_fields", None)
        if not fields or fields == "__all__":
            return []
        return [(f, f) for f in fields]


# Filters in the query string take what the API's bodies take (clinic.api.serializers): dates and
# datetimes within MIN_YEAR..MAX_YEAR, UTC offsets in use (PostgreSQL refuses some that Python
# takes, e.g. +23:59: a 500 before). Every FilterSet of the API derives from FilterSet below, and
# the fields that views name in ``filterset_fields`` get these filters too (FilterBackend).


class IsoDateTimeField(filter_fields.IsoDateTimeField):
    default_error_messages = {"offset": OFFSET_MESSAGE, "year": YEAR_MESSAGE}

    def to_python(self, value):
        text = value.strip() if isinstance(value, str) else ""
        result = super().to_python(value)
        if result is None:
            return None
        if text:
            try:
                parsed = parse_datetime(text)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is not None and not UTC_OFFSET.search(text):
                raise ValidationError(self.error_messages["offset"], code="offset")
        try:
            validate_utc_offset(result)
        except ValidationError:
            raise ValidationError(self.error_messages["offset"], code="offset") from None
        if not MIN_YEAR <= result.year <= MAX_YEAR:
            raise ValidationError(self.error_messages["year"], code="year")
        return result


class DateField(forms.DateField):
    default_validators = [validate_clinic_year]


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = IsoDateTimeField


class DateFilter(django_filters.DateFilter):
    field_class = DateField


class _RawBooleanWidget(forms.TextInput):
    """The value as sent: django-filter's BooleanWidget turns what it does not know into None,
    and the filter is then dropped in silence."""


class BooleanField(forms.NullBooleanField):
    widget = _RawBooleanWidget
    VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        try:
            return self.VALUES[str(value).strip().lower()]
        except KeyError:
            raise ValidationError("Give true or false.", code="invalid") from None

    def validate(self, value):
        pass


class BooleanFilter(django_filters.BooleanFilter):
    """``true``/``false`` (or ``1``/``0``); anything else is a 400, not an unfiltered list."""

    field_class = BooleanField


BIGINT = 2**63 - 1


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A record id: a whole number within the column's range (no 1.5, no 10**30). The schema
    types it as an integer (django-filter's NumberFilter would be a number with decimals)."""

    field_class = forms.IntegerField

    def __init__(self, *args, max_value: int = BIGINT, **kwargs):
        super().__init__(*args, min_value=1, max_value=max_value, **kwargs)


class FilterSet(drf_filters.FilterSet):
    FILTER_DEFAULTS = {
        **drf_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
        models.DateTimeField: {"filter_class": IsoDateTimeFilter},
        models.DateField: {"filter_class": DateFilter},
    }


class FilterBackend(drf_filters.DjangoFilterBackend):
    """DRF's django-filter backend; FilterSets it makes from ``filterset_fields`` use the filters
    above."""

    filterset_base = FilterSet
