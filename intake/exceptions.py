"""The intake services' refusals, each with a stable code (clinic.errors)."""

from clinic.errors import Conflict, DomainError, Invalid


class RequestNotOpen(Conflict):
    code = "request_not_open"
    default_detail = "This request has already been accepted or declined."


class RequestInvalid(Invalid):
    code = "request_invalid"
    default_detail = "The request is not complete."


class TooManyRequests(DomainError):
    code = "too_many_requests"
    status = 429
    default_detail = "Too many requests were sent from this address. Please try again later."
