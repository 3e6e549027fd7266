"""FHIR R4 Media resources for photographs and videos, joined to the patient's export through
treatments.fhir's registry of extra resources.

Media (R4): ``type`` image/video (media-type code system), ``modality`` none, ``view`` the
standard view as a clinic code, ``subject`` the Patient, ``encounter`` when the set belongs to
one, ``createdDateTime`` when it was taken, ``content`` an attachment whose ``url`` is the
permission-checked file route (never the file itself, never a storage URL), its content type,
width, height and duration."""

from django.urls import reverse

from .models import MediaItem

MEDIA_TYPE = "http://terminology.hl7.org/CodeSystem/media-type"


def media_resource(item: MediaItem) -> dict:
    photo_set = item.photo_set
    is_video = item.kind == MediaItem.Kind.VIDEO
    resource = {
        "resourceType": "Media",
        "id": str(item.pk),
        "status": "completed",
        "type": {
            "coding": [{"system": MEDIA_TYPE, "code": "video" if is_video else "image"}],
            "text": "Video" if is_video else "Image",
        },
        "view": {
            "coding": [
                {"system": "urn:clinic:fhir:codesystem:photo-view", "code": item.view, "display": item.title}
            ],
            "text": item.title,
        },
        "subject": {"reference": f"Patient/{photo_set.patient_id}"},
        "createdDateTime": photo_set.taken_at.isoformat(),
        "content": {
            "contentType": "video/mp4" if is_video else "image/jpeg",
            "url": reverse("photos:file", args=[item.pk]) + "?r=main",
            "title": item.title,
        },
    }
    if photo_set.encounter_id:
        resource["encounter"] = {"reference": f"Encounter/{photo_set.encounter_id}"}
    if item.width and item.height:
        resource["width"], resource["height"] = item.width, item.height
    if item.duration_seconds is not None:
        resource["duration"] = round(item.duration_seconds, 2)
    return resource


def ready_media():
    return MediaItem.objects.filter(
        deleted_at__isnull=True, status=MediaItem.Status.READY, photo_set__deleted_at__isnull=True
    ).select_related("photo_set")


def patient_media(patient) -> list[dict]:
    items = ready_media().filter(photo_set__patient=patient).order_by("photo_set__taken_at", "view", "id")
    return [media_resource(i) for i in items]
