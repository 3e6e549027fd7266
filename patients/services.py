"""Patient registry services (writes). Every change is validated here and audited."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber, to_python

from clinic.audit import acting_user, attribute, audit_record, changed_fields

from .exceptions import (
    AlreadyInactive,
    MergeNotAllowed,
    NoAddress,
    NotInactive,
    PatientInactive,
    PossibleDuplicate,
)
from .merging import merge_hooks, merge_permission
from .models import MessagingConsent, Patient
from .selectors import consent_address, merge_relations, patient_duplicates
from .validators import validate_no_control_characters

# Fields a caller may set; the rest (MRN, status, merge links, timestamps) belong to services.
EDITABLE_FIELDS = (
    "first_name",
    "last_name",
    "preferred_name",
    "date_of_birth",
    "sex",
    "email",
    "mobile",
    "address_line1",
    "address_line2",
    "city",
    "postcode",
    "country",
    "emergency_contact_name",
    "emergency_contact_phone",
    "language",
    "referring_clinician",
    "referrer_email",
    "gp_name",
    "gp_practice",
    "gp_email",
    *Patient.CLINICAL_FIELDS,
)
DEACTIVATION_REASONS = (
    Patient.InactiveReason.DECEASED,
    Patient.InactiveReason.MOVED_AWAY,
    Patient.InactiveReason.OTHER,
)


def mrn_for(number: int) -> str:
    """A human-friendly MRN: 'FN' + 7 digits + a Luhn check digit (catches most typos)."""
    digits = f"{number:07d}"
    return f"FN{digits}{_luhn_check_digit(digits)}"


def mrn_is_valid(mrn: str) -> bool:
    """True if ``mrn`` has the MRN shape and its check digit matches."""
    mrn = mrn.strip().upper()
    if len(mrn) < 10 or not mrn.startswith("FN") or not mrn[2:].isdigit():
        return False
    return _luhn_check_digit(mrn[2:-1]) == int(mrn[-1])


def _luhn_check_digit(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


# --- Input -----------------------------------------------------------------------------------


def _clean_input(data: dict) -> dict:
    """Known fields only, strings trimmed, values converted; Invalid with a message per field."""
    errors: dict[str, list[str]] = {}
    cleaned = {}
    for name, value in data.items():
        if name not in EDITABLE_FIELDS:
            errors[name] = ["This field cannot be set here."]
            continue
        model_field = Patient._meta.get_field(name)
        if isinstance(value, str):
            value = value.strip()
            try:
                validate_no_control_characters(value)
            except ValidationError as exc:
                errors[name] = list(exc.messages)
                continue
        if value is None and not model_field.null:
            value = "" if isinstance(model_field, models.CharField | models.TextField) else value
        try:
            value = model_field.to_python(value)
        except ValidationError as exc:
            errors[name] = list(exc.messages)
            continue
        if name == "email" and value:
            value = value.lower()
        if name in ("postcode", "country") and value:
            value = value.upper()
        cleaned[name] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def _validate(patient: Patient, fields) -> None:
    """Run the model's field validators on ``fields`` plus the rules across fields."""
    fields = set(fields)
    errors: dict[str, list[str]] = {}
    try:
        patient.full_clean(
            exclude=[f.name for f in Patient._meta.fields if f.name not in fields],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    onset, born = patient.palsy_onset_date, patient.date_of_birth
    if fields & {"palsy_onset_date", "date_of_birth"} and onset and born and onset < born:
        errors.setdefault("palsy_onset_date", []).append("The onset cannot be before the date of birth.")
    if errors:
        raise ValidationError(errors)


def _audit_changes(diff: dict) -> dict:
    # The audit trail is read by managers, who do not see clinical data: name the clinical
    # fields that changed, never their values (the record's history keeps those).
    return {
        name: (["(clinical)", "(clinical)"] if name in Patient.CLINICAL_FIELDS else values)
        for name, values in diff.items()
    }


# --- Registration and changes ----------------------------------------------------------------


@transaction.atomic
def patient_register(*, data: dict, actor, confirm_not_duplicate: bool = False) -> Patient:
    """Register a patient from ``data`` (model field names) and give them an MRN.

    Raises PossibleDuplicate (with the candidates) when an active patient has the same surname
    and date of birth, the same mobile or the same email, unless the caller confirms that they
    checked (``confirm_not_duplicate=True``). Raises django ValidationError for bad input.
    """
    data = _clean_input(data)
    patient = Patient(**data, created_by=acting_user(actor))
    _validate(patient, EDITABLE_FIELDS)
    candidates = patient_duplicates(
        last_name=patient.last_name,
        date_of_birth=patient.date_of_birth,
        mobile=str(patient.mobile) if patient.mobile else "",
        email=patient.email,
    )
    if candidates and not confirm_not_duplicate:
        raise PossibleDuplicate(candidates=[c.as_dict() for c in candidates])
    # The MRN comes from the row's id, so it is set right after the insert, in the same
    # transaction; a random placeholder keeps the unique column filled until then.
    patient.mrn = f"tmp{uuid.uuid4().hex[:13]}"
    patient.save()
    patient.mrn = mrn_for(patient.pk)
    patient.skip_history_when_saving = True
    patient.save(update_fields=["mrn"])
    del patient.skip_history_when_saving
    patient.history.update(mrn=patient.mrn)  # the creation row, written moments ago
    changes = {"duplicates_confirmed": [c.patient.mrn for c in candidates]} if candidates else {}
    audit_record(
        actor=actor, action="patient.registered", target=patient, patient_id=patient.pk, changes=changes
    )
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, data: dict, actor) -> Patient:
    """Change a patient's details. A merged record is read-only. Audited with the changes."""
    data = _clean_input(data)
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if locked.inactive_reason == Patient.InactiveReason.MERGED:
        raise PatientInactive("This record was merged into another one: edit that record instead.")
    diff = changed_fields(locked, data)
    if not diff:
        return locked
    for name in diff:
        setattr(locked, name, data[name])
    _validate(locked, diff)
    attribute(locked, actor)
    locked.save(update_fields=[*diff, "updated_at"])
    audit_record(
        actor=actor,
        action="patient.updated",
        target=locked,
        patient_id=locked.pk,
        changes=_audit_changes(diff),
    )
    return locked


