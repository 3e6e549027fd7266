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
