from patients.models import MessagingConsent


def grant_all(patient, *, purposes=None, channels=("email", "sms")):
    """Record consent for every channel and purpose, for the patient's current contacts."""
    purposes = purposes or [p.value for p in MessagingConsent.Purpose]
    for channel in channels:
        address = patient.email if channel == "email" else str(patient.mobile)
        for purpose in purposes:
            MessagingConsent.objects.create(
                patient=patient,
                channel=channel,
                purpose=purpose,
                granted=True,
                address=address,
                method="written",
            )
