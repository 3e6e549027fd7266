"""Field validators of the patient record, shared by the model, the forms and the API."""

import re
from datetime import date

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber, to_python

EARLIEST_BIRTH_DATE = date(1900, 1, 1)

_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")


def validate_birth_date(value: date) -> None:
    if value > timezone.localdate():
        raise ValidationError("The date of birth cannot be in the future.", code="future")
    if value < EARLIEST_BIRTH_DATE:
        raise ValidationError("Enter a date of birth after 1900.", code="too_early")


def validate_not_future(value: date) -> None:
    if value > timezone.localdate():
        raise ValidationError("This date cannot be in the future.", code="future")


def validate_mobile(value) -> None:
    """Reminders go by SMS, so the mobile field must hold a number that can receive one."""
    number = to_python(value)
    if not isinstance(number, PhoneNumber) or not number.is_valid():
        return  # The field's own validator reports an invalid number.
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise ValidationError(
            "Enter a mobile number: this one cannot receive text messages.", code="not_mobile"
        )


def validate_country_code(value: str) -> None:
    if value and not _COUNTRY_CODE.match(value):
        raise ValidationError("Enter a two-letter country code, e.g. GB.", code="invalid")


def validate_language_tag(value: str) -> None:
    if not _LANGUAGE_TAG.match(value):
        raise ValidationError("Enter a language code, e.g. en, fr or pt-BR.", code="invalid")


def validate_name(value: str) -> None:
    if not any(ch.isalpha() for ch in value):
        raise ValidationError("Enter a name with at least one letter.", code="invalid")


def validate_no_control_characters(value: str) -> None:
    # NUL cannot be stored by PostgreSQL at all; other control characters are never intended.
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
        raise ValidationError("Remove the control characters from this text.", code="control_characters")
