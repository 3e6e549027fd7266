"""Reads of photo sets, for the pages and the API (a fixed number of queries each)."""

from dataclasses import dataclass, field

from django.db.models import Prefetch, Q

from .models import STANDARD_VIEWS, VIEW_PROMPTS, MediaItem, PhotoConsent, PhotoSet, View


def live_items():
    return MediaItem.objects.filter(deleted_at__isnull=True)


def patient_sets(*, patient_id: int):
    """A patient's photo sets, newest first, with their live items (two queries)."""
    return (
        PhotoSet.objects.filter(patient_id=patient_id, deleted_at__isnull=True)
        .select_related("encounter")
        .prefetch_related(Prefetch("items", queryset=live_items().order_by("view", "id")))
        .order_by("-taken_at", "-id")
    )


def set_with_items(*, pk: int) -> PhotoSet | None:
    """One set (deleted or not) with its live items."""
    return (
        PhotoSet.objects.filter(pk=pk)
        .select_related("patient", "encounter")
        .prefetch_related(Prefetch("items", queryset=live_items().order_by("view", "id")))
        .first()
    )


@dataclass
class SetView:
    """A set laid out for the capture page: one slot per standard view, then the extras."""

    photo_set: PhotoSet
    slots: list = field(default_factory=list)  # (view value, label, [items], prompt)
    extras: list = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(1 for _, _, items, _ in self.slots if any(i.kind == "image" and i.is_ready for i in items))


def set_layout(photo_set: PhotoSet) -> SetView:
    by_view: dict[str, list] = {}
    for item in photo_set.items.all():
        by_view.setdefault(item.view, []).append(item)
    for items in by_view.values():
        # The tile a strip shows first: a ready photograph, then a ready video, newest first.
        items.sort(key=lambda i: (not i.is_ready, i.kind != MediaItem.Kind.IMAGE, -i.pk))
    layout = SetView(photo_set)
    layout.slots = [(v.value, v.label, by_view.get(v.value, []), VIEW_PROMPTS[v]) for v in STANDARD_VIEWS]
    layout.extras = by_view.get(View.EXTRA, [])
    return layout


def view_series(*, patient_id: int, view: str) -> list[tuple[PhotoSet, MediaItem]]:
    """Each set's best item of ``view`` (its latest ready photograph, else its latest video),
    oldest set first."""
    items = (
        live_items()
        .filter(
            photo_set__patient_id=patient_id,
            photo_set__deleted_at__isnull=True,
            view=view,
            status=MediaItem.Status.READY,
        )
        .select_related("photo_set")
        .order_by("photo_set__taken_at", "photo_set_id", "kind", "-id")
    )
    chosen: dict[int, MediaItem] = {}
    for item in items:
        best = chosen.get(item.photo_set_id)
        if best is None or (best.kind == "video" and item.kind == "image"):
            chosen[item.photo_set_id] = item
    return [(item.photo_set, item) for item in chosen.values()]


def current_consent(*, patient_id: int) -> PhotoConsent | None:
    """The latest consent still in force, if any (None: the clinical record only)."""
    latest = PhotoConsent.objects.filter(patient_id=patient_id).order_by("-version").first()
    return latest if latest is not None and latest.is_active else None


def teaching_items(*, view: str = ""):
    """Ready photographs that photo consent lets the clinic use for teaching: the patient's
    current consent is teaching with the face, or teaching without it for items marked as not
    showing the face. A withdrawn or replaced consent counts for nothing."""
    from django.db.models import OuterRef, Subquery

    latest = PhotoConsent.objects.filter(patient_id=OuterRef("photo_set__patient_id")).order_by("-version")
    qs = (
        live_items()
        .filter(status=MediaItem.Status.READY, kind=MediaItem.Kind.IMAGE, photo_set__deleted_at__isnull=True)
        .annotate(
            consent_level=Subquery(latest.values("level")[:1]),
            consent_withdrawn=Subquery(latest.values("withdrawn_at")[:1]),
        )
        .filter(consent_withdrawn__isnull=True)
        .filter(
            Q(consent_level=PhotoConsent.Level.TEACHING_WITH_FACE)
            | Q(consent_level=PhotoConsent.Level.TEACHING_NO_FACE, identifiable=False)
        )
        .select_related("photo_set")
        .order_by("photo_set__patient_id", "photo_set__taken_at", "view", "id")
    )
    if view:
        qs = qs.filter(view=view)
    return qs
