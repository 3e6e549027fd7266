"""The consent services' refusals, each with a stable code (clinic.errors)."""

from clinic.errors import Conflict, DomainError, Invalid


class ConsentStateConflict(Conflict):
    code = "consent_state"
    default_detail = "That is not possible in the consent's current state."


class ConsentSigned(Conflict):
    code = "consent_signed"
    default_detail = (
        "This consent is signed and can no longer be changed; only its withdrawal can be recorded."
    )


class ConsentNotAllowed(DomainError):
    code = "consent_not_allowed"
    status = 403
    default_detail = "You may not do this for this procedure's consent."


class SignatureInvalid(Invalid):
    code = "signature_invalid"
    default_detail = "The signature could not be read."


class ConsentPdfDamaged(Conflict):
    code = "consent_pdf_damaged"
    default_detail = "The stored PDF does not match the hash recorded when it was signed."
