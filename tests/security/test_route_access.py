"""Every route of the URL router, tried by every role, anonymously, and (for patient links)
with a link made for another patient. The table below says who may do what; anything else
must be refused, so an unexpected 2xx anywhere fails."""

import importlib
import itertools

import pytest
from django.urls import clear_url_caches
from rest_framework.test import APIClient

from clinic.roles import Role
from tests.factories import UserFactory
from tests.security.routes import all_routes, build_world, concrete_path

ROLES = [r.value for r in Role]
ANON = "anonymous"
PERSONAS = [*ROLES, ANON]

ALL_STAFF = frozenset(ROLES)
CLINICIANS = frozenset({Role.SURGEON, Role.INJECTOR, Role.THERAPIST})
LOT_REGISTER = CLINICIANS | {Role.MANAGER}
RECALL_WORKERS = frozenset({Role.FRONT_DESK, Role.SURGEON, Role.MANAGER})
MANAGERS = frozenset({Role.MANAGER})
TAKE_TOXIN_CONSENT = frozenset({Role.SURGEON, Role.INJECTOR})
EVERYONE = frozenset(PERSONAS)  # public routes: no patient data
NOBODY = frozenset()

# Route name -> (personas who may GET it, the status they get). POST-only routes answer 405
# to a GET. Not listed here = the test fails, so a new route must be classified.
GET_ACCESS: dict[str, tuple[frozenset, int | tuple[int, ...]]] = {
    "home": (ALL_STAFF, 302),
    # Staff already logged in are sent on to their home page.
    "login": (EVERYONE, (200, 302)),
    "logout": (EVERYONE, 405),
    "health": (EVERYONE, 200),
    "health_live": (EVERYONE, 200),
    "health_ready": (EVERYONE, 200),
    "clinic:audit": (MANAGERS, 200),
    "clinic:staff": (MANAGERS, 200),
    "clinic:staff_mfa_reset": (NOBODY, 405),
    "clinic:settings": (MANAGERS, 200),
    # Two-factor pages. Staff without an authenticator have no code to enter (sent on to their
    # home page), and recovery codes are shown only right after they are made (else: Security).
    "account:mfa_verify": (ALL_STAFF, 302),
    "account:mfa_enrol": (ALL_STAFF, 200),
    "account:recovery_codes": (ALL_STAFF, 302),
    "account:security": (ALL_STAFF, 200),
    "patients:list": (ALL_STAFF, 200),
    "patients:search_partial": (ALL_STAFF, 200),
    "patients:register": (ALL_STAFF, 200),
    "patients:validate": (ALL_STAFF, 405),
    "patients:chart": (ALL_STAFF, 200),
    # The route's panel is the clinical timeline: clinicians only.
    "patients:chart_panel": (CLINICIANS, 200),
    "patients:edit": (ALL_STAFF, 200),
    "patients:record_consent": (ALL_STAFF, 405),
    "patients:deactivate": (MANAGERS, 200),
    "patients:reactivate": (MANAGERS, 405),
    "patients:merge": (MANAGERS, 200),
    "scheduling:day": (ALL_STAFF, 200),
    "scheduling:rooms": (ALL_STAFF, 200),
    "scheduling:week": (ALL_STAFF, 200),
    "scheduling:my_day": (ALL_STAFF, 200),
    "scheduling:arrivals": (ALL_STAFF, 200),
    "scheduling:arrival_check_in": (NOBODY, 405),
    "scheduling:print_day": (ALL_STAFF, 200),
    "scheduling:next_available": (ALL_STAFF, 200),
    "scheduling:book": (ALL_STAFF, 200),
    "scheduling:book_patient_search": (ALL_STAFF, 200),
    "scheduling:book_register_patient": (NOBODY, 405),
    "scheduling:appointment": (ALL_STAFF, 200),
    "scheduling:appointment_cancel": (NOBODY, 405),
    "scheduling:appointment_correct": (NOBODY, 405),
    "scheduling:appointment_reschedule": (ALL_STAFF, 200),
    "scheduling:appointment_action": (NOBODY, 405),
    "scheduling:waitlist": (ALL_STAFF, 200),
    "scheduling:waitlist_remove": (NOBODY, 405),
    "scheduling:waitlist_book": (NOBODY, 405),
    "scheduling:provider_ics": (ALL_STAFF, 200),
    "treatments:patient": (CLINICIANS, 200),
    # Photographs and videos: clinicians only, files included (photos app).
    "photos:patient": (CLINICIANS, 200),
    "photos:set_new": (CLINICIANS, 200),
    "photos:compare": (CLINICIANS, 200),
    "photos:grid": (CLINICIANS, 200),
    "photos:consent": (CLINICIANS, 200),
    "photos:consent_withdraw": (NOBODY, 405),
    "photos:set": (CLINICIANS, 200),
    "photos:upload": (NOBODY, 405),
    "photos:set_delete": (NOBODY, 405),
    "photos:item": (CLINICIANS, 200),
    "photos:file": (CLINICIANS, 200),
    "photos:item_retry": (NOBODY, 405),
    "photos:item_delete": (NOBODY, 405),
    "photos:before_after": (CLINICIANS, 200),
    "photos:teaching_export": (CLINICIANS, 200),
    "api:photo-set-list": (CLINICIANS, 200),
    "api:photo-set-detail": (CLINICIANS, 200),
    "api:photo-set-delete": (NOBODY, 405),
    "api:media-item-list": (CLINICIANS, 200),
    "api:media-item-detail": (CLINICIANS, 200),
    "api:media-item-file": (CLINICIANS, 200),
    "api:media-item-retry": (NOBODY, 405),
    "api:media-item-delete": (NOBODY, 405),
    "api:fhir-media": (CLINICIANS, (200, 404)),
    # Landmarks and measurements of the photographs: clinicians only (landmarks app).
    "landmarks:set": (CLINICIANS, 200),
    "landmarks:correct": (NOBODY, 405),
    "api:face-landmarks-list": (CLINICIANS, 200),
    "api:face-landmarks-detail": (CLINICIANS, 200),
    "api:face-landmarks-correct": (NOBODY, 405),
    "api:photo-set-measurements-detail": (CLINICIANS, 200),
    "treatments:drafts": (CLINICIANS, 200),
    # The "new record" forms need ?patient=; without it a permitted clinician gets 404.
    "treatments:toxin_new": (frozenset({Role.SURGEON, Role.INJECTOR}), 404),
    "treatments:therapy_new": (frozenset({Role.THERAPIST}), 404),
    "treatments:surgery_new": (frozenset({Role.SURGEON}), 404),
    "treatments:consultation_new": (CLINICIANS, 404),
    "treatments:follow_up_new": (CLINICIANS, 404),
    "treatments:encounter": (CLINICIANS, 200),
    "treatments:encounter_edit": (CLINICIANS, 200),
    "treatments:encounter_sign": (NOBODY, 405),
    "treatments:encounter_cosign": (NOBODY, 405),
    "treatments:encounter_addendum": (NOBODY, 405),
    "treatments:assessment_new": (CLINICIANS, 404),
    "treatments:assessment": (CLINICIANS, 200),
    "treatments:assessment_error": (NOBODY, 405),
    "treatments:plan_new": (CLINICIANS, 404),
    "treatments:plan_edit": (CLINICIANS, 200),
    "treatments:plan_agreement": (CLINICIANS, 200),
    "api:treatment-plan-agreement": (NOBODY, 405),
    # The MDT list is clinical; its follow-up tasks are every role's (mdt app).
    "mdt:meetings": (CLINICIANS, 200),
    "mdt:meeting": (CLINICIANS, 200),
    "mdt:meeting_hold": (NOBODY, 405),
    "mdt:flag": (CLINICIANS, 200),
    "mdt:item_outcome": (NOBODY, 405),
    "mdt:tasks": (ALL_STAFF, 200),
    "mdt:task_done": (NOBODY, 405),
    "api:mdt-meeting-list": (CLINICIANS, 200),
    "api:mdt-meeting-detail": (CLINICIANS, 200),
    "api:mdt-meeting-hold": (NOBODY, 405),
    "api:mdt-item-list": (CLINICIANS, 200),
    "api:mdt-item-detail": (CLINICIANS, 200),
    "api:mdt-item-outcome": (NOBODY, 405),
    "api:mdt-task-list": (ALL_STAFF, 200),
    # The world's task is the front desk's: clinicians and the front desk read it; to the
    # other roles it does not exist (their list holds only their roles' tasks).
    "api:mdt-task-detail": (ALL_STAFF, (200, 404)),
    "api:mdt-task-done": (NOBODY, 405),
    "treatments:lots": (LOT_REGISTER, 200),
    "treatments:lot": (LOT_REGISTER, 200),
    "treatments:dose_limit": (NOBODY, 405),
    # The reinjection interval's safety net reaches the clinical lead (surgeons).
    "treatments:interval_findings": (frozenset({Role.SURGEON}), 200),
    "treatments:interval_finding_review": (NOBODY, 405),
    "api:interval-finding-list": (frozenset({Role.SURGEON}), 200),
    "api:interval-finding-detail": (frozenset({Role.SURGEON}), 200),
    "api:interval-finding-review": (NOBODY, 405),
    "treatments:toxin_interval": (NOBODY, 405),
    "insight:code_mapping_add": (NOBODY, 405),
    "insight:code_mapping_remove": (NOBODY, 405),
    "api:code-mapping-list": (ALL_STAFF, 200),
    "api:code-mapping-detail": (ALL_STAFF, 200),
    # The home programme (read) and the patients' check-ins: clinical data.
    "api:home-programme-detail": (CLINICIANS, 200),
    "api:programme-checkin-list": (CLINICIANS, 200),
    "links:twilio_inbound": (NOBODY, 405),
    # A link works for whoever holds it (the patient has no login): the signature is the key.
    "links:open": (EVERYONE, 200),
    # One-click unsubscribe (RFC 8058): a GET only leads to the unsubscribe page, which asks.
    "links:one_click": (EVERYONE, 302),
    "reminders:recalls": (RECALL_WORKERS, 200),
    "reminders:contact": (NOBODY, 405),
    "reminders:close": (NOBODY, 405),
    "reminders:messages": (RECALL_WORKERS, 200),
    "api:token": (NOBODY, 405),
    "api:me": (ALL_STAFF, 200),
    "api:api-root": (ALL_STAFF, 200),
    "schema": (ALL_STAFF, 200),
    "api-docs": (ALL_STAFF, 200),
    "api:audit-event-list": (MANAGERS, 200),
    "api:audit-event-detail": (MANAGERS, 200),
    "api:patient-list": (ALL_STAFF, 200),
    "api:patient-detail": (ALL_STAFF, 200),
    "api:patient-consents": (ALL_STAFF, 200),
    "api:patient-export": (CLINICIANS | MANAGERS, 200),
    "api:patient-consents-current": (ALL_STAFF, 200),
    "api:patient-deactivate": (NOBODY, 405),
    "api:patient-merge": (NOBODY, 405),
    "api:patient-reactivate": (NOBODY, 405),
    # Needs date and type parameters: 400 with field errors for staff.
    "api:availability-list": (ALL_STAFF, 400),
    "api:recall-list": (RECALL_WORKERS, 200),
    "api:recall-detail": (RECALL_WORKERS, 200),
    "api:recall-close": (NOBODY, 405),
    "api:recall-contacts": (NOBODY, 405),
    "api:message-list": (RECALL_WORKERS, 200),
    "api:message-detail": (RECALL_WORKERS, 200),
    "api:toxin-lot-list": (LOT_REGISTER, 200),
    "api:toxin-lot-detail": (LOT_REGISTER, 200),
    "api:toxin-lot-patients": (CLINICIANS, 200),
    "api:toxin-dose-limit-list": (LOT_REGISTER, 200),
    "api:toxin-dose-limit-detail": (LOT_REGISTER, 200),
    # The clinic's rules: every member of staff reads them, the practice manager changes them.
    "api:clinic-settings": (ALL_STAFF, 200),
    "api:toxin-interval-list": (ALL_STAFF, 200),
    "api:toxin-interval-detail": (ALL_STAFF, 200),
    "scheduling:feeds": (ALL_STAFF, 200),
    "scheduling:feed_rotate": (NOBODY, 405),
    # A feed token is its own key; a patient link's token is not one, for anybody.
    "calendar_feed": (EVERYONE, 404),
    "treatments:lot_campaign": (NOBODY, 405),
    "insight:dashboard": (MANAGERS, 200),
    "api:provider-calendar-feed-new-url": (NOBODY, 405),
    "api:fhir-patient-everything": (CLINICIANS, 200),
    # A resource id that names no record of that type answers 404, to clinicians only.
    "api:fhir-patient": (CLINICIANS, 200),
    "api:fhir-appointment": (CLINICIANS, (200, 404)),
    "api:fhir-encounter": (CLINICIANS, (200, 404)),
    "api:fhir-observation": (CLINICIANS, (200, 404)),
    "api:fhir-careplan": (CLINICIANS, (200, 404)),
    "api:fhir-procedure": (CLINICIANS, (200, 404)),
    "api:fhir-medicationadministration": (CLINICIANS, (200, 404)),
    "api:fhir-condition": (CLINICIANS, (200, 404)),
    "api:fhir-allergyintolerance": (CLINICIANS, (200, 404)),
    "api:fhir-medicationstatement": (CLINICIANS, (200, 404)),
    "api:fhir-practitioner": (CLINICIANS, (200, 404)),
    "api:fhir-practitionerrole": (CLINICIANS, (200, 404)),
    # FHIR searches need a patient: without one, a clinician gets a 400 OperationOutcome.
    **{
        f"api:fhir-{name}-search": (CLINICIANS, 400)
        for name in (
            "patient",
            "appointment",
            "encounter",
            "observation",
            "careplan",
            "medicationadministration",
            "procedure",
            "condition",
            "allergyintolerance",
            "medicationstatement",
        )
    },
    # Any other path under the FHIR base: an OperationOutcome 404, to clinicians only.
    "api:fhir-unknown": (CLINICIANS, 404),
    # The CapabilityStatement: public (FHIR clients read it first), no patient data.
    "api:fhir-metadata": (EVERYONE, 200),
    # The HTTP benchmark's bare baselines: mounted only with BENCHMARK_ENDPOINTS=1 (never in a
    # deployment), anonymous by design, and they return no patient data (an id at most).
    "bench:baseline_plain": (EVERYONE, 200),
    "bench:baseline_pk": (EVERYONE, 200),
    "bench:baseline_query": (EVERYONE, 200),
    "bench:baseline_drf": (EVERYONE, 200),
    # Staff accounts (clinic.accounts). A set-up link is its own key: a token that is not one
    # (here a patient link's), or no link taken into the session, answers 404 to anybody.
    "account:link_open": (EVERYONE, 404),
    "account:link_set_up": (EVERYONE, 404),
    "account:password_change": (ALL_STAFF, 200),
    "account:sign_out_everywhere": (NOBODY, 405),
    "clinic:staff_invite": (MANAGERS, 200),
    "clinic:staff_roles": (NOBODY, 405),
    "clinic:staff_deactivate": (NOBODY, 405),
    "clinic:staff_password_reset": (NOBODY, 405),
    "clinic:staff_sign_out": (NOBODY, 405),
    "api:me-password": (NOBODY, 405),
    "api:me-sign-out-everywhere": (NOBODY, 405),
    "api:staff-user-list": (MANAGERS, 200),
    "api:staff-user-detail": (MANAGERS, 200),
    "api:staff-user-deactivate": (NOBODY, 405),
    "api:staff-user-mfa-reset": (NOBODY, 405),
    "api:staff-user-password-reset": (NOBODY, 405),
    "api:staff-user-sign-out": (NOBODY, 405),
    # API tokens: every member of staff lists their own (the practice manager anybody's, with
    # ?user=); revoking is POST/DELETE only, and reaches only tokens one may revoke (404 else,
    # tests/security/test_tokens.py).
    "tokens:list": (ALL_STAFF, 200),
    "tokens:revoke": (NOBODY, 405),
    "tokens:revoke_all": (NOBODY, 405),
    "api:api-token-list": (ALL_STAFF, 200),
    "api:api-token-detail": (NOBODY, 405),
    "api:api-token-revoke-all": (NOBODY, 405),
    # The quick start's outbox of messages sent: mounted only with DEBUG on (clinic/outbox.py).
    "dev_outbox": (ALL_STAFF, 200),
    # Practice set-up: working hours, time off, rooms and appointment types (manage_schedule).
    "scheduling:practice_setup": (MANAGERS, 200),
    "scheduling:practice_hours": (MANAGERS, 200),
    "scheduling:practice_hours_delete": (NOBODY, 405),
    "scheduling:practice_time_off": (MANAGERS, 200),
    "scheduling:practice_time_off_delete": (NOBODY, 405),
    "scheduling:practice_room_new": (MANAGERS, 200),
    "scheduling:practice_room": (MANAGERS, 200),
    "scheduling:practice_type_new": (MANAGERS, 200),
    "scheduling:practice_type": (MANAGERS, 200),
    # Procedure consents name a procedure: clinical content, clinicians only. The world's consent
    # is a botulinum toxin consent: the clinicians who take those (surgeons, injectors) open
    # its tablet page and countersign; any clinician records a withdrawal.
    "consents:templates": (CLINICIANS, 200),
    "consents:template": (CLINICIANS, 200),
    "consents:patient": (CLINICIANS, 200),
    "consents:detail": (CLINICIANS, 200),
    "consents:tablet": (TAKE_TOXIN_CONSENT, 200),
    "consents:countersign": (NOBODY, 405),
    "consents:withdraw": (NOBODY, 405),
    "consents:pdf": (CLINICIANS, 200),
    # The consent link is its own key (the signed PDF too, once countersigned).
    "consent_links:sign": (EVERYONE, 200),
    "consent_links:pdf": (EVERYONE, 200),
    # Clinic letters are clinical content: clinicians only, every read audited.
    "letters:patient": (CLINICIANS, 200),
    "letters:detail": (CLINICIANS, 200),
    "letters:sign": (NOBODY, 405),
    "letters:send": (NOBODY, 405),
    "letters:correct": (NOBODY, 405),
    "letters:pdf": (CLINICIANS, 200),
    "api:letter-list": (CLINICIANS, 200),
    "api:letter-detail": (CLINICIANS, 200),
    "api:letter-sign": (NOBODY, 405),
    "api:letter-send": (NOBODY, 405),
    "api:letter-pdf": (CLINICIANS, 200),
    "api:consent-template-list": (CLINICIANS, 200),
    "api:consent-template-detail": (CLINICIANS, 200),
    "api:procedure-consent-list": (CLINICIANS, 200),
    "api:procedure-consent-detail": (CLINICIANS, 200),
    "api:procedure-consent-pdf": (CLINICIANS, 200),
    "api:procedure-consent-sign": (NOBODY, 405),
    "api:procedure-consent-countersign": (NOBODY, 405),
    "api:procedure-consent-withdraw": (NOBODY, 405),
    "api:procedure-consent-link": (NOBODY, 405),
    # Consultation requests: the public form for anyone (no patient data shown), the triage
    # queue and its actions for the staff who book and register.
    "intake_public:request": (EVERYONE, 200),
    "intake_public:thanks": (EVERYONE, 200),
    "intake:queue": (ALL_STAFF, 200),
    "intake:referral": (ALL_STAFF, 200),
    "intake:detail": (ALL_STAFF, 200),
    "intake:accept": (NOBODY, 405),
    "intake:decline": (NOBODY, 405),
    "api:consultation-request-list": (ALL_STAFF, 200),
    "api:consultation-request-detail": (ALL_STAFF, 200),
    "api:consultation-request-accept": (NOBODY, 405),
    "api:consultation-request-decline": (NOBODY, 405),
}
for _name in (
    "appointment",
    "waitlist",
    "location",
    "room",
    "provider",
    "working-hours",
    "time-off",
    "appointment-type",
):
    GET_ACCESS[f"api:{_name}-list"] = (ALL_STAFF, 200)
    GET_ACCESS[f"api:{_name}-detail"] = (ALL_STAFF, 200)
