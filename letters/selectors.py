"""Reads of letters for pages and the API."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import Letter, LetterDelivery


def letters_listed() -> QuerySet[Letter]:
    """Letters as lists show them, newest first, with who wrote and signed them (one query)."""
    return Letter.objects.select_related("created_by", "signed_by").order_by("-created_at", "-id")


def letters_of(*, patient_id: int) -> QuerySet[Letter]:
    return letters_listed().filter(patient_id=patient_id)


def letters_with_deliveries() -> QuerySet[Letter]:
    return letters_listed().prefetch_related(
        Prefetch("deliveries", queryset=LetterDelivery.objects.order_by("created_at", "id"))
    )


def letter_detail(pk: int) -> Letter:
    letter: Letter = (
        letters_with_deliveries()
        .select_related("patient", "encounter", "amends")
        .prefetch_related("corrections")
        .get(pk=pk)
    )
    return letter
