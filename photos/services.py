"""Photo sets, their photographs and videos, and photo consent: every write goes through here.

Files live in the photos storage only (photos.storage); a request never writes a processed
file and a worker never trusts a name. Every read of a file is audited (``media_read``).
"""

import hashlib
import logging
import zipfile
from datetime import date, datetime, timedelta
from io import BytesIO

from django.db import transaction
from django.utils import timezone

from clinic.audit import acting_user, audit_record
from clinic.errors import Conflict, Invalid

from . import hooks
from .models import MediaItem, PhotoConsent, PhotoSet, View
from .processing import MediaRefused, max_bytes, process_image, process_video, sniff, too_large
from .storage import delete_quietly, photo_storage, store_bytes

logger = logging.getLogger(__name__)

SNIFF_BYTES = 8192
RENDITIONS = ("main", "screen", "thumb", "poster")


# --- Sets --------------------------------------------------------------------------------------


def photo_set_create(*, patient, actor, taken_at: datetime, encounter=None, note: str = "") -> PhotoSet:
    if encounter is not None and encounter.patient_id != patient.pk:
        raise Invalid(fields={"encounter": ["That encounter is another patient's."]})
    if taken_at > timezone.now() + timedelta(minutes=5):
        raise Invalid(fields={"taken_at": ["Photographs cannot be taken in the future."]})
    photo_set = PhotoSet.objects.create(
        patient=patient,
        encounter=encounter,
        taken_at=taken_at,
        note=note.strip(),
        created_by=acting_user(actor),
    )
    audit_record(
        actor=actor,
        action="photo_set.created",
        target=photo_set,
        patient_id=patient.pk,
        changes={"encounter": encounter.pk if encounter else None, "taken_at": taken_at.isoformat()},
    )
    return photo_set


def photo_set_delete(*, photo_set: PhotoSet, actor, reason: str) -> PhotoSet:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(fields={"reason": ["Say why the set is deleted."]})
    with transaction.atomic():
        photo_set = PhotoSet.objects.select_for_update().get(pk=photo_set.pk)
        if photo_set.is_deleted:
            raise Conflict("This photo set is already deleted.")
        now = timezone.now()
        photo_set.deleted_at, photo_set.deleted_by, photo_set.deletion_reason = now, actor, reason
        photo_set.save(update_fields=["deleted_at", "deleted_by", "deletion_reason"])
        for item in photo_set.items.filter(deleted_at__isnull=True):
            item.deleted_at, item.deleted_by, item.deletion_reason = now, actor, reason
            item.save(update_fields=["deleted_at", "deleted_by", "deletion_reason"])
        audit_record(
            actor=actor,
            action="photo_set.deleted",
            target=photo_set,
            patient_id=photo_set.patient_id,
            changes={"reason": reason},
        )
    return photo_set


# --- Upload and processing ---------------------------------------------------------------------


def media_upload(
    *, photo_set: PhotoSet, actor, upload, view: str, label: str = "", enqueue: bool = True
) -> MediaItem:
    """Take one uploaded file into a set: its type from its content, its size within the limit
    of its kind, kept under incoming/ until the worker has processed it (``enqueue=False``: the
    caller processes it itself, as the demo seed does)."""
    if photo_set.is_deleted:
        raise Conflict("This photo set is deleted.")
    if view not in View.values:
        raise Invalid(fields={"view": [f"Choose one of: {', '.join(View.values)}."]})
    if upload is None:
        raise Invalid(fields={"file": ["Choose a file."]})
    if "\x00" in label:
        raise Invalid(fields={"label": ["Text cannot contain the NUL character."]})
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    if not head:
        raise MediaRefused("empty", "The file is empty.")
    kind, mime = sniff(head, upload.name)
    if upload.size > max_bytes(kind):
        raise too_large(max_bytes(kind))
    item = MediaItem(
        photo_set=photo_set,
        view=view,
        label=label.strip()[:80],
        kind=kind,
        content_type=mime,
        original_name=(upload.name or "").replace("\x00", "")[:200],
        size=upload.size,
        created_by=acting_user(actor),
    )
    incoming = photo_storage().save(f"incoming/{item.uid}", upload)
    try:
        with transaction.atomic():
            item.incoming_name = incoming
            item.save()
            audit_record(
                actor=actor,
                action="media.uploaded",
                target=item,
                patient_id=photo_set.patient_id,
                changes={"view": view, "kind": kind, "size": upload.size},
            )
            if enqueue:
                transaction.on_commit(lambda: _enqueue(item.pk))
    except BaseException:
        delete_quietly(incoming)
        raise
    return item


