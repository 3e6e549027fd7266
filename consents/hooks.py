"""What this app adds to booking (scheduling.rules' booking warnings).

A toxin appointment type (``is_toxin``) needs a valid botulinum toxin consent on the day. A
type whose code is a procedure's code (for example ``dao_excision``) needs that procedure's
consent; any other type booked in a theatre needs a surgical consent of some procedure.
"""

from scheduling.rules import register_booking_warnings

from .models import Procedure
from .rules import ANY_SURGERY, consent_warnings


def appointment_procedures(appointment_type) -> list[str]:
    if appointment_type.is_toxin:
        return [Procedure.BOTULINUM_TOXIN]
    if appointment_type.code in Procedure.values:
        return [appointment_type.code]
    if appointment_type.room_kind == "theatre":
        return [ANY_SURGERY]
    return []


def appointment_warnings(*, appointment) -> list[str]:
    procedures = appointment_procedures(appointment.appointment_type)
    if not procedures:
        return []
    return consent_warnings(
        patient_id=appointment.patient_id, procedures=procedures, at=appointment.starts_at
    )


def register() -> None:
    register_booking_warnings(appointment_warnings)