for _name in ("cancel", "check-in", "complete", "confirm", "correct", "no-show", "reschedule"):
    GET_ACCESS[f"api:appointment-{_name}"] = (NOBODY, 405)
GET_ACCESS["api:waitlist-book"] = GET_ACCESS["api:waitlist-cancel"] = (NOBODY, 405)
for _name in ("treatment-plan", "encounter", "assessment"):
    GET_ACCESS[f"api:{_name}-list"] = (CLINICIANS, 200)
    GET_ACCESS[f"api:{_name}-detail"] = (CLINICIANS, 200)
GET_ACCESS["api:assessment-entered-in-error"] = (frozenset(), 405)
for _name in ("consultation", "follow-up", "toxin-session", "therapy-visit", "surgery"):
    GET_ACCESS[f"api:{_name}-list"] = (CLINICIANS, 200)
    GET_ACCESS[f"api:{_name}-detail"] = (CLINICIANS, 200)
    GET_ACCESS[f"api:{_name}-addenda"] = (CLINICIANS, 200)
    GET_ACCESS[f"api:{_name}-sign"] = (NOBODY, 405)
    GET_ACCESS[f"api:{_name}-cosign"] = (NOBODY, 405)

# Who may write through a route, where that is narrower than who may read it. Everyone else
# must be refused an empty POST (401/403/405, or the login redirect): no write goes through.
_SCHEDULE_SETUP = ("location", "room", "provider", "working-hours", "time-off", "appointment-type")
WRITE_ACCESS: dict[str, frozenset] = {
    **{f"api:{name}-list": MANAGERS for name in _SCHEDULE_SETUP},
    **{f"api:{name}-detail": MANAGERS for name in _SCHEDULE_SETUP},
    "api:toxin-lot-list": MANAGERS,
    "api:toxin-lot-detail": MANAGERS,
    "api:toxin-dose-limit-detail": MANAGERS,
    "treatments:lots": MANAGERS,
    "treatments:lot": MANAGERS,
    "treatments:dose_limit": MANAGERS,
    "clinic:settings": MANAGERS,
    "api:clinic-settings": MANAGERS,
    "api:toxin-interval-detail": MANAGERS,
    "treatments:toxin_interval": MANAGERS,
    "insight:code_mapping_add": MANAGERS,
    "insight:code_mapping_remove": MANAGERS,
    "api:code-mapping-list": MANAGERS,
    "api:code-mapping-detail": MANAGERS,
    "api:patient-merge": MANAGERS,
    # A lot recall campaign is sent by the clinicians who inject.
    "treatments:lot_campaign": frozenset({Role.SURGEON, Role.INJECTOR}),
    # Providers rotate their own feed URL, managers (manage_schedule) any. The world's provider
    # belongs to none of the personas, so here only the manager may: everyone else gets 403.
    # A provider rotating their own: tests/insight/test_feeds.py.
    "scheduling:feed_rotate": MANAGERS,
    "api:provider-calendar-feed-new-url": MANAGERS,
    "clinic:staff_mfa_reset": MANAGERS,
    "api:patient-deactivate": MANAGERS,
    "api:patient-reactivate": MANAGERS,
    "patients:merge": MANAGERS,
    "patients:deactivate": MANAGERS,
    "patients:reactivate": MANAGERS,
    # Staff accounts: the practice manager's actions; everyone's own password and sessions.
    "clinic:staff_roles": MANAGERS,
    "clinic:staff_deactivate": MANAGERS,
    "clinic:staff_password_reset": MANAGERS,
    "clinic:staff_sign_out": MANAGERS,
    "api:staff-user-list": MANAGERS,
    "api:staff-user-detail": MANAGERS,
    "api:staff-user-deactivate": MANAGERS,
    "api:staff-user-mfa-reset": MANAGERS,
    "api:staff-user-password-reset": MANAGERS,
    "api:staff-user-sign-out": MANAGERS,
    "account:sign_out_everywhere": ALL_STAFF,
    "api:me-password": ALL_STAFF,
    "api:me-sign-out-everywhere": ALL_STAFF,
    "api:toxin-session-list": frozenset({Role.SURGEON, Role.INJECTOR}),
    "treatments:toxin_new": frozenset({Role.SURGEON, Role.INJECTOR}),
    "api:therapy-visit-list": frozenset({Role.THERAPIST}),
    "treatments:therapy_new": frozenset({Role.THERAPIST}),
    "api:surgery-list": frozenset({Role.SURGEON}),
    "treatments:surgery_new": frozenset({Role.SURGEON}),
    "api:audit-event-list": NOBODY,
    "api:audit-event-detail": NOBODY,
    "api:me": NOBODY,
    # POST-only routes (nobody may GET them): who may post.
    "patients:validate": ALL_STAFF,
    "patients:record_consent": ALL_STAFF,
    "scheduling:arrival_check_in": ALL_STAFF,
    "scheduling:book_register_patient": ALL_STAFF,
    "scheduling:appointment_cancel": ALL_STAFF,
    "scheduling:appointment_correct": ALL_STAFF,
    "scheduling:appointment_action": ALL_STAFF,
    "scheduling:waitlist_remove": ALL_STAFF,
    "scheduling:waitlist_book": ALL_STAFF,
    "treatments:encounter_sign": CLINICIANS,
    "treatments:encounter_cosign": CLINICIANS,
    "treatments:encounter_addendum": CLINICIANS,
    "treatments:assessment_error": CLINICIANS,
    "treatments:interval_finding_review": frozenset({Role.SURGEON}),
    "api:interval-finding-review": frozenset({Role.SURGEON}),
    "reminders:contact": RECALL_WORKERS,
    "reminders:close": RECALL_WORKERS,
    "scheduling:practice_hours_delete": MANAGERS,
    "scheduling:practice_time_off_delete": MANAGERS,
    "api:recall-close": RECALL_WORKERS,
    "api:recall-contacts": RECALL_WORKERS,
    "api:assessment-entered-in-error": CLINICIANS,
    **{
        f"api:appointment-{a}": ALL_STAFF
        for a in ("cancel", "check-in", "complete", "confirm", "correct", "no-show", "reschedule")
    },
    "api:waitlist-book": ALL_STAFF,
    "api:waitlist-cancel": ALL_STAFF,
    **{
        f"api:{n}-{a}": CLINICIANS
        for n in ("consultation", "follow-up", "toxin-session", "therapy-visit", "surgery")
        for a in ("sign", "cosign")
    },
    "photos:upload": CLINICIANS,
    "photos:set_delete": CLINICIANS,
    "photos:item_retry": CLINICIANS,
    "photos:item_delete": CLINICIANS,
    "photos:consent_withdraw": CLINICIANS,
    "api:photo-set-delete": CLINICIANS,
    "api:media-item-retry": CLINICIANS,
    "api:media-item-delete": CLINICIANS,
    "landmarks:correct": CLINICIANS,
    "api:face-landmarks-correct": CLINICIANS,
    # Each member of staff revokes their own tokens; whose a token is, is checked per token.
    "tokens:revoke": ALL_STAFF,
    "tokens:revoke_all": ALL_STAFF,
    "api:api-token-detail": ALL_STAFF,
    "api:api-token-revoke-all": ALL_STAFF,
    "consents:template": TAKE_TOXIN_CONSENT,
    "consents:patient": TAKE_TOXIN_CONSENT,
    "consents:tablet": TAKE_TOXIN_CONSENT,
    "consents:countersign": TAKE_TOXIN_CONSENT,
    "consents:withdraw": CLINICIANS,
    "api:consent-template-list": TAKE_TOXIN_CONSENT,
    "api:procedure-consent-list": TAKE_TOXIN_CONSENT,
    "api:procedure-consent-sign": TAKE_TOXIN_CONSENT,
    "api:procedure-consent-countersign": TAKE_TOXIN_CONSENT,
    "api:procedure-consent-link": TAKE_TOXIN_CONSENT,
    "api:procedure-consent-withdraw": CLINICIANS,
    "intake:accept": ALL_STAFF,
    "intake:decline": ALL_STAFF,
    "api:consultation-request-accept": ALL_STAFF,
    "api:consultation-request-decline": ALL_STAFF,
    "treatments:plan_agreement": CLINICIANS,
    "api:treatment-plan-agreement": CLINICIANS,
    "mdt:meeting_hold": CLINICIANS,
    "mdt:item_outcome": CLINICIANS,
    "api:mdt-meeting-hold": CLINICIANS,
    "api:mdt-item-outcome": CLINICIANS,
    # Whose a task is, is checked per task (the role, or a clinician).
    "mdt:task_done": ALL_STAFF,
    "api:mdt-task-list": CLINICIANS,
    "api:mdt-task-detail": NOBODY,
    "api:mdt-task-done": ALL_STAFF,
    "letters:sign": CLINICIANS,
    "letters:send": CLINICIANS,
    "letters:correct": CLINICIANS,
    "api:letter-sign": CLINICIANS,
    "api:letter-send": CLINICIANS,
}
# Routes whose POST is public by design (their own checks apply): login, the token exchange,
# patient links (signed), the SMS provider's inbound hook (signed by the provider).
PUBLIC_WRITES = {
    "login",
    "api:token",
    "links:open",
    "links:one_click",
    "links:twilio_inbound",
    "logout",
    "consent_links:sign",
    # The public consultation request form: CSRF, a honeypot and a rate limit per address.
    "intake_public:request",
}

