"""Text fields that take text only.

DRF's ``CharField`` turns a number sent for a text field into its digits (``{"address": 8.9e270}``
is stored as "8.9e+270"), though the schema says the field is a string: a client's bug would be
stored, not reported. These refuse anything that is not a JSON string with 400 ``invalid``.
``ModelSerializer`` builds them for every text column (``clinic.apps``), and serializers that
declare a text field by hand use them too.
"""

from rest_framework import serializers


class _TextOnly:
    default_error_messages = {"not_text": "Must be text."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text")
        return super().to_internal_value(data)


class CharField(_TextOnly, serializers.CharField):
    pass


class EmailField(_TextOnly, serializers.EmailField):
    pass


class SlugField(_TextOnly, serializers.SlugField):
    pass


class URLField(_TextOnly, serializers.URLField):
    pass


def use_for_model_serializers() -> None:
    """Make ModelSerializer build these for text columns (its documented field mapping)."""
    from django.db import models

    mapping = serializers.ModelSerializer.serializer_field_mapping
    mapping[models.CharField] = CharField
    mapping[models.TextField] = CharField
    mapping[models.EmailField] = EmailField
    mapping[models.SlugField] = SlugField
    mapping[models.URLField] = URLField
