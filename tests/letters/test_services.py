"""Letters drafted from the record, edited, signed (read-only from then on) and sent by email,
each email once, with the signed PDF attached."""

from datetime import timedelta
from email import policy
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from django.core.files.storage import storages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.errors import Invalid
from clinic.models import AuditEvent
from letters import services
from letters.exceptions import (
    LetterNotAllowed,
    LetterNothingToSummarise,
    LetterNotSigned,
    LetterPdfDamaged,
    LetterSigned,
    NoRecipient,
    RecipientEmailMissing,
)
from letters.models import Letter, LetterDelivery
from tests.factories import UserFactory
from tests.letters import helpers
from tests.smtp import SmtpSink, free_port
from tests.treatments.factories import injection, record_surgery, record_toxin

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings):
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    yield sink
    controller.stop()


@pytest.fixture
def surgeon():
    return helpers.surgeon()


@pytest.fixture
def patient():
    return helpers.patient()


def test_consultation_letter_is_filled_from_the_record(patient, surgeon):
    encounter = helpers.consultation(patient, surgeon)
    letter = services.letter_draft(actor=surgeon, patient=patient, kind="consultation")
    assert letter.encounter_id == encounter.pk
    assert letter.status == Letter.Status.DRAFT
    body = letter.body
    assert body.startswith("Dear Dr Gill,")
    assert f"MRN {patient.mrn}" in body
    assert "Left facial palsy" in body
    assert "History: Bell's palsy in 2021, incomplete recovery." in body
    assert "Examination: Oral-ocular synkinesis on the left." in body
    assert "Overall severity: moderate." in body
    assert "- Sunnybrook" in body  # the grading recorded with the consultation
    assert "Plan: Botulinum toxin" in body
    assert "&#x27;" not in body and "&amp;" not in body  # text, not HTML
    assert letter.subject.startswith("Consultation summary, ")
    assert AuditEvent.objects.filter(action="letter.drafted", patient_id=patient.pk).exists()
    assert letter.history.count() == 1


def test_procedure_and_toxin_course_letters_carry_procedures_and_doses(patient, surgeon):
    record_surgery(patient, surgeon, started_at=timezone.now() - timedelta(days=200))
    procedure = services.letter_draft(actor=surgeon, patient=patient, kind="procedure")
    assert "Depressor anguli oris (DAO) excision" in procedure.body
    assert "left side, local" in procedure.body
    assert "- 6 weeks, 42 days after surgery" in procedure.body
    assert "Complications: none recorded." in procedure.body

    record_toxin(patient, surgeon, occurred_at=timezone.now() - timedelta(days=100))
    latest = record_toxin(
        patient,
        surgeon,
        occurred_at=timezone.now() - timedelta(hours=2),
        injections=[injection("mentalis", "left", "3", 1), injection("platysma", "left", "10", 4)],
    )
    course = services.letter_draft(actor=surgeon, patient=patient, kind="toxin_course")
    assert course.encounter_id == latest.pk
    assert "last 2 sessions" in course.body
    assert "12.5 units in total" in course.body  # the default map: 5 + 2.5 + 5
    assert "13 units in total" in course.body
    assert "- Platysma, left: 10 units over 4 points" in course.body
    assert f"lot {latest.lot.lot_number}" in course.body


def test_a_letter_needs_something_to_summarise_and_the_patients_own_encounter(patient, surgeon):
    with pytest.raises(LetterNothingToSummarise) as refused:
        services.letter_draft(actor=surgeon, patient=patient, kind="procedure")
    assert refused.value.code == "letter_nothing_to_summarise"
    other = helpers.patient(first_name="Other")
    foreign = helpers.consultation(other, surgeon)
    with pytest.raises(LetterNothingToSummarise) as refused:
        services.letter_draft(actor=surgeon, patient=patient, kind="consultation", encounter=foreign)
    assert "encounter" in refused.value.fields
    mine = helpers.consultation(patient, surgeon)
    with pytest.raises(LetterNothingToSummarise):
        services.letter_draft(actor=surgeon, patient=patient, kind="toxin_course", encounter=mine)
    with pytest.raises(Invalid):
        services.letter_draft(actor=surgeon, patient=patient, kind="poem")


def test_only_clinicians_write_letters(patient, surgeon):
    helpers.consultation(patient, surgeon)
    for role in ("front_desk", "manager"):
        with pytest.raises(LetterNotAllowed):
            services.letter_draft(actor=UserFactory(roles=[role]), patient=patient, kind="consultation")


