"""Pages of the scheduling app (under /schedule/)."""

from django.urls import path

from . import feed_views, practice_views, views

app_name = "scheduling"

urlpatterns = [
    path("", views.day, name="day"),
    path("rooms/", views.rooms, name="rooms"),
    path("week/", views.week, name="week"),
    path("my-day/", views.my_day, name="my_day"),
    path("arrivals/", views.arrivals, name="arrivals"),
    path("arrivals/<int:pk>/check-in/", views.arrival_check_in, name="arrival_check_in"),
    path("print/", views.print_day, name="print_day"),
    path("next/", views.next_available, name="next_available"),
    path("book/", views.book, name="book"),
    path("book/patients/", views.book_patient_search, name="book_patient_search"),
    path("book/register-patient/", views.book_register_patient, name="book_register_patient"),
    path("appointments/<int:pk>/", views.appointment_detail, name="appointment"),
    path("appointments/<int:pk>/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("appointments/<int:pk>/correct/", views.appointment_correct, name="appointment_correct"),
    path("appointments/<int:pk>/reschedule/", views.appointment_reschedule, name="appointment_reschedule"),
    path("appointments/<int:pk>/<slug:action>/", views.appointment_action, name="appointment_action"),
    path("waitlist/", views.waitlist, name="waitlist"),
    path("waitlist/<int:pk>/remove/", views.waitlist_remove, name="waitlist_remove"),
    path("waitlist/offers/<int:pk>/book/", views.waitlist_book, name="waitlist_book"),
    path("providers/<int:pk>/calendar.ics", views.provider_ics, name="provider_ics"),
    path("feeds/", feed_views.feed_list, name="feeds"),
    path("feeds/<slug:kind>/<int:pk>/new-url/", feed_views.feed_rotate, name="feed_rotate"),
    # Practice set-up (manage_schedule): working hours, time off, rooms, appointment types.
    path("setup/", practice_views.setup, name="practice_setup"),
    path("setup/providers/<int:pk>/hours/", practice_views.provider_hours, name="practice_hours"),
    path("setup/hours/<int:pk>/remove/", practice_views.hours_delete, name="practice_hours_delete"),
    path("setup/time-off/", practice_views.time_off, name="practice_time_off"),
    path("setup/time-off/<int:pk>/remove/", practice_views.time_off_delete, name="practice_time_off_delete"),
    path("setup/rooms/new/", practice_views.room_edit, name="practice_room_new"),
    path("setup/rooms/<int:pk>/", practice_views.room_edit, name="practice_room"),
    path("setup/types/new/", practice_views.type_edit, name="practice_type_new"),
    path("setup/types/<int:pk>/", practice_views.type_edit, name="practice_type"),
]
