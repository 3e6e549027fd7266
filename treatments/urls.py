"""Pages of the treatments app, under /clinical/."""

from django.urls import path

from . import agreements, lot_views, settings_section, views

app_name = "treatments"

urlpatterns = [
    path("patients/<int:patient_id>/", views.patient_clinical, name="patient"),
    path("drafts/", views.drafts, name="drafts"),
    path("toxin/new/", views.encounter_new, {"kind": "toxin"}, name="toxin_new"),
    path("therapy/new/", views.encounter_new, {"kind": "therapy"}, name="therapy_new"),
    path("surgery/new/", views.encounter_new, {"kind": "surgery"}, name="surgery_new"),
    path("consultation/new/", views.encounter_new, {"kind": "consultation"}, name="consultation_new"),
    path("follow-up/new/", views.encounter_new, {"kind": "follow_up"}, name="follow_up_new"),
    path("encounters/<int:pk>/", views.encounter_detail, name="encounter"),
    path("encounters/<int:pk>/edit/", views.encounter_edit, name="encounter_edit"),
    path("encounters/<int:pk>/sign/", views.encounter_sign, name="encounter_sign"),
    path("encounters/<int:pk>/cosign/", views.encounter_cosign, name="encounter_cosign"),
    path("encounters/<int:pk>/addenda/", views.encounter_addendum, name="encounter_addendum"),
    path("assessments/new/", views.assessment_new, name="assessment_new"),
    path("assessments/<int:pk>/", views.assessment_detail, name="assessment"),
    path(
        "assessments/<int:pk>/entered-in-error/", views.assessment_entered_in_error, name="assessment_error"
    ),
    path("plans/new/", views.plan_new, name="plan_new"),
    path("plans/<int:pk>/edit/", views.plan_edit, name="plan_edit"),
    path("plans/<int:pk>/agreement/", agreements.plan_agreement, name="plan_agreement"),
    path("lots/", views.lots, name="lots"),
    path("lots/<int:pk>/", views.lot_detail, name="lot"),
    path("lots/<int:pk>/campaign/", lot_views.lot_campaign, name="lot_campaign"),
    path("lots/dose-limits/<str:product>/", views.dose_limit_edit, name="dose_limit"),
    path("interval-findings/", views.interval_findings, name="interval_findings"),
    path("interval-findings/<int:pk>/review/", views.interval_finding_review, name="interval_finding_review"),
    path(
        "settings/toxin-intervals/<str:product>/", settings_section.toxin_interval_edit, name="toxin_interval"
    ),
]