def test_signing_makes_the_pdf_and_the_letter_read_only(patient, surgeon):
    helpers.consultation(patient, surgeon)
    letter = services.letter_draft(actor=surgeon, patient=patient, kind="consultation")
    letter = services.letter_update(
        actor=surgeon, letter=letter, data={"body": letter.body + "\n\nSeen with her daughter."}
    )
    assert letter.body.endswith("Seen with her daughter.")
    with pytest.raises(Invalid):
        services.letter_update(actor=surgeon, letter=letter, data={"subject": "  "})

    letter = services.letter_sign(actor=surgeon, letter=letter)
    assert letter.status == Letter.Status.SIGNED and letter.signed_by == surgeon
    pdf = services.letter_pdf_read(letter=letter)
    assert pdf.startswith(b"%PDF")
    assert len(letter.content_sha256) == 64

    with pytest.raises(LetterSigned) as refused:
        services.letter_update(actor=surgeon, letter=letter, data={"body": "Changed."})
    assert refused.value.code == "letter_signed" and refused.value.status == 409
    with pytest.raises(LetterSigned):
        services.letter_sign(actor=surgeon, letter=letter)
    letter.refresh_from_db()
    assert "Changed." not in letter.body

    # A correction is a new letter that names the signed one.
    correction = services.letter_draft(actor=surgeon, patient=patient, amends=letter)
    assert correction.amends == letter and correction.status == Letter.Status.DRAFT
    assert correction.body == letter.body and correction.subject.startswith("Correction: ")
    with pytest.raises(Invalid):
        services.letter_draft(actor=surgeon, patient=patient, amends=correction)  # a draft is edited


def test_a_damaged_pdf_is_refused(patient, surgeon):
    letter = helpers.signed_letter(patient, surgeon)
    with storages["private"].open(letter.pdf_name, "wb") as handle:
        handle.write(b"%PDF-1.7 not the one signed")
    with pytest.raises(LetterPdfDamaged):
        services.letter_pdf_read(letter=letter)


def test_send_refuses_unsigned_letters_and_missing_addresses(patient, surgeon):
    helpers.consultation(patient, surgeon)
    draft = services.letter_draft(actor=surgeon, patient=patient, kind="consultation")
    with pytest.raises(LetterNotSigned) as refused:
        services.letter_send(actor=surgeon, letter=draft, to_gp=True)
    assert refused.value.code == "letter_not_signed"

    letter = services.letter_sign(actor=surgeon, letter=draft)
    with pytest.raises(NoRecipient):
        services.letter_send(actor=surgeon, letter=letter)
    patient.gp_email = ""
    patient.save()
    with pytest.raises(RecipientEmailMissing) as refused:
        services.letter_send(actor=surgeon, letter=letter, to_gp=True, to_referrer=True)
    assert refused.value.code == "recipient_email_missing" and refused.value.status == 400
    assert list(refused.value.fields) == ["to_gp"]
    assert not LetterDelivery.objects.exists()


def _parsed(sink):
    return [BytesParser(policy=policy.default).parsebytes(e.content) for e in sink.messages]


def test_each_recipient_gets_the_pdf_once(patient, surgeon, smtp, django_capture_on_commit_callbacks):
    letter = helpers.signed_letter(patient, surgeon)
    with django_capture_on_commit_callbacks() as callbacks:
        deliveries = services.letter_send(
            actor=surgeon, letter=letter, to_gp=True, to_referrer=True, to_patient=True
        )
    assert len(callbacks) == 1  # one nudge for the worker, after commit
    assert {d.recipient for d in deliveries} == {"gp", "referrer", "patient"}
    for delivery in deliveries:
        assert services.letter_deliver(delivery_id=delivery.pk) == "sent"
        # A repeated task (a redelivery, the beat's sweep) finds nothing to send.
        assert services.letter_deliver(delivery_id=delivery.pk) == "not_claimed"
    messages = _parsed(smtp)
    assert sorted(m["To"] for m in messages) == sorted(
        [patient.gp_email, patient.referrer_email, patient.email]
    )
    for message in messages:
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_filename() == f"letter-{letter.pk}.pdf"
        assert attachment.get_content().startswith(b"%PDF")
        assert patient.last_name not in message["Subject"]
        assert patient.last_name not in message.get_body(("plain",)).get_content()
    sent = LetterDelivery.objects.filter(letter=letter)
    assert set(sent.values_list("status", flat=True)) == {"sent"}
    assert all(d.message_id for d in sent)
    assert AuditEvent.objects.filter(action="letter.delivered").count() == 3
    assert AuditEvent.objects.filter(action="letter.sent", patient_id=patient.pk).count() == 1


def test_a_refused_recipient_fails_for_good_and_is_not_retried(patient, surgeon, settings):
    sink = SmtpSink(refuse_rcpt="riverside.surgery@nhs.example")
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", controller.port, False
        letter = helpers.signed_letter(patient, surgeon)
        (delivery,) = services.letter_send(actor=surgeon, letter=letter, to_gp=True)
        assert services.letter_deliver(delivery_id=delivery.pk) == "failed"
    finally:
        controller.stop()
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "refused" in delivery.error
    assert services.letter_deliver(delivery_id=delivery.pk) == "not_claimed"


def test_the_letters_list_reads_in_a_fixed_number_of_queries(patient, surgeon):
    from letters import selectors

    for _ in range(3):
        helpers.signed_letter(patient, surgeon)
    with CaptureQueriesContext(connection) as queries:
        rows = list(selectors.letters_with_deliveries().filter(patient=patient))
        [(r.created_by.display_name, r.signed_by.display_name, list(r.deliveries.all())) for r in rows]
    assert len(rows) == 3 and len(queries) == 2
