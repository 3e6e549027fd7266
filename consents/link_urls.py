"""A patient's consent link (no login): /p/consent/<token>/ and its signed PDF."""

from django.urls import path

from . import link_views

app_name = "consent_links"

urlpatterns = [
    path("<str:token>/", link_views.sign, name="sign"),
    path("<str:token>/pdf/", link_views.pdf, name="pdf"),
]