def patient_log_view(*, patient: Patient, actor, via: str) -> None:
    """Record that ``actor`` looked at this patient's record (chart page, API, ...)."""
    audit_record(
        actor=actor, action="patient.viewed", target=patient, patient_id=patient.pk, changes={"via": via}
    )


def _set_status(patient: Patient, *, reason: str, note: str, actor) -> None:
    """Active when ``reason`` is empty, else inactive for that reason since now."""
    patient.status = Patient.Status.INACTIVE if reason else Patient.Status.ACTIVE
    patient.inactive_reason = reason
    patient.inactive_since = timezone.now() if reason else None
    patient.inactive_note = note
    attribute(patient, actor)
    patient.save(update_fields=["status", "inactive_reason", "inactive_since", "inactive_note", "updated_at"])


@transaction.atomic
def patient_deactivate(*, patient: Patient, reason: str, actor, note: str = "") -> Patient:
    """Mark a patient inactive (deceased, moved away, other). Records are never deleted."""
    note = (note or "").strip()
    errors = {}
    if reason not in DEACTIVATION_REASONS:
        errors["reason"] = [f"Choose one of: {', '.join(DEACTIVATION_REASONS)}."]
    if reason == Patient.InactiveReason.OTHER and not note:
        errors["note"] = ["Say why the record is deactivated."]
    if len(note) > 200:
        errors["note"] = ["At most 200 characters."]
    try:
        validate_no_control_characters(note)
    except ValidationError as exc:
        errors["note"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if not locked.is_active:
        raise AlreadyInactive()
    _set_status(locked, reason=reason, note=note, actor=actor)
    audit_record(
        actor=actor,
        action="patient.deactivated",
        target=locked,
        patient_id=locked.pk,
        changes={"reason": reason},
    )
    return locked


@transaction.atomic
def patient_reactivate(*, patient: Patient, actor) -> Patient:
    """Undo a deactivation (e.g. the patient moved back). Merged records stay merged."""
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if locked.is_active:
        raise NotInactive()
    if locked.inactive_reason == Patient.InactiveReason.MERGED:
        raise MergeNotAllowed("A merged record cannot be reactivated.")
    previous = locked.inactive_reason
    _set_status(locked, reason="", note="", actor=actor)
    audit_record(
        actor=actor,
        action="patient.reactivated",
        target=locked,
        patient_id=locked.pk,
        changes={"previous_reason": previous},
    )
    return locked


# --- Merge ------------------------------------------------------------------------------------

# Filled on the survivor only where it has nothing; groups are filled as a whole so that an
# address is never half one record's and half the other's.
_FILL_GROUPS = (
    ("preferred_name",),
    ("email",),
    ("mobile",),
    ("address_line1", "address_line2", "city", "postcode", "country"),
    ("emergency_contact_name", "emergency_contact_phone"),
    ("referring_clinician", "referrer_email"),
    ("gp_name", "gp_practice", "gp_email"),
    ("affected_side",),
    ("palsy_cause", "palsy_cause_detail"),
    ("palsy_onset_date",),
    ("previous_treatments",),
)
# Safety: what either record knew stays known.
_OR_FLAGS = ("prior_toxin", "prior_therapy", "prior_surgery", "on_anticoagulants")
_APPEND_TEXT = ("allergies", "medications")


@dataclass
class MergeResult:
    survivor: Patient
    duplicate: Patient
    moved: dict[str, int] = field(default_factory=dict)
    moved_ids: dict[str, list[int]] = field(default_factory=dict)
    # Rows that could not move without breaking a rule (e.g. two overlapping appointments of
    # the same person): left on the duplicate, listed here and in the audit trail.
    not_moved: dict[str, list[int]] = field(default_factory=dict)
    consents_copied: int = 0
    filled: list[str] = field(default_factory=list)
    # What the higher apps' merge hooks changed to let their rows move (patients/merging.py),
    # e.g. {"treatments.treatmentplan": {"put_on_hold": [ids]}}.
    adjusted: dict[str, dict] = field(default_factory=dict)


def _repoint(obj: models.Model, fk: models.Field, survivor: Patient, actor, reason: str) -> None:
    setattr(obj, fk.attname, survivor.pk)
    obj._change_reason = reason  # simple_history: why this row changed
    attribute(obj, actor)
    obj.save(update_fields=[fk.name])


def _move_rows(model, fk, survivor: Patient, duplicate: Patient, actor, reason: str) -> tuple[list, list]:
    """Move ``model``'s rows from the duplicate to the survivor: (moved pks, pks left behind)."""
    rows = model._base_manager.filter(**{fk.name: duplicate.pk}).order_by("pk")
    try:
        with transaction.atomic():
            moved = []
            for obj in rows:
                _repoint(obj, fk, survivor, actor, reason)
                moved.append(obj.pk)
        return moved, []
    except IntegrityError:
        pass
    # Some row clashes with one of the survivor's (a unique rule, an overlap): move the rest
    # one by one and report the ones that cannot move.
    moved, left = [], []
    for obj in rows.all():
        try:
            with transaction.atomic():
                _repoint(obj, fk, survivor, actor, reason)
            moved.append(obj.pk)
        except IntegrityError:
            left.append(obj.pk)
    return moved, left


def _fill_from(survivor: Patient, duplicate: Patient) -> list[str]:
    filled = []
    for group in _FILL_GROUPS:
        # The country defaults to GB, so it does not make an address "filled in" by itself.
        telling = [name for name in group if name != "country"]
        if all(not getattr(survivor, n) for n in telling) and any(getattr(duplicate, n) for n in telling):
            for name in group:
                setattr(survivor, name, getattr(duplicate, name))
                filled.append(name)
    if survivor.sex == Patient.Sex.UNKNOWN and duplicate.sex != Patient.Sex.UNKNOWN:
        survivor.sex = duplicate.sex
        filled.append("sex")
    for name in _OR_FLAGS:
        if getattr(duplicate, name) and not getattr(survivor, name):
            setattr(survivor, name, True)
            filled.append(name)
    for name in _APPEND_TEXT:
        theirs, ours = getattr(duplicate, name).strip(), getattr(survivor, name).strip()
        if theirs and theirs.lower() not in ours.lower():
            setattr(survivor, name, f"{ours}\n[from {duplicate.mrn}] {theirs}".strip())
            filled.append(name)
    return filled


@transaction.atomic
def patient_merge(*, survivor: Patient, duplicate: Patient, actor) -> MergeResult:
    """Merge ``duplicate`` into ``survivor``: everything attached moves, the duplicate is kept
    as an inactive record pointing at the survivor, and both records are audited.

    Clinical records move too, signed ones included: only their patient changes (the database
    permits exactly that, for this pair, while the rows move; see patients/merging.py). Apps
    above the registry prepare their rows through merge hooks first.

    Empty details of the survivor are filled from the duplicate; allergies, medications and the
    safety flags are combined, never dropped. Consent decisions are copied (method "merge",
    original dates), and the duplicate keeps its own as the record of what was said there.
    """
    if survivor.pk == duplicate.pk:
        raise MergeNotAllowed("A record cannot be merged into itself.")
    # Lock both in id order, so two merges of the same pair cannot deadlock.
    locked = {p.pk: p for p in Patient.objects.select_for_update().filter(pk__in=[survivor.pk, duplicate.pk])}
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]
    for record in (survivor, duplicate):
        if record.inactive_reason == Patient.InactiveReason.MERGED:
            raise MergeNotAllowed(f"{record.mrn} has already been merged into another record.")
    result = MergeResult(survivor=survivor, duplicate=duplicate)
    reason = f"merged from {duplicate.mrn}"

    # The higher apps make their rows movable by their own rules first (e.g. one active plan
    # per patient), then every row moves here, the one path that moves a patient's records.
    for hook in merge_hooks():
        for label, changes in hook.prepare(
            survivor=survivor, duplicate=duplicate, actor=actor, reason=reason
        ).items():
            result.adjusted.setdefault(label, {}).update(changes)
    with merge_permission(survivor_id=survivor.pk, duplicate_id=duplicate.pk):
        for model, fk in merge_relations():
            moved, left = _move_rows(model, fk, survivor, duplicate, actor, reason)
            label = model._meta.label_lower
            if moved:
                result.moved[label] = result.moved.get(label, 0) + len(moved)
                result.moved_ids.setdefault(label, []).extend(moved)
            if left:
                result.not_moved.setdefault(label, []).extend(left)
    for hook in merge_hooks():
        if hook.finish is not None:
            hook.finish(survivor=survivor, duplicate=duplicate, actor=actor)

    copies = [
        MessagingConsent(
            patient=survivor,
            channel=row.channel,
            purpose=row.purpose,
            granted=row.granted,
            address=row.address,
            method=MessagingConsent.Method.MERGE,
            recorded_at=row.recorded_at,
            recorded_by=row.recorded_by,
            note=f"From {duplicate.mrn} ({row.get_method_display()}) {row.note}".strip()[:200],
        )
        for row in MessagingConsent.objects.filter(patient=duplicate).order_by("recorded_at", "id")
    ]
    MessagingConsent.objects.bulk_create(copies)
    result.consents_copied = len(copies)

    result.filled = _fill_from(survivor, duplicate)
    if result.filled:
        survivor._change_reason = reason
        attribute(survivor, actor)
        survivor.save(update_fields=[*result.filled, "updated_at"])

    duplicate.status = Patient.Status.INACTIVE
    duplicate.inactive_reason = Patient.InactiveReason.MERGED
    duplicate.inactive_since = timezone.now()
    duplicate.merged_into = survivor
    duplicate.inactive_note = f"Merged into {survivor.mrn}"
    duplicate._change_reason = f"merged into {survivor.mrn}"
    attribute(duplicate, actor)
    duplicate.save(
        update_fields=[
            "status",
            "inactive_reason",
            "inactive_since",
            "merged_into",
            "inactive_note",
            "updated_at",
        ]
    )

    audit_record(
        actor=actor,
        action="patient.merged",
        target=survivor,
        patient_id=survivor.pk,
        changes={
            "duplicate": duplicate.mrn,
            "duplicate_id": duplicate.pk,
            "moved": result.moved,
            "moved_ids": result.moved_ids,
            "not_moved": result.not_moved,
            "adjusted": result.adjusted,
            "consents_copied": result.consents_copied,
            "filled": result.filled,
        },
    )
    audit_record(
        actor=actor,
        action="patient.merged_into",
        target=duplicate,
        patient_id=duplicate.pk,
        changes={"survivor": survivor.mrn, "survivor_id": survivor.pk},
    )
    return result


