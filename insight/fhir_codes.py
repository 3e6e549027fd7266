"""Terminology of the FHIR export: the standard code systems used, the codes taken from them,
and the clinic's own (local) code systems where no standard code exists.

Every table here is listed, with its source and meaning, in docs/fhir.md. A standard code is only
used where it was checked against a published source; where none was found, the concept keeps
its local code (and its text), never a guessed standard one. Adding a checked code is a one-line
change to a table below (and to the docs).
"""

# --- Standard code systems (canonical URIs as FHIR R4B names them) -----------------------------

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
DMD = "https://dmd.nhs.uk"  # NHS dictionary of medicines and devices (UK Core's system URI)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
CONTACT_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/v2-0131"
ROUTE_OF_ADMINISTRATION = SNOMED

# --- Local code systems -------------------------------------------------------------------------
# One base; every local system is ``{LOCAL_BASE}:{name}`` and is listed in docs/fhir.md.

LOCAL_BASE = "urn:clinic:fhir:codesystem"
LOCAL_EXTENSION_BASE = "urn:clinic:fhir:extension"


def local_system(name: str) -> str:
    return f"{LOCAL_BASE}:{name}"


# The local systems in use (name -> what its codes are). docs/fhir.md has the same list; a test
# checks that every local system the export emits is one of these.
LOCAL_SYSTEMS = {
    "appointment-type": "The clinic's appointment types (configured per clinic)",
    "encounter-kind": "Kind of clinical contact: consultation, toxin, therapy, surgery, follow_up",
    "procedure": "Facial palsy surgery catalogue (Procedure.Kind)",
    "muscle": "Facial muscles injected or operated on (Muscle)",
    "facial-region": "The face or the facial nerve, where a finding or grading applies",
    "toxin-product": "Botulinum toxin products (Product); units are specific to each",
    "palsy-cause": "Cause of the facial palsy as recorded at the consultation (Patient.Cause)",
    "instrument": "Grading instruments (Sunnybrook, House-Brackmann, SAQ, ...)",
    "instrument-item": "Raw items of each instrument, as ``{instrument}.{item}``",
    "instrument-score": "Computed scores of each instrument, as ``{instrument}.{score}``",
    "modality": "Treatment modality of a plan stage: therapy, toxin, surgery",
    "staff-role": "The clinic's staff roles (PractitionerRole.code)",
    "record-status": "The clinic record's own state where FHIR has no element for it (draft)",
}

# Extensions the export defines (no core R4B extension carries these).
EXT_LATERALITY = f"{LOCAL_EXTENSION_BASE}:laterality"
# Where an injection was marked on the clinic's front-view face diagram: a complex extension of
# ``x`` and ``y`` (valueDecimal, 0..1; docs/fhir.md).
EXT_FACE_DIAGRAM_POINT = f"{LOCAL_EXTENSION_BASE}:face-diagram-point"

# --- SNOMED CT ----------------------------------------------------------------------------------

# Laterality qualifiers (children of 182353008 |Side|), used as the value of EXT_LATERALITY and
# as BodyStructure.locationQualifier in SNOMED's own pattern.
LATERALITY = {
    "left": ("7771000", "Left"),
    "right": ("24028007", "Right"),
    "bilateral": ("51440002", "Right and left"),
}

# Disorders: facial palsy itself, and the palsy's cause where SNOMED CT has a more specific
# disorder concept for it that was checked. Other causes: facial palsy, and the local cause code.
FACIAL_PALSY = ("280816001", "Facial palsy")
PALSY_CAUSE_SNOMED = {
    "bells_palsy": ("193093009", "Bell's palsy"),
}

# Procedures with a checked SNOMED CT concept.
PROCEDURE_SNOMED: dict[str, tuple[str, str]] = {
    # A toxin session: the injection of botulinum toxin (each row of the map is an administration).
    "toxin_injection": ("442695005", "Injection of botulinum toxin"),
}

# Substances an allergy may name, matched by word in the record's free-text allergy list:
# word -> (SNOMED CT substance, display, AllergyIntolerance.category).
ALLERGY_SUBSTANCE_SNOMED = {
    "latex": ("111088007", "Latex", "environment"),
}
# "No known allergies" written in the list is a statement, coded as such.
NO_KNOWN_ALLERGY = ("716186003", "No known allergy")

# Route of administration for every toxin injection: intramuscular.
ROUTE_INTRAMUSCULAR = ("78421000", "Intramuscular route")

# --- Medicines: dm+d (UK) or RxNorm (elsewhere), chosen by ClinicSettings.medicines_terminology -

MEDICINE_SYSTEMS = {"dmd": DMD, "rxnorm": RXNORM}

# Product -> (code, display) per terminology. Empty until a code has been checked against the
# current release of that terminology (docs/fhir.md lists what to look up); a product without a
# code is sent with its local code and name only, never with a guessed code.
MEDICINE_CODES: dict[str, dict[str, tuple[str, str]]] = {
    "dmd": {},
    "rxnorm": {},
}

# --- UCUM ---------------------------------------------------------------------------------------

# Botulinum toxin units are biological units defined by each manufacturer's own assay: not the
# UCUM enzyme unit [U] (umol/min), not the international unit [IU] (no WHO standard exists for
# these products). UCUM's arbitrary unit [arb'U] is the unit "defined by a procedure" and, by
# UCUM's rules, not convertible to any other unit; the product travels in Medication.code.
TOXIN_UNIT = "[arb'U]"
SCORE_UNIT = "{score}"
GRAM = "g"

# --- LOINC --------------------------------------------------------------------------------------

# No LOINC code was found for the Sunnybrook Facial Grading System, the House-Brackmann grade or
# the Synkinesis Assessment Questionnaire; their Observations use the local instrument codes.
INSTRUMENT_LOINC: dict[str, tuple[str, str]] = {}
