"""Domain errors of the patient registry (rendered by clinic.api.errors and the pages)."""

from clinic.errors import Conflict, Invalid, InvalidTransition


class PossibleDuplicate(Conflict):
    """Raised with ``candidates=[{id, mrn, name, date_of_birth, matched_on}]``."""

    code = "possible_duplicate"
    default_detail = (
        "This patient may already be registered. Check the candidates, then confirm that this is "
        "a different person to register anyway."
    )


class PatientInactive(InvalidTransition):
    code = "patient_inactive"
    default_detail = "This patient record is inactive."


class AlreadyInactive(InvalidTransition):
    code = "already_inactive"
    default_detail = "This patient record is already inactive."


class NotInactive(InvalidTransition):
    code = "not_inactive"
    default_detail = "This patient record is active."


class MergeNotAllowed(InvalidTransition):
    code = "merge_not_allowed"
    default_detail = "These two records cannot be merged."


class NoAddress(Invalid):
    code = "no_address"
    default_detail = "There is no address or number on file for this channel."
