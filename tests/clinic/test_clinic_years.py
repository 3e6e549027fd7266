"""One year range for the dates a clinic records, on the web forms as on the API."""

import pytest

from scheduling.forms import WaitlistForm
from treatments.forms import LotForm, StageForm


@pytest.mark.parametrize(
    ("form_class", "field", "data"),
    [
        (StageForm, "target_start", {"modality": "therapy", "description": "Retraining"}),
        (LotForm, "expiry_date", {"product": "botox", "lot_number": "C1", "vial_units": 100}),
        (WaitlistForm, "earliest_date", {}),
    ],
)
@pytest.mark.django_db
def test_a_date_outside_the_clinic_years_is_a_form_error(form_class, field, data):
    form = form_class(data={**data, field: "2500-01-01"})
    assert not form.is_valid()
    assert form.errors[field] == ["Use a year from 1900 to 2199."]
    form = form_class(data={**data, field: "2027-01-01"})
    form.is_valid()
    assert field not in form.errors
