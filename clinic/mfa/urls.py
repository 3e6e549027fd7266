from django.urls import path

from clinic.accounts import views as account_views

from . import views

app_name = "account"

urlpatterns = [
    path("verify/", views.mfa_verify, name="mfa_verify"),
    path("two-factor/set-up/", views.mfa_enrol, name="mfa_enrol"),
    path("two-factor/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("security/", views.security, name="security"),
    # The set-up link (a new account, a two-factor reset, a password reset): the token is taken
    # into the session at once, and the page works from there.
    path("set-up/<str:token>/", account_views.link_open, name="link_open"),
    path("set-up/", account_views.link_set_up, name="link_set_up"),
    path("password/", account_views.password_change, name="password_change"),
    path("sign-out-everywhere/", account_views.sign_out_everywhere, name="sign_out_everywhere"),
]