# --- Messaging consent ------------------------------------------------------------------------


def _normalise_address(channel: str, address: str) -> str:
    address = (address or "").strip()
    if not address:
        return ""
    if channel == MessagingConsent.Channel.SMS:
        number = to_python(address)
        if not isinstance(number, PhoneNumber) or not number.is_valid():
            raise ValidationError({"address": ["Enter a valid mobile number."]})
        return number.as_e164
    if "@" not in address or len(address) > 254:
        raise ValidationError({"address": ["Enter a valid email address."]})
    return address.lower()


@transaction.atomic
def consent_record(
    *,
    patient: Patient,
    channel: str,
    purpose: str,
    granted: bool,
    method: str,
    actor,
    address: str | None = None,
    note: str = "",
    recorded_at: datetime | None = None,
) -> MessagingConsent:
    """Record that the patient gave or withdrew consent for ``purpose`` messages on ``channel``.

    The address defaults to the patient's current email or mobile; a grant needs one. Rows are
    never edited: the newest decision counts (see selectors.consent_current).
    """
    errors = {}
    if channel not in MessagingConsent.Channel.values:
        errors["channel"] = [f"Choose one of: {', '.join(MessagingConsent.Channel.values)}."]
    if purpose not in MessagingConsent.Purpose.values:
        errors["purpose"] = [f"Choose one of: {', '.join(MessagingConsent.Purpose.values)}."]
    if method not in MessagingConsent.Method.values or method == MessagingConsent.Method.MERGE:
        errors["method"] = ["Choose how the patient told us."]
    note = (note or "").strip()
    if len(note) > 200:
        errors["note"] = ["At most 200 characters."]
    else:
        try:
            validate_no_control_characters(note)
        except ValidationError as exc:
            errors["note"] = list(exc.messages)
    if recorded_at is not None and recorded_at > timezone.now():
        errors["recorded_at"] = ["This cannot be in the future."]
    if errors:
        raise ValidationError(errors)
    if address is None:
        address = consent_address(patient=patient, channel=channel)
    else:
        address = _normalise_address(channel, address)
    if granted and not address:
        raise NoAddress(fields={"address": [NoAddress.default_detail]})
    if granted and not patient.is_active:
        raise PatientInactive("Consent cannot be given on an inactive record.")
    row = MessagingConsent.objects.create(
        patient=patient,
        channel=channel,
        purpose=purpose,
        granted=granted,
        address=address,
        method=method,
        recorded_at=recorded_at or timezone.now(),
        recorded_by=acting_user(actor),
        note=note,
    )
    audit_record(
        actor=actor,
        action="consent.granted" if granted else "consent.withdrawn",
        target=row,
        patient_id=patient.pk,
        changes={"channel": channel, "purpose": purpose, "method": method},
    )
    return row


@transaction.atomic
def consent_opt_out(
    *, channel: str, address: str, method: str, actor=None, note: str = ""
) -> list[MessagingConsent]:
    """Withdraw every purpose on ``channel`` for each active patient reached at ``address``:
    an SMS STOP or an unsubscribe link takes effect at once, for everyone sharing the number."""
    address = _normalise_address(channel, address)
    if not address:
        raise ValidationError({"address": ["Enter the address or number that opted out."]})
    if channel == MessagingConsent.Channel.SMS:
        patients = Patient.objects.filter(status=Patient.Status.ACTIVE, mobile=address)
    else:
        # Lower(email) is what the patients_patient_email index holds.
        patients = Patient.objects.alias(email_lower=Lower("email")).filter(
            status=Patient.Status.ACTIVE, email_lower=address
        )
    return [
        consent_record(
            patient=patient,
            channel=channel,
            purpose=purpose,
            granted=False,
            method=method,
            actor=actor,
            address=address,
            note=note,
        )
        for patient in patients.order_by("pk")
        for purpose in MessagingConsent.Purpose.values
    ]
