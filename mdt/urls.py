"""Pages of the MDT app, under /mdt/."""

from django.urls import path

from . import views

app_name = "mdt"

urlpatterns = [
    path("", views.meetings, name="meetings"),
    path("meetings/<int:pk>/", views.meeting, name="meeting"),
    path("meetings/<int:pk>/hold/", views.meeting_hold, name="meeting_hold"),
    path("patients/<int:patient_id>/flag/", views.flag, name="flag"),
    path("items/<int:pk>/outcome/", views.item_outcome, name="item_outcome"),
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/<int:pk>/done/", views.task_done, name="task_done"),
]