def _enqueue(item_id: int) -> None:
    from .tasks import media_process_task

    try:
        media_process_task.delay(item_id)
    except Exception:  # the broker is down: the item stays pending and can be retried
        logger.exception("could not queue media processing", extra={"item": item_id})


class TransientFailure(Exception):
    """Processing failed for a reason other than the file (storage, a crashed converter)."""


def media_process(*, item_id: int) -> MediaItem:
    """The worker's job: renditions written, then the item ready, then the upload removed. A
    refused file leaves no file behind; any other failure leaves only the upload, for a retry."""
    with transaction.atomic():
        item = MediaItem.objects.select_for_update().select_related("photo_set").get(pk=item_id)
        if item.status not in (MediaItem.Status.PENDING, MediaItem.Status.FAILED) or not item.incoming_name:
            return item
        item.attempts += 1
        item.save(update_fields=["attempts"])
    written: list[str] = []
    try:
        with photo_storage().open(item.incoming_name, "rb") as fh:
            data = fh.read()
        result = process_image(data) if item.kind == MediaItem.Kind.IMAGE else process_video(data)
        ext = "jpg" if item.kind == MediaItem.Kind.IMAGE else "mp4"
        base = f"media/{item.photo_set.patient_id}/{item.uid}"
        names = {"main": store_bytes(f"{base}/main.{ext}", result["main"])}
        written.append(names["main"])
        for rendition in ("screen", "thumb", "poster"):
            if rendition in result:
                names[rendition] = store_bytes(f"{base}/{rendition}.jpg", result[rendition])
                written.append(names[rendition])
    except MediaRefused as refused:
        delete_quietly(*written, item.incoming_name)
        MediaItem.objects.filter(pk=item.pk).update(
            status=MediaItem.Status.REJECTED,
            error_code=refused.code,
            error=refused.detail[:300],
            incoming_name="",
            processed_at=timezone.now(),
        )
        audit_record(
            actor=None,
            action="media.refused",
            target=item,
            patient_id=item.photo_set.patient_id,
            changes={"code": refused.code},
        )
        item.refresh_from_db()
        return item
    except Exception as exc:
        delete_quietly(*written)
        MediaItem.objects.filter(pk=item.pk).update(
            status=MediaItem.Status.FAILED,
            error_code="processing_failed",
            error="Processing failed; the upload is kept and can be retried.",
        )
        raise TransientFailure(str(exc)) from exc
    with transaction.atomic():
        MediaItem.objects.filter(pk=item.pk).update(
            status=MediaItem.Status.READY,
            error_code="",
            error="",
            main_name=names["main"],
            screen_name=names.get("screen", ""),
            thumb_name=names.get("thumb", ""),
            poster_name=names.get("poster", ""),
            width=result["width"],
            height=result["height"],
            duration_seconds=result.get("duration"),
            sha256=hashlib.sha256(result["main"]).hexdigest(),
            incoming_name="",
            processed_at=timezone.now(),
        )
        audit_record(actor=None, action="media.processed", target=item, patient_id=item.photo_set.patient_id)
        transaction.on_commit(lambda: hooks.item_ready(item.pk))
    delete_quietly(item.incoming_name)
    item.refresh_from_db()
    return item


def media_retry(*, item: MediaItem, actor) -> MediaItem:
    if item.status != MediaItem.Status.FAILED and not (
        item.status == MediaItem.Status.PENDING and item.created_at < timezone.now() - timedelta(minutes=10)
    ):
        raise Conflict("Only a failed (or long-pending) upload can be retried.")
    MediaItem.objects.filter(pk=item.pk).update(status=MediaItem.Status.PENDING)
    audit_record(actor=actor, action="media.retried", target=item, patient_id=item.photo_set.patient_id)
    transaction.on_commit(lambda: _enqueue(item.pk))
    item.refresh_from_db()
    return item


