"""The patient's home-programme page, opened from a signed link (no login).

The link names the therapy visit whose programme was sent; the page always shows the patient's
*current* programme (their latest signed therapy visit), what its visit changed, and who their
therapist is. ``?format=pdf`` is the same page as a PDF (WeasyPrint). A short weekly check-in
("how did it go") is answered on the page. Registered with the reminders' patient links from
``TreatmentsConfig.ready()``, so scheduling never imports this app.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache

from clinic.errors import Invalid
from clinic.models import ClinicSettings
from patients.models import Patient
from scheduling.reminders.link_views import link_problem
from scheduling.reminders.links import PatientLink, register_link_action

from .models import Encounter, TherapyVisit
from .programme import Programme, dose_text, exercise_key, programme_current
from .services.programme import DAYS, DIFFICULTY, NOTE_MAX, PROGRAMME_ACTION, programme_checkin_record


def _refused(request: HttpRequest) -> HttpResponse:
    response: HttpResponse = link_problem(request, expired=False)
    return response


def _rows(programme: Programme) -> list[dict[str, Any]]:
    added = {exercise_key(name) for name in programme.diff.added}
    changed = {exercise_key(item.name): item.changes for item in programme.diff.changed}
    return [
        {
            "name": exercise.exercise,
            "how": exercise.instructions,
            "dose": dose_text(exercise),
            "notes": exercise.notes,
            "status": "new"
            if exercise_key(exercise.exercise) in added
            else "changed"
            if exercise_key(exercise.exercise) in changed
            else "",
            "changes": changed.get(exercise_key(exercise.exercise), ()),
        }
        for exercise in programme.exercises
    ]


def _context(programme: Programme, sent: TherapyVisit, patient: Patient) -> dict[str, Any]:
    return {
        "programme": programme,
        "rows": _rows(programme),
        "diff": programme.diff,
        "first_visit": programme.previous is None,
        "therapist": programme.therapist_name,
        "set_on": programme.set_on,
        "superseded": programme.visit is not None and programme.visit.pk != sent.pk,
        "first_name": patient.preferred_name or patient.first_name,
        "clinic_name": ClinicSettings.load().display_name,
    }


def _fetcher() -> Any:
    """WeasyPrint fetches nothing: the PDF's only resources are in the document itself."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=("data",), fail_on_errors=True)


def _pdf(programme: Programme, sent: TherapyVisit, patient: Patient) -> HttpResponse:
    from weasyprint import HTML

    html = render_to_string("treatments/programme/pdf.html", _context(programme, sent, patient))
    pdf = HTML(string=html, url_fetcher=_fetcher()).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="home-programme.pdf"'
    return response


@never_cache
def programme_page(request: HttpRequest, *, link: PatientLink, patient: Patient, token: str) -> HttpResponse:
    visit_id = int(link.target) if link.target.isdigit() and len(link.target) < 19 else 0
    sent = (
        TherapyVisit.objects.filter(
            pk=visit_id, encounter__patient=patient, encounter__status=Encounter.Status.SIGNED
        )
        .select_related("encounter")
        .first()
    )
    if sent is None:
        return _refused(request)
    programme = programme_current(patient_id=patient.pk)
    if programme.visit is None:  # pragma: no cover - the sent visit is signed, so one exists
        return _refused(request)
    if request.method == "GET" and request.GET.get("format") == "pdf":
        return _pdf(programme, sent, patient)
    errors: dict[str, Any] = {}
    answers = {"days_done": "", "difficulty": "", "note": ""}
    status = 200
    if request.method == "POST":
        answers = {key: request.POST.get(key, "") for key in answers}
        try:
            programme_checkin_record(
                patient=patient,
                visit=programme.visit,
                days_done=answers["days_done"],
                difficulty=answers["difficulty"],
                note=answers["note"],
                source=f"link:{sent.pk}",
            )
        except Invalid as exc:
            errors = exc.fields
            status = 400
        else:
            # After a POST, a GET: reloading the page never answers twice.
            return HttpResponseRedirect(f"{request.path}?checked_in=1#checkin")
    context = _context(programme, sent, patient)
    context.update(
        {
            "errors": errors,
            "answers": answers,
            "checked_in": request.GET.get("checked_in") == "1",
            "days_range": range(DAYS[0], DAYS[1] + 1),
            "difficulty_range": range(DIFFICULTY[0], DIFFICULTY[1] + 1),
            "note_max": NOTE_MAX,
            "pdf_url": f"{request.path}?format=pdf",
        }
    )
    return render(request, "treatments/programme/page.html", context, status=status)


def register() -> None:
    register_link_action(PROGRAMME_ACTION, programme_page)
