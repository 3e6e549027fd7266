from django.urls import path

from . import views

app_name = "reminders"

urlpatterns = [
    path("", views.worklist, name="recalls"),
    path("<int:recall_id>/contact/", views.contact, name="contact"),
    path("<int:recall_id>/close/", views.close, name="close"),
    path("messages/", views.message_log, name="messages"),
]
