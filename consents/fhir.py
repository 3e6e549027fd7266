"""FHIR R4 Consent resources for patients' procedure consents (added to the patient export by
the FHIR module that builds it).

Mapping:
- status: awaiting_patient / awaiting_countersignature -> "proposed"; signed -> "active";
  withdrawn -> "inactive" (the withdrawal's time and reason as an extension-free note in
  ``provision.period.end`` and the text).
- scope: "treatment" (http://terminology.hl7.org/CodeSystem/consentscope).
- category: LOINC 59284-0 "Consent Document".
- dateTime: the patient's signature; performer: the patient; organization: none here.
- provision.code: the procedure, in the clinic's own code system (no standard code for these
  forms); provision.period.start: the patient's signature.
- sourceAttachment: the signed PDF, as its SHA-1-free reference: contentType application/pdf,
  its SHA-256 in the title (FHIR's ``hash`` element is SHA-1, which this clinic does not use),
  and the URL of the authenticated API endpoint that serves it.
- policyRule: the form's procedure and version, as a clinic code.
"""

from django.urls import reverse

from .models import PatientConsent

CODE_SYSTEM = "urn:clinic:fhir:codesystem:consent-form"
STATUS = {
    PatientConsent.Status.AWAITING_PATIENT: "proposed",
    PatientConsent.Status.AWAITING_COUNTERSIGNATURE: "proposed",
    PatientConsent.Status.SIGNED: "active",
    PatientConsent.Status.WITHDRAWN: "inactive",
}


def consent_resource(consent: PatientConsent) -> dict:
    template = consent.template
    resource = {
        "resourceType": "Consent",
        "id": f"procedure-{consent.pk}",
        "status": STATUS[consent.status],
        "scope": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "treatment"}]
        },
        "category": [
            {"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Consent Document"}]}
        ],
        "patient": {"reference": f"Patient/{consent.patient_id}"},
        "policyRule": {
            "coding": [{"system": CODE_SYSTEM, "code": f"{template.procedure}:v{template.version}"}],
            "text": f"{template.title} (version {template.version})",
        },
        "provision": {
            "type": "permit",
            "code": [
                {
                    "coding": [
                        {
                            "system": CODE_SYSTEM,
                            "code": consent.procedure,
                            "display": consent.get_procedure_display(),
                        }
                    ]
                }
            ],
        },
    }
    if consent.patient_signed_at:
        resource["dateTime"] = consent.patient_signed_at.isoformat()
        resource["performer"] = [
            {"reference": f"Patient/{consent.patient_id}", "display": consent.patient_signed_name}
        ]
        resource["provision"]["period"] = {"start": consent.patient_signed_at.isoformat()}
    if consent.withdrawn_at:
        resource["provision"].setdefault("period", {})["end"] = consent.withdrawn_at.isoformat()
    if consent.pdf_name:
        resource["sourceAttachment"] = {
            "contentType": "application/pdf",
            "url": reverse("api:procedure-consent-pdf", args=[consent.pk]),
            "title": f"Signed consent {consent.pk} (SHA-256 {consent.pdf_sha256})",
            "creation": consent.countersigned_at.isoformat(),
        }
    return resource


def consent_resources(*, patient_id: int) -> list[dict]:
    """Every procedure consent of one patient: one query."""
    consents = (
        PatientConsent.objects.filter(patient_id=patient_id)
        .select_related("template")
        .defer("patient_signature_png", "countersignature_png")
        .order_by("created_at", "id")
    )
    return [consent_resource(c) for c in consents]
