from datetime import timedelta

from django.contrib.auth.password_validation import CommonPasswordValidator as DjangoCommonPasswordValidator
from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

# Dates a clinic records (plan targets, lot expiry, waitlist windows, API dates) fall in these
# years; anything else is a typo, and some databases and clients cannot hold it.
MIN_YEAR = 1900
MAX_YEAR = 2199
YEAR_MESSAGE = f"Use a year from {MIN_YEAR} to {MAX_YEAR}."


# UTC offsets in use run from -12:00 to +14:00; PostgreSQL refuses anything past +-15:59 (a 500
# if it got that far), and RFC 3339 would allow +23:59.
MAX_UTC_OFFSET = timedelta(hours=14)
OFFSET_MESSAGE = "Give the UTC offset as Z or +hh:mm, from -14:00 to +14:00."


def validate_utc_offset(value) -> None:
    """``value``: an aware datetime. Its offset must be one the world (and PostgreSQL) uses."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValidationError(OFFSET_MESSAGE, code="offset")


def validate_clinic_year(value) -> None:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError(YEAR_MESSAGE, code="year")


class MaximumLengthValidator:
    """Refuse passwords longer than ``max_length``: hashing an unbounded input is a cheap DoS."""

    def __init__(self, max_length: int = 128):
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                ngettext(
                    "This password is too long. It must contain at most %(max_length)d character.",
                    "This password is too long. It must contain at most %(max_length)d characters.",
                    self.max_length,
                ),
                code="password_too_long",
                params={"max_length": self.max_length},
            )

    def get_help_text(self) -> str:
        return f"Your password can be up to {self.max_length} characters long; a long passphrase is best."


# Digits and symbols people put in place of letters ("Passw0rd", "p@ssw0rd").
_UNLEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)


class CommonPasswordValidator(DjangoCommonPasswordValidator):
    """Django's common-password check against the bundled, larger list (clinic/data/), that also
    catches the usual disguises of a listed password: a number or symbols added at the end, and
    digits or symbols in place of letters (``Passw0rd!``, ``Password2026!``)."""

    def validate(self, password: str, user=None) -> None:
        for candidate in _variants(password):
            if candidate in self.passwords:
                raise ValidationError(self.get_error_message(), code="password_too_common")

    def get_error_message(self) -> str:
        return "This password is too common, or a common password with small changes."


def _variants(password: str) -> set[str]:
    plain = password.lower().strip()
    bare = plain.rstrip("0123456789!?.#*@$%&_-+= ")
    return {v for v in (plain, bare, plain.translate(_UNLEET), bare.translate(_UNLEET)) if v}
