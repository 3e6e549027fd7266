"""Domain errors. Each has a stable machine ``code`` and the HTTP status the API gives it.

Services raise these; the API's exception handler turns them into
``{"code", "detail", "fields", ...extra}`` and the pages into form errors.
"""


class DomainError(Exception):
    code = "error"
    status = 400
    default_detail = "The request could not be completed."

    def __init__(self, detail: str | None = None, *, fields: dict | None = None, **extra):
        self.detail = detail or self.default_detail
        self.fields = fields or {}
        self.extra = extra
        super().__init__(self.detail)


class Invalid(DomainError):
    code = "invalid"
    status = 400
    default_detail = "Invalid input."


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_detail = "The request conflicts with the current state of the record."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_detail = "That action is not possible from the record's current state."


# The clinic app's own errors: settings, sign-in and two-factor, staff accounts, API tokens.


class RecallWeeksOutOfOrder(Invalid):
    code = "recall_weeks_order"
    default_detail = "The recall weeks are out of order."


class InvalidCode(Invalid):
    code = "otp_invalid"
    default_detail = "That code is not right. Check the time on your phone and try the newest code."


class UsernameTaken(Conflict):
    code = "username_taken"
    default_detail = "That username is taken."


class NotAllowed(DomainError):
    code = "not_allowed"
    status = 403
    default_detail = "That is not possible for this account."


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status = 400
    default_detail = "Unable to log in with the given username and password."


class OtpRequired(DomainError):
    code = "otp_required"
    status = 400
    default_detail = "This account uses two-factor authentication: send the code as otp."


class OtpThrottled(DomainError):
    code = "otp_throttled"
    status = 429
    default_detail = "Too many wrong codes in a row: wait, then try again."


class MfaNotEnrolled(DomainError):
    code = "mfa_not_enrolled"
    status = 403
    default_detail = "Two-factor authentication is required: set it up with your set-up link first."


class ApiTokenNotFound(DomainError):
    code = "not_found"
    status = 404
    default_detail = "No such token among the ones you may revoke."


class LinkInvalid(DomainError):
    code = "link_invalid"
    status = 404
    default_detail = "This link does not work: it was used already, replaced by a newer one, or it expired."
