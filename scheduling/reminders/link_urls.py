"""Patient links (no login): /p/<token>/ and the SMS provider's inbound webhook."""

from django.urls import path

from . import link_views

app_name = "links"

urlpatterns = [
    path("sms/twilio/inbound/", link_views.twilio_inbound, name="twilio_inbound"),
    path("<str:token>/one-click/", link_views.one_click, name="one_click"),
    path("<str:token>/", link_views.open_link, name="open"),
]
