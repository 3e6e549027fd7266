"""Pages of the landmarks app, under /measurements/: a photo set's landmarks on its
photographs, with the clinician's corrections. ``view_clinical`` to look, the recording
capability (``record_consultation``) to correct."""

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from clinic.api.errors import error_body
from clinic.audit import audit_record
from clinic.errors import DomainError
from clinic.views import capability_required

from . import detection, formulas, selectors, services
from .models import FaceLandmarks

VIEW_CLINICAL = "clinic.view_clinical"
RECORD = "clinic.record_consultation"


@capability_required(VIEW_CLINICAL)
def set_measurements(request, pk: int):
    result = selectors.set_measurements(pk=pk)
    if result is None:
        raise Http404
    patient = result.photo_set.patient
    audit_record(
        actor=request.user,
        action="measurements.viewed",
        target=result.photo_set,
        patient_id=patient.pk,
    )
    rows = list(formulas.DEFINITIONS)
    for _view, _label, _item, landmarks in result.views:
        if landmarks is not None and landmarks.is_found:
            landmarks.crop = _crop(landmarks)  # type: ignore[attr-defined]
            landmarks.radius = round(float(landmarks.crop.split()[2]) / 140, 1)  # type: ignore[attr-defined]
    return render(
        request,
        "landmarks/set.html",
        {
            "patient": patient,
            "result": result,
            "rows": rows,
            "dental_label": formulas.LABELS["dental_show"][0],
            "excursion_label": formulas.LABELS["commissure_excursion"][0],
            "labels": detection.LABELS,
            "can_correct": request.user.has_perm(RECORD),
            "formula_version": formulas.FORMULA_VERSION,
        },
    )


def _crop(landmarks: FaceLandmarks) -> str:
    """The SVG viewBox around the face: the landmarks' extent with a margin, inside the photo."""
    xs = [p[0] for p in landmarks.points.values()]
    ys = [p[1] for p in landmarks.points.values()]
    width, height = landmarks.image_width or 1, landmarks.image_height or 1
    side = max(max(xs) - min(xs), max(ys) - min(ys)) * 1.6
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    left, top = max(0.0, cx - side / 2), max(0.0, cy - side / 2)
    return f"{left:.1f} {top:.1f} {min(side, width - left):.1f} {min(side, height - top):.1f}"


@require_POST
@capability_required(VIEW_CLINICAL, RECORD)
def correct(request, pk: int):
    """Move one landmark (``name``, ``x``, ``y`` in the photograph's pixels)."""
    landmarks = get_object_or_404(FaceLandmarks.objects.select_related("media_item"), pk=pk)
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    try:
        landmarks = services.landmarks_correct(
            landmarks=landmarks,
            actor=request.user,
            name=request.POST.get("name", ""),
            x=request.POST.get("x", ""),
            y=request.POST.get("y", ""),
        )
    except DomainError as exc:
        if wants_json:
            return JsonResponse(error_body(exc.code, exc.detail, exc.fields), status=exc.status)
        text = " ".join(m for msgs in exc.fields.values() for m in msgs) or exc.detail
        messages.error(request, text)
    else:
        if wants_json:
            return JsonResponse(
                {"id": landmarks.pk, "points": landmarks.points, "measurements": landmarks.measurements}
            )
        messages.success(
            request, f"{detection.LABELS[request.POST['name']]} moved; the measurements were made again."
        )
    return redirect("landmarks:set", pk=landmarks.media_item.photo_set_id)
