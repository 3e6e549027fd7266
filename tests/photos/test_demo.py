"""The demo's photo sets: drawn faces for the demo's own patients, once, never for others."""

from datetime import timedelta
from io import StringIO

from django.utils import timezone

from clinic.demo import demo_ids, demo_mark
from devtools.demo import photos as demo
from photos.models import MediaItem, PhotoSet
from tests.factories import PatientFactory
from tests.treatments.factories import record_consultation, record_surgery


def _demo_patient():
    patient = PatientFactory(affected_side="left")
    demo_mark(patient, f"patient:test:{patient.pk}")
    return patient


def test_demo_photo_sets_go_to_demo_patients_once(surgeon_user):
    owned = _demo_patient()
    record_consultation(owned, surgeon_user, occurred_at=timezone.now() - timedelta(days=200))
    record_surgery(owned, surgeon_user, started_at=timezone.now() - timedelta(days=100))
    real = PatientFactory()
    record_consultation(real, surgeon_user)

    demo.seed(staff={"surgeon": surgeon_user}, stdout=StringIO())
    demo.seed(staff={"surgeon": surgeon_user}, stdout=StringIO())

    sets = PhotoSet.objects.filter(patient=owned)
    # The consultation, a week before the surgery, two months after it.
    assert sets.count() == 3
    assert set(sets.values_list("pk", flat=True)) == {
        int(i) for i in demo_ids(PhotoSet).values_list("object_id", flat=True)
    }
    items = MediaItem.objects.filter(photo_set__patient=owned)
    assert items.count() == 24 and set(items.values_list("status", flat=True)) == {"ready"}
    assert not PhotoSet.objects.filter(patient=real).exists()
