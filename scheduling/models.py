"""Calendars: locations, rooms, providers, appointment types, appointments and recalls.

Overlaps are prevented twice: the booking service checks first to give a friendly error, and on
PostgreSQL exclusion constraints (migration 0002) settle races, since a SELECT ... FOR UPDATE
locks nothing when the slot being fought over is still empty.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from clinic.roles import Role as StaffRole

from .constraints import PostgresExclusionConstraint, RangeBoundary, RangeOperators, TsTzRange


def new_feed_token() -> str:
    """An unguessable calendar-feed secret (192 bits)."""
    return secrets.token_urlsafe(24)


class Location(models.Model):
    name = models.CharField(max_length=100, unique=True)
    address = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Room(models.Model):
    class Kind(models.TextChoices):
        CONSULTATION = "consultation", "Consultation room"
        PROCEDURE = "procedure", "Procedure room"
        THEATRE = "theatre", "Operating theatre"
        THERAPY = "therapy", "Therapy room"

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind)
    is_active = models.BooleanField(default=True)
    # The secret in the private calendar-feed URL (/feeds/<token>.ics): whoever has the URL can
    # read the calendar, so revoking it is replacing the token (scheduling.feeds).
    calendar_feed_token = models.CharField(max_length=64, unique=True, default=new_feed_token, editable=False)

    class Meta:
        ordering = ["location__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["location", "name"], name="scheduling_room_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.location})"


class Provider(models.Model):
    """A member of staff who can be booked."""

    class Role(models.TextChoices):
        SURGEON = StaffRole.SURGEON.value, StaffRole.SURGEON.label
        INJECTOR = StaffRole.INJECTOR.value, StaffRole.INJECTOR.label
        THERAPIST = StaffRole.THERAPIST.value, StaffRole.THERAPIST.label

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="provider")
    role = models.CharField(max_length=16, choices=Role)
    colour = models.CharField(max_length=7, default="#1f5fa8", help_text="Calendar column colour, #rrggbb")
    is_active = models.BooleanField(default=True)
    # The secret in the private calendar-feed URL (/feeds/<token>.ics): whoever has the URL can
    # read the calendar, so revoking it is replacing the token (scheduling.feeds).
    calendar_feed_token = models.CharField(max_length=64, unique=True, default=new_feed_token, editable=False)

    class Meta:
        ordering = ["user__last_name", "user__first_name", "id"]

    def __str__(self) -> str:
        return self.user.display_name


class WorkingHours(models.Model):
    """A provider's regular hours on one weekday at one location (several rows for split days)."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    weekday = models.PositiveSmallIntegerField(help_text="0 = Monday ... 6 = Sunday")
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["provider", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="scheduling_workinghours_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="scheduling_workinghours_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} day {self.weekday} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class TimeOff(models.Model):
    """A blocked period for a provider (leave, meeting) or a room (maintenance)."""

    provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="time_off"
    )
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.PROTECT, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="scheduling_timeoff_ends_after_start"
            ),
            # Blocks exactly one of: a provider, a room.
            models.CheckConstraint(
                condition=Q(provider__isnull=False, room__isnull=True)
                | Q(provider__isnull=True, room__isnull=False),
                name="scheduling_timeoff_provider_xor_room",
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "starts_at"], name="scheduling_timeoff_provider"),
            # Room view and availability: a room's blocked periods in a window.
            models.Index(fields=["room", "starts_at"], name="scheduling_timeoff_room"),
        ]

    def __str__(self) -> str:
        return f"{self.provider or self.room} off {self.starts_at:%Y-%m-%d %H:%M}"


# The longest time one appointment holds a provider or room: the longest duration (24 h) plus the
# longest buffer. Window searches read appointments *starting* from this far before the window,
# so they use the start-time indexes instead of scanning all history; migration 0004 makes the
# database refuse longer rows on PostgreSQL.
MAX_BUFFER_MINUTES = 240
MAX_BLOCK_SPAN = timedelta(minutes=24 * 60 + MAX_BUFFER_MINUTES)


