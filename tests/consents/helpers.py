"""Helpers for the consent tests: signatures as a signature pad makes them, consents in each state."""

import base64
import io

from PIL import Image, ImageDraw

from consents import services
from consents.models import PatientConsent


def drawn_png(text: str = "sig") -> bytes:
    """A small transparent PNG with a stroke on it, as the pad's canvas gives."""
    image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.line([(10, 80), (80, 20), (150, 70), (290, 30)], fill=(17, 17, 17, 255), width=4)
    draw.text((20, 85), text, fill=(17, 17, 17, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def data_url(png: bytes | None = None) -> str:
    return "data:image/png;base64," + base64.b64encode(png or drawn_png()).decode()


def start(patient, actor, procedure="botulinum_toxin", side="", **kw) -> PatientConsent:
    if procedure != "botulinum_toxin" and not side:
        side = "left"
    return services.consent_start(patient=patient, procedure=procedure, side=side, actor=actor, **kw)


def patient_signed(patient, actor, procedure="botulinum_toxin", **kw) -> PatientConsent:
    consent = start(patient, actor, procedure, **kw)
    return services.consent_patient_sign(
        consent=consent,
        name="Pat Example",
        method="drawn",
        signature_png=drawn_png(),
        via="tablet",
        actor=actor,
    )


def signed(patient, actor, procedure="botulinum_toxin", **kw) -> PatientConsent:
    consent = patient_signed(patient, actor, procedure, **kw)
    return services.consent_countersign(
        consent=consent, actor=actor, method="drawn", signature_png=drawn_png("dr")
    )
