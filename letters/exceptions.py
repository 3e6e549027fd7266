"""The letters services' refusals, each with a stable code (clinic.errors)."""

from clinic.errors import Conflict, DomainError, Invalid


class LetterNotAllowed(DomainError):
    code = "letter_not_allowed"
    status = 403
    default_detail = "Only clinicians write, sign and send clinic letters."


class LetterSigned(Conflict):
    code = "letter_signed"
    default_detail = "This letter is signed and can no longer be changed: write a correction instead."


class LetterNotSigned(Conflict):
    code = "letter_not_signed"
    default_detail = "Sign the letter before sending it."


class LetterNothingToSummarise(Invalid):
    code = "letter_nothing_to_summarise"
    default_detail = "The record has nothing for this kind of letter yet."


class RecipientEmailMissing(Invalid):
    code = "recipient_email_missing"
    default_detail = "The patient record has no email address for a recipient you chose."


class NoRecipient(Invalid):
    code = "letter_no_recipient"
    default_detail = "Choose at least one recipient: the GP, the referrer or the patient."


class LetterPdfDamaged(Conflict):
    code = "letter_pdf_damaged"
    default_detail = "The stored PDF does not match the hash recorded when the letter was signed."