class AppointmentType(models.Model):
    code = models.SlugField(
        max_length=32, unique=True, help_text="Stable code used by integrations, e.g. toxin"
    )
    name = models.CharField(max_length=100)
    duration_minutes = models.PositiveSmallIntegerField()
    # Surgery is booked for the length of the case: the booking gives the duration.
    duration_set_per_booking = models.BooleanField(default=False)
    buffer_after_minutes = models.PositiveSmallIntegerField(default=0)
    # Which provider roles may deliver it, e.g. ["surgeon", "injector"].
    provider_roles = models.JSONField(default=list)
    room_kind = models.CharField(max_length=16, choices=Room.Kind)
    # Counts for the minimum reinjection interval (docs/domain.md: 84 days by default).
    is_toxin = models.BooleanField(default=False)
    # The follow-ups this visit implies, rows like
    # {"after_days": 7, "appointment_type": "post_op", "label": "1 week"}. An operation recorded
    # for such a booking without a plan of its own takes these.
    follow_up_plan = models.JSONField(default=list, blank=True)
    colour = models.CharField(max_length=7, default="#6b7a90")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0) & Q(duration_minutes__lte=24 * 60),
                name="scheduling_appointmenttype_duration_range",
            ),
            # Bounds how long an appointment holds its room (see MAX_BLOCK_SPAN).
            models.CheckConstraint(
                condition=Q(buffer_after_minutes__lte=MAX_BUFFER_MINUTES),
                name="scheduling_appointmenttype_buffer_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AppointmentQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=Appointment.ACTIVE_STATUSES)

    def holding(self, start, end):
        """Rows whose held interval [starts_at, blocked_until) overlaps [start, end).

        The lower bound on starts_at is implied by MAX_BLOCK_SPAN; stating it keeps the query on
        the start-time indexes instead of every earlier row.
        """
        return self.filter(starts_at__lt=end, starts_at__gte=start - MAX_BLOCK_SPAN, blocked_until__gt=start)


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CONFIRMED = "confirmed", "Confirmed"
        CHECKED_IN = "checked_in", "Checked in"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "Did not attend"

    # Statuses that hold the slot: the overlap rules apply to these only.
    ACTIVE_STATUSES = (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED)

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="appointments")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="appointments")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # ends_at plus the type's buffer (cleaning, notes): provider and room stay busy until then.
    blocked_until = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status, default=Status.BOOKED)
    notes = models.CharField(max_length=500, blank=True)
    # A clinician's reason for booking a toxin session inside the minimum interval.
    interval_override_reason = models.CharField(max_length=500, blank=True)
    # Why it was cancelled (also on the "cancelled" event); kept on the row for lists and the API.
    cancellation_reason = models.CharField(max_length=500, blank=True)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    booked_via = models.CharField(max_length=16, default="staff")  # staff, api, patient_link
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # The SEQUENCE of the appointment's calendar event (RFC 5545 3.8.7.4): one more on every
    # change, so that a calendar app takes the newest invitation or cancellation as current.
    sequence = models.PositiveIntegerField(default=0, editable=False)

    history = HistoricalRecords()

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="scheduling_appointment_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(blocked_until__gte=F("ends_at")), name="scheduling_appointment_blocked_after_end"
            ),
            # Never two active appointments at once for a provider or a room (the time held,
            # buffer included) or for a patient (the visit itself). PostgreSQL only; on SQLite
            # the booking service's checks are the rule (scheduling/constraints.py).
            *(
                PostgresExclusionConstraint(
                    name=f"scheduling_appointment_{resource}_no_overlap",
                    resource=resource,
                    expressions=[
                        (resource, RangeOperators.EQUAL),
                        (TsTzRange("starts_at", until, RangeBoundary()), RangeOperators.OVERLAPS),
                    ],
                    condition=Q(status__in=("booked", "confirmed", "checked_in", "completed")),
                    index_type="gist",
                )
                for resource, until in (
                    ("provider", "blocked_until"),
                    ("room", "blocked_until"),
                    ("patient", "ends_at"),
                )
            ),
        ]
        indexes = [
            # Day and week views, availability: a provider's appointments in a time window.
            models.Index(fields=["provider", "starts_at"], name="scheduling_appt_provider_start"),
            models.Index(fields=["room", "starts_at"], name="scheduling_appt_room_start"),
            # Patient chart timeline and the reinjection rule (last toxin session).
            models.Index(fields=["patient", "starts_at"], name="scheduling_appt_patient_start"),
            # Day list across all providers.
            models.Index(fields=["starts_at"], name="scheduling_appt_start"),
        ]

    def __str__(self) -> str:
        return f"{self.appointment_type} {self.starts_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        # Every change is a new version of the calendar event (``sequence``).
        if not self._state.adding:
            self.sequence += 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "sequence"}
        super().save(*args, **kwargs)

    @property
    def audit_label(self) -> str:
        return f"appointment {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class AppointmentEvent(models.Model):
    """Every status change of an appointment: who, when, why. Corrections are new events."""

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=32)  # booked, confirmed, rescheduled, cancelled, ...
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    via = models.CharField(max_length=16, default="staff")  # staff, api, patient_link, system
    reason = models.CharField(max_length=500, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["appointment", "at"], name="scheduling_apptevent_appt")]

    def __str__(self) -> str:
        return f"{self.action} {self.at:%Y-%m-%d %H:%M}"


