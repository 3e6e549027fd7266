from datetime import UTC, timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from clinic.roles import sync_roles

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@clinic.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if not create:
            return
        self.save()
        if extracted:
            if not Group.objects.filter(name__in=extracted).exists():
                sync_roles()
            self.groups.set(Group.objects.filter(name__in=extracted))


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "patients.Patient"

    mrn = factory.Sequence(lambda n: f"T{n:07d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=18, maximum_age=90)
    sex = "female"
    email = factory.LazyAttribute(lambda p: f"{p.first_name}.{p.last_name}.{p.mrn}@example.org".lower())
    mobile = factory.Sequence(lambda n: f"+4477009{n % 100000:05d}")
    affected_side = "left"
    palsy_cause = "bells_palsy"


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scheduling.Location"
        django_get_or_create = ("name",)

    name = "Main clinic"


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scheduling.Room"
        django_get_or_create = ("location", "name")

    location = factory.SubFactory(LocationFactory)
    name = factory.Sequence(lambda n: f"Room {n}")
    kind = "consultation"


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scheduling.Provider"

    user = factory.SubFactory(UserFactory, roles=["surgeon"])
    role = "surgeon"


class AppointmentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "scheduling.AppointmentType"
        django_get_or_create = ("code",)

    code = "consultation"
    name = "New patient consultation"
    duration_minutes = 60
    provider_roles = factory.LazyFunction(lambda: ["surgeon"])
    room_kind = "consultation"


class AppointmentFactory(factory.django.DjangoModelFactory):
    """Inserts directly (no booking rules): for arranging tests, not for testing booking."""

    class Meta:
        model = "scheduling.Appointment"

    patient = factory.SubFactory(PatientFactory)
    appointment_type = factory.SubFactory(AppointmentTypeFactory)
    provider = factory.SubFactory(ProviderFactory)
    room = factory.SubFactory(RoomFactory)
    starts_at = factory.Faker("future_datetime", tzinfo=UTC)
    ends_at = factory.LazyAttribute(
        lambda a: a.starts_at + timedelta(minutes=a.appointment_type.duration_minutes)
    )
    blocked_until = factory.LazyAttribute(
        lambda a: a.ends_at + timedelta(minutes=a.appointment_type.buffer_after_minutes)
    )
