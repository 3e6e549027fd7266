"""Factories for the scheduling app's own models (the shared ones are in tests/factories.py)."""

from datetime import time

import factory

from tests.factories import AppointmentTypeFactory, LocationFactory, PatientFactory, ProviderFactory


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scheduling.WorkingHours"

    provider = factory.SubFactory(ProviderFactory)
    location = factory.SubFactory(LocationFactory)
    weekday = 0
    start_time = time(9, 0)
    end_time = time(17, 0)


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scheduling.TimeOff"

    reason = "Leave"


class WaitlistEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scheduling.WaitlistEntry"

    patient = factory.SubFactory(PatientFactory)
    appointment_type = factory.SubFactory(AppointmentTypeFactory)