class Recall(models.Model):
    """A patient due back: opened by the service that knows why (a toxin session, a surgery).

    Scheduling never reads treatment records; the treatment services tell it what is due
    through ``recall_open``. The reminders and the front desk's worklist read these rows.
    """

    class Kind(models.TextChoices):
        REINJECTION = "reinjection", "Reinjection"
        POST_OP = "post_op", "Post-operative follow-up"
        THERAPY = "therapy", "Therapy series"
        FOLLOW_UP = "follow_up", "Follow-up"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        BOOKED = "booked", "Booked"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="recalls")
    kind = models.CharField(max_length=16, choices=Kind)
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    # Whom the patient should preferably see (their usual injector or surgeon).
    preferred_provider = models.ForeignKey(
        Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The event the recall counts from (the toxin session's or the surgery's date): reminder
    # times are measured from it.
    anchor_date = models.DateField()
    # Not bookable before this date (e.g. the minimum reinjection interval).
    earliest_date = models.DateField()
    due_date = models.DateField()
    overdue_date = models.DateField()
    status = models.CharField(max_length=16, choices=Status, default=Status.OPEN)
    # What opened it, e.g. "toxin_session:42": opening twice from one source opens one recall.
    source = models.CharField(max_length=64)
    label = models.CharField(max_length=100, blank=True)
    booked_appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="satisfied_recalls"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind", "source"], name="scheduling_recall_unique_source"
            ),
            models.CheckConstraint(
                condition=Q(earliest_date__gte=F("anchor_date"))
                & Q(due_date__gte=F("earliest_date"))
                & Q(overdue_date__gte=F("due_date")),
                name="scheduling_recall_dates_ordered",
            ),
        ]
        indexes = [
            # The worklist: open recalls by due date. The overdue date is in the index so that
            # the tabs' counts (due: due but not yet overdue) are read from the index alone.
            models.Index(fields=["status", "due_date", "overdue_date"], name="scheduling_recall_worklist"),
            # The recall list without a bucket (the API's default) and the closed tab: every
            # recall by due date, read in order for one page instead of sorting a million rows.
            models.Index(fields=["due_date", "id"], name="scheduling_recall_due_order"),
            # The open tabs (upcoming, due, overdue) page through open recalls in due order. In
            # the index above the open ones are a few per cent of the rows, scattered among
            # closed ones: the overdue tab had to step over 690,000 of them for its first page.
            # The overdue date, after the order, is checked in the index: the due tab (due, not
            # yet overdue) stepped over every long-overdue recall in the heap first (14,561 heap
            # rows for a page of 25 in 27,000 open recalls: 15 ms; 1.6 ms from the index).
            models.Index(
                fields=["due_date", "id", "overdue_date"],
                name="scheduling_recall_open_due",
                condition=Q(status="open"),
            ),
            models.Index(fields=["patient", "kind", "status"], name="scheduling_recall_patient"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} due {self.due_date}"

    @property
    def audit_label(self) -> str:
        return f"recall {self.pk}"


class WaitlistEntry(models.Model):
    """A patient who wants an earlier slot for a type, optionally with one provider and dates.

    When an appointment of that type is cancelled or moved away, the freed slot is offered to
    the matching entries (WaitlistOffer); the front desk books it for one of them.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        BOOKED = "booked", "Booked"
        CANCELLED = "cancelled", "Cancelled"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="waitlist_entries")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    earliest_date = models.DateField(null=True, blank=True)
    latest_date = models.DateField(null=True, blank=True)
    # The patient's existing later booking: taking an offer moves it instead of booking twice.
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    notes = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.WAITING)
    booked_appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "waitlist entries"
        constraints = [
            # One open wish per patient and type: a second one would only double the offers.
            models.UniqueConstraint(
                fields=["patient", "appointment_type"],
                condition=Q(status="waiting"),
                name="scheduling_waitlistentry_one_waiting_per_type",
            ),
            models.CheckConstraint(
                condition=Q(earliest_date__isnull=True)
                | Q(latest_date__isnull=True)
                | Q(latest_date__gte=F("earliest_date")),
                name="scheduling_waitlistentry_dates_ordered",
            ),
        ]
        indexes = [
            # Matching a freed slot: waiting entries for one appointment type.
            models.Index(fields=["appointment_type", "status"], name="scheduling_waitlist_match"),
        ]

    def __str__(self) -> str:
        return f"waitlist {self.appointment_type} ({self.get_status_display()})"

    @property
    def audit_label(self) -> str:
        return f"waitlist entry {self.pk}"


class WaitlistOffer(models.Model):
    """A freed slot offered to one waitlist entry. Taking it books (or moves) the appointment."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Booked"
        LAPSED = "lapsed", "Taken by someone else or withdrawn"

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.PROTECT, related_name="offers")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # The appointment whose cancellation or move freed the slot.
    freed_by = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status, default=Status.OPEN)
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            # A slot freed twice (cancelled, then the correction reverted and it freed again) is
            # offered to an entry once.
            models.UniqueConstraint(
                fields=["entry", "provider", "starts_at"], name="scheduling_waitlistoffer_unique_slot"
            ),
        ]
        indexes = [
            # Day view and waitlist page: open offers in a time window.
            models.Index(fields=["status", "starts_at"], name="scheduling_waitoffer_open"),
        ]

    def __str__(self) -> str:
        return f"offer {self.starts_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"


