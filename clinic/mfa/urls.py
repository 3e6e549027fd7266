from django.urls import path

from . import views

app_name = "account"

urlpatterns = [
    path("verify/", views.mfa_verify, name="mfa_verify"),
    path("two-factor/set-up/", views.mfa_enrol, name="mfa_enrol"),
    path("two-factor/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("security/", views.security, name="security"),
]
