"""Domain errors of clinical records, each with a stable code (see clinic.errors)."""

from clinic.errors import Conflict, DomainError, Invalid

# One exception for the reinjection interval on every path, raised by its owner
# (treatments.interval); it lives with scheduling, the lower app that must catch it too.
from scheduling.exceptions import ReinjectionTooSoon  # noqa: F401


class RecordSigned(Conflict):
    code = "record_signed"
    default_detail = "This record is signed and can no longer be changed; add an addendum instead."


class RecordNotSigned(Conflict):
    code = "record_not_signed"
    default_detail = "Addenda are for signed records; edit the draft instead."


class NotTheClinician(DomainError):
    code = "not_encounter_clinician"
    status = 403
    default_detail = "Only the clinician who saw the patient can sign this record."


class LotExpired(Invalid):
    code = "lot_expired"
    default_detail = "This lot had expired on the session date."


class LotProductMismatch(Invalid):
    code = "lot_product_mismatch"
    default_detail = "The lot is not a lot of the session's product."


class LotWithdrawn(Invalid):
    code = "lot_withdrawn"
    default_detail = "This lot has been withdrawn from use; choose another lot."


class StageInUse(Conflict):
    code = "stage_in_use"
    default_detail = "A plan stage with encounters linked to it cannot be removed; mark it skipped instead."


class LotInUse(Conflict):
    code = "lot_in_use"
    default_detail = "This lot has been used in sessions; its product cannot change."


class ReasonRequired(Invalid):
    code = "reason_required"
    default_detail = "Give a reason for this change."


class CosignNotAllowed(DomainError):
    code = "cosign_not_allowed"
    status = 403
    default_detail = "Only another clinician who may record this kind of encounter can co-sign it."


class CosignByAuthor(Conflict):
    code = "cosign_by_author"
    default_detail = "The author of a record cannot co-sign it; another clinician co-signs."


class AlreadyCosigned(Conflict):
    code = "already_cosigned"
    default_detail = "You have already co-signed this record."


class ActivePlanExists(Conflict):
    code = "active_plan_exists"
    default_detail = "The patient already has an active plan: put it on hold or complete it first."


class GradingsInvalid(Invalid):
    code = "gradings_invalid"
    default_detail = "Some gradings are incomplete or out of range; nothing was saved."


class PlanAlreadyAgreed(Conflict):
    code = "plan_already_agreed"
    default_detail = "The patient has already agreed to this version of the plan."


class PlanChanged(Conflict):
    code = "plan_changed"
    default_detail = "The plan has changed since it was shown: read the new version and agree to that."


class PlanClosed(Conflict):
    code = "plan_closed"
    default_detail = "This plan is completed: there is nothing left to agree to."


class DiagramPointIncomplete(Invalid):
    code = "diagram_point_incomplete"
    default_detail = "A point on the face diagram needs both its x and its y."


class DiagramSideMismatch(Invalid):
    code = "diagram_side_mismatch"
    default_detail = (
        "A point on the face diagram must be on the half of the face of its row's side "
        "(the patient's right is the viewer's left)."
    )