REFUSED = {401, 403, 405}


def _client(persona, users) -> APIClient:
    client = APIClient()
    if persona != ANON:
        client.force_login(users[persona])
    return client


def _refused(response) -> bool:
    if response.status_code in REFUSED:
        return True
    return response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def users(db):
    return {role: UserFactory(username=f"persona-{role}", roles=[role]) for role in ROLES}


def test_every_route_is_in_the_table():
    missing = [r.name for r in all_routes() if r.name not in GET_ACCESS]
    assert missing == [], f"classify these routes in GET_ACCESS: {missing}"


def test_get_every_route_as_every_persona(world, users):
    # One test for all personas: building the world is the slow part.
    clients = {persona: _client(persona, users) for persona in PERSONAS}
    wrong = []
    for persona, route in itertools.product(PERSONAS, all_routes()):
        client = clients[persona]
        allowed, status = GET_ACCESS[route.name]
        response = client.get(concrete_path(route, world))
        if persona in allowed:
            ok = response.status_code in (status if isinstance(status, tuple) else (status,))
        else:
            ok = _refused(response)
        if not ok:
            wrong.append(f"{persona}: {route.name} -> {response.status_code}")
    assert wrong == []


def test_unsafe_methods_are_refused_to_who_may_not_write(world, users):
    clients = {persona: _client(persona, users) for persona in PERSONAS}
    wrong = []
    for persona, route in itertools.product(PERSONAS, all_routes()):
        if route.name in PUBLIC_WRITES:
            continue
        readers, _ = GET_ACCESS[route.name]
        writers = WRITE_ACCESS.get(route.name, readers)
        if persona in writers:
            continue
        client = clients[persona]
        path = concrete_path(route, world)
        methods = ["POST"] if not route.methods or "POST" in route.methods else []
        methods += [m for m in ("PUT", "PATCH", "DELETE") if m in route.methods]
        for method in methods:
            response = getattr(client, method.lower())(path, {}, format="json")
            if not _refused(response):
                wrong.append(f"{persona}: {method} {route.name} -> {response.status_code}")
    assert wrong == []