class Message(models.Model):
    """One message to a patient: a row with a due time, claimed and sent by the dispatcher.

    Work due months ahead is a row, never a Celery task with a far ETA (Redis redelivers those
    after its visibility timeout; RabbitMQ kills them at its consumer timeout). The unique
    ``dedupe_key`` makes a second send of the same reminder impossible, not unlikely.
    """

    class Kind(models.TextChoices):
        APPOINTMENT_CONFIRMATION = "appointment_confirmation", "Appointment confirmation"
        APPOINTMENT_CHANGED = "appointment_changed", "Appointment changed"
        APPOINTMENT_CANCELLED = "appointment_cancelled", "Appointment cancelled"
        APPOINTMENT_REMINDER = "appointment_reminder", "Appointment reminder"
        RECALL_DUE = "recall_due", "Recall: due"
        RECALL_SECOND = "recall_second", "Recall: second reminder"
        QUESTIONNAIRE = "questionnaire", "Questionnaire request"
        CAMPAIGN = "campaign", "Clinic notice"
        AFTERCARE = "aftercare", "Aftercare advice"
        HOME_PROGRAMME = "home_programme", "Home exercise programme"
        PROGRAMME_CHECKIN = "programme_checkin", "Home programme check-in"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        QUEUED = "queued", "Queued"  # claimed by the dispatcher, handed to a send task
        SENDING = "sending", "Sending"  # the provider call has started
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        CANCELLED = "cancelled", "Cancelled"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=32, choices=Kind)
    channel = models.CharField(max_length=8, choices=Channel)
    # The consent purpose this message needs (patients.MessagingConsent.Purpose).
    purpose = models.CharField(max_length=32)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status, default=Status.SCHEDULED)
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    recall = models.ForeignKey(
        Recall, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    # "<target>:<kind>:<channel>:<due date>": one message per target, kind, channel and due date.
    dedupe_key = models.CharField(max_length=200, unique=True)
    context = models.JSONField(default=dict, blank=True)
    to_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Why it was skipped or failed: a stable code, then words for people.
    reason_code = models.CharField(max_length=32, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        indexes = [
            # The dispatcher: scheduled rows that are due, oldest first.
            models.Index(fields=["due_at"], name="scheduling_message_due", condition=Q(status="scheduled")),
            # Stale claims (a worker died mid-batch).
            models.Index(
                fields=["claimed_at"],
                name="scheduling_message_claimed",
                condition=Q(status__in=["queued", "sending"]),
            ),
            # The message log per patient and overall, newest first; the failures view.
            models.Index(fields=["patient", "-due_at"], name="scheduling_message_patient"),
            models.Index(fields=["status", "-due_at"], name="scheduling_message_status"),
            models.Index(fields=["-due_at", "-id"], name="scheduling_message_time"),
            models.Index(fields=["appointment"], name="scheduling_message_appt"),
            models.Index(fields=["recall"], name="scheduling_message_recall"),
            # The dashboard's recall conversion: the recalls messaged in a period (index-only).
            models.Index(
                fields=["sent_at"],
                name="scheduling_message_recall_sent",
                condition=Q(status="sent", recall__isnull=False),
                include=["recall"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.channel} ({self.status})"

    @property
    def audit_label(self) -> str:
        return f"message {self.pk}"


class RecallContact(models.Model):
    """A contact attempt logged on the recall worklist (phone call, letter, note)."""

    class Method(models.TextChoices):
        PHONE = "phone", "Phone call"
        VOICEMAIL = "voicemail", "Voicemail left"
        LETTER = "letter", "Letter"
        IN_PERSON = "in_person", "In person"
        NOTE = "note", "Note"

    recall = models.ForeignKey(Recall, on_delete=models.PROTECT, related_name="contacts")
    method = models.CharField(max_length=16, choices=Method)
    outcome = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["recall", "-at"], name="scheduling_recallcontact_at")]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.at:%Y-%m-%d}"
