"""Which procedure consents a toxin session or a surgery needs, asked of consents.rules (the one
owner of the consent warnings). Treatments sits above consents and imports it directly.

A surgery's procedures map to the consent forms: DAO excision, selective myectomy, selective
neurolysis, brow lift and muscle transfer to their own; upper eyelid surgery with a gold weight
to the gold weight form. Other procedures (a symmetry procedure, other eyelid surgery, "other")
have no form here: the warning asks the clinician to check a signed consent is on file.
"""

from consents.models import Procedure as ConsentProcedure
from consents.rules import ANY_SURGERY, consent_warnings, patient_consents

from .models import Encounter, Procedure

FORM_FOR_KIND = {
    Procedure.Kind.DAO_EXCISION: ConsentProcedure.DAO_EXCISION,
    Procedure.Kind.SELECTIVE_MYECTOMY: ConsentProcedure.SELECTIVE_MYECTOMY,
    Procedure.Kind.SELECTIVE_NEUROLYSIS: ConsentProcedure.SELECTIVE_NEUROLYSIS,
    Procedure.Kind.BROW_LIFT: ConsentProcedure.BROW_LIFT,
    Procedure.Kind.MUSCLE_TRANSFER: ConsentProcedure.MUSCLE_TRANSFER,
}


def surgery_needs(procedures) -> tuple[list[str], list[str]]:
    """(consent forms needed, procedures without a form) for a surgery's procedure rows."""
    forms, unformed = [], []
    for procedure in procedures:
        if procedure.kind in FORM_FOR_KIND:
            forms.append(FORM_FOR_KIND[procedure.kind])
        elif procedure.kind == Procedure.Kind.UPPER_EYELID and procedure.gold_weight_grams:
            forms.append(ConsentProcedure.GOLD_WEIGHT)
        else:
            label = procedure.get_kind_display()
            unformed.append(f"{label}: {procedure.detail}" if procedure.detail else label)
    return forms, unformed


def encounter_consent_warnings(encounter: Encounter, *, consents=None, settings=None) -> list[str]:
    """The consent warnings of a toxin session or surgery (nothing for other kinds)."""
    if encounter.kind == Encounter.Kind.TOXIN:
        forms, unformed = [ConsentProcedure.BOTULINUM_TOXIN], []
    elif encounter.kind == Encounter.Kind.SURGERY and hasattr(encounter, "surgery"):
        forms, unformed = surgery_needs(encounter.surgery.procedures.all())
    else:
        return []
    return consent_warnings(
        patient_id=encounter.patient_id,
        procedures=forms,
        unformed=unformed,
        at=encounter.occurred_at,
        consents=consents,
        settings=settings,
    )


def new_record_warnings(*, patient, kind: str, at) -> list[str]:
    """Before a toxin session or surgery is recorded: the toxin consent, or whether any surgical
    consent is on file (the procedures are not known yet)."""
    if kind == Encounter.Kind.TOXIN:
        return consent_warnings(patient_id=patient.pk, procedures=[ConsentProcedure.BOTULINUM_TOXIN], at=at)
    if kind == Encounter.Kind.SURGERY:
        return consent_warnings(patient_id=patient.pk, procedures=[ANY_SURGERY], at=at)
    return []


def warnings_for_details(details) -> dict[int, list[str]]:
    """{detail pk: warnings} for a page of toxin sessions or surgeries: one query for all."""
    from clinic.models import ClinicSettings

    details = list(details)
    if not details:
        return {}
    consents = patient_consents(patient_ids={d.encounter.patient_id for d in details})
    settings = ClinicSettings.load()
    return {
        d.pk: encounter_consent_warnings(
            d.encounter, consents=consents[d.encounter.patient_id], settings=settings
        )
        for d in details
    }
