"""The public page (under /request/): no login, rate-limited per client address."""

from django.urls import path

from . import views

app_name = "intake_public"

urlpatterns = [
    path("", views.public_request, name="request"),
    path("thanks/", views.public_thanks, name="thanks"),
]