def media_delete(*, item: MediaItem, actor, reason: str) -> MediaItem:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(fields={"reason": ["Say why it is deleted."]})
    if item.deleted_at is not None:
        raise Conflict("Already deleted.")
    item.deleted_at, item.deleted_by, item.deletion_reason = timezone.now(), actor, reason
    item.save(update_fields=["deleted_at", "deleted_by", "deletion_reason"])
    audit_record(
        actor=actor,
        action="media.deleted",
        target=item,
        patient_id=item.photo_set.patient_id,
        changes={"reason": reason},
    )
    return item


def media_purge(*, now: datetime | None = None) -> int:
    """Remove the files of items deleted longer ago than the clinic's retention setting
    (ClinicSettings.photo_retention_days, set by the practice manager); the rows stay."""
    from clinic.models import ClinicSettings

    cutoff = (now or timezone.now()) - timedelta(days=ClinicSettings.load().photo_retention_days)
    purged = 0
    for item in MediaItem.objects.filter(deleted_at__lt=cutoff, files_purged_at__isnull=True).select_related(
        "photo_set"
    ):
        delete_quietly(*(item.rendition_name(r) for r in RENDITIONS), item.incoming_name)
        MediaItem.objects.filter(pk=item.pk).update(
            files_purged_at=timezone.now(), main_name="", screen_name="", thumb_name="", poster_name=""
        )
        audit_record(actor=None, action="media.purged", target=item, patient_id=item.photo_set.patient_id)
        purged += 1
    return purged


# --- Reading a file ----------------------------------------------------------------------------


def media_read(*, item: MediaItem, actor, rendition: str):
    """(open file, content type) of one rendition of a ready item; audited."""
    if rendition not in RENDITIONS:
        raise Invalid(fields={"r": [f"Choose one of: {', '.join(RENDITIONS)}."]})
    name = item.rendition_name(rendition)
    if not item.is_ready or not name:
        raise Conflict("That file is not available.")
    is_video = rendition == "main" and item.kind == MediaItem.Kind.VIDEO
    content_type = "video/mp4" if is_video else "image/jpeg"  # every other rendition is a JPEG
    handle = photo_storage().open(name, "rb")
    audit_record(
        actor=actor,
        action="media.viewed",
        target=item,
        patient_id=item.photo_set.patient_id,
        changes={"rendition": rendition},
    )
    return handle, content_type


# --- Consent -----------------------------------------------------------------------------------


def photo_consent_record(*, patient, actor, level: str, given_on: date, note: str = "") -> PhotoConsent:
    if level not in PhotoConsent.Level.values:
        raise Invalid(fields={"level": ["Choose a level of consent."]})
    if given_on > timezone.localdate():
        raise Invalid(fields={"given_on": ["Consent cannot be dated in the future."]})
    with transaction.atomic():
        latest = PhotoConsent.objects.select_for_update().filter(patient=patient).order_by("-version").first()
        consent = PhotoConsent.objects.create(
            patient=patient,
            level=level,
            version=(latest.version + 1) if latest else 1,
            given_on=given_on,
            note=note.strip(),
            recorded_by=acting_user(actor),
        )
        audit_record(
            actor=actor,
            action="photo_consent.recorded",
            target=consent,
            patient_id=patient.pk,
            changes={"level": level, "version": consent.version, "given_on": given_on.isoformat()},
        )
    return consent


def photo_consent_withdraw(*, consent: PhotoConsent, actor, reason: str = "") -> PhotoConsent:
    with transaction.atomic():
        consent = PhotoConsent.objects.select_for_update().get(pk=consent.pk)
        if consent.withdrawn_at is not None:
            raise Conflict("This consent is already withdrawn.")
        consent.withdrawn_at, consent.withdrawn_by = timezone.now(), actor
        consent.withdrawal_reason = (reason or "").strip()[:300]
        consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
        audit_record(
            actor=actor, action="photo_consent.withdrawn", target=consent, patient_id=consent.patient_id
        )
    return consent


def teaching_export(*, actor, items) -> bytes:
    """A zip of the screen renditions of ``items`` (already filtered by consent), without names
    or dates of birth: each file is named by a number and its view only. Audited per patient."""
    out = BytesIO()
    patients = set()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for n, item in enumerate(items, start=1):
            with photo_storage().open(item.screen_name, "rb") as fh:
                archive.writestr(f"{n:04d}-{item.view}.jpg", fh.read())
            patients.add(item.photo_set.patient_id)
    for patient_id in sorted(patients):
        audit_record(actor=actor, action="media.teaching_export", patient_id=patient_id)
    return out.getvalue()
