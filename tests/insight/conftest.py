from tests.treatments.conftest import (  # noqa: F401 (fixtures shared with the clinical tests)
    _clinic_clock,
    _fast_password_hashing,
    patient,
    recall_types,
)