def test_a_patient_link_for_another_patient_reaches_nothing(world, client):
    route = next(r for r in all_routes() if r.name == "links:open")
    path = concrete_path(route, world, link_patient=world["other_patient"])
    assert client.get(path).status_code == 400
    assert client.post(path).status_code == 400
    world["appointment"].refresh_from_db()
    assert world["appointment"].status != "confirmed"


def _reload_urls():
    import clinic.urls

    importlib.reload(clinic.urls)
    clear_url_caches()


def test_benchmark_routes_exist_only_in_benchmark_mode(world, client, settings):
    assert not [r.name for r in all_routes() if r.name.startswith("bench:")]
    assert client.get("/bench/baseline/plain/").status_code == 404
    settings.BENCHMARK_ENDPOINTS = True
    _reload_urls()
    try:
        routes = [r for r in all_routes() if r.name.startswith("bench:")]
        assert {r.name for r in routes} == {
            "bench:baseline_plain",
            "bench:baseline_pk",
            "bench:baseline_query",
            "bench:baseline_drf",
        }
        for route in routes:
            allowed, status = GET_ACCESS[route.name]
            assert allowed == EVERYONE
            path = concrete_path(route, world)
            assert client.get(path).status_code == status
            assert client.post(path).status_code == 405
    finally:
        settings.BENCHMARK_ENDPOINTS = False
        _reload_urls()
    assert client.get("/bench/baseline/plain/").status_code == 404
