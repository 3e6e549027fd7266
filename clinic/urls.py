from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from consents import api as consents_api
from insight import api as insight_api
from insight.export import PatientExportView
from intake import api as intake_api
from landmarks import api as landmarks_api
from letters import api as letters_api
from mdt import api as mdt_api
from patients import api as patients_api
from photos import api as photos_api
from scheduling import api as scheduling_api
from scheduling import feed_views
from scheduling.reminders import api as reminders_api
from treatments import api as treatments_api

from . import health, views
from .accounts import api as accounts_api
from .accounts import views as account_views
from .api import views as api_views
from .mfa import views as mfa_views
from .tokens import api as tokens_api

router = DefaultRouter()
router.register("audit-events", api_views.AuditEventViewSet, basename="audit-event")
router.register("staff", accounts_api.StaffViewSet, basename="staff-user")
tokens_api.register(router)
APP_APIS = (
    patients_api,
    scheduling_api,
    reminders_api,
    consents_api,
    intake_api,
    treatments_api,
    mdt_api,
    letters_api,
    photos_api,
    landmarks_api,
    insight_api,
)
for app_api in APP_APIS:
    app_api.register(router)

api_v1 = [
    path("auth/token/", api_views.TokenView.as_view(), name="token"),
    path("me/", api_views.MeView.as_view(), name="me"),
    path("me/password/", accounts_api.PasswordChangeView.as_view(), name="me-password"),
    path(
        "me/sign-out-everywhere/", accounts_api.SignOutEverywhereView.as_view(), name="me-sign-out-everywhere"
    ),
    path("clinic-settings/", api_views.ClinicSettingsView.as_view(), name="clinic-settings"),
    path("fhir/", include("insight.fhir_urls")),
    path("patients/<int:pk>/export/", PatientExportView.as_view(), name="patient-export"),
    path("", include(router.urls)),
]

clinic_pages = [
    path("audit/", views.audit_list, name="audit"),
    path("settings/", views.clinic_settings, name="settings"),
    path("staff/", account_views.staff_list, name="staff"),
    path("staff/<int:pk>/two-factor/reset/", account_views.staff_mfa_reset, name="staff_mfa_reset"),
    path("staff/invite/", account_views.staff_invite, name="staff_invite"),
    path("staff/<int:pk>/roles/", account_views.staff_roles, name="staff_roles"),
    path("staff/<int:pk>/deactivate/", account_views.staff_deactivate, name="staff_deactivate"),
    path("staff/<int:pk>/password-reset/", account_views.staff_password_reset, name="staff_password_reset"),
    path("staff/<int:pk>/sign-out/", account_views.staff_sign_out, name="staff_sign_out"),
]

urlpatterns = [
    # First: Django tries the patterns in order, and each include() that does not match costs
    # an exception; an API call went through twenty of them (0.1-0.2 ms) before its own. No
    # other route starts with "api/v1/", so the order changes nothing else.
    path("api/v1/", include((api_v1, "api"))),
    path("", views.home, name="home"),
    path("login/", mfa_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", include("clinic.mfa.urls")),
    path("account/tokens/", include("clinic.tokens.urls")),
    path("health/", health.ready, name="health"),
    path("health/live", health.live, name="health_live"),
    path("health/ready", health.ready, name="health_ready"),
    path("clinic/", include((clinic_pages, "clinic"))),
    path("patients/", include("patients.urls")),
    path("schedule/", include("scheduling.urls")),
    path("clinical/", include("treatments.urls")),
    path("clinical/", include("insight.urls")),
    path("consents/", include("consents.urls")),
    path("p/consent/", include("consents.link_urls")),
    path("intake/", include("intake.urls")),
    path("request/", include("intake.public_urls")),
    path("photos/", include("photos.urls")),
    path("mdt/", include("mdt.urls")),
    path("measurements/", include("landmarks.urls")),
    path("letters/", include("letters.urls")),
    path("p/", include("scheduling.reminders.link_urls")),
    path("feeds/<str:token>.ics", feed_views.calendar_feed, name="calendar_feed"),
    path("recalls/", include("scheduling.reminders.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # The admin logs in through the clinic's log-in, second factor included; staff who are
    # logged in but not superusers are sent home with a message (never back to the log-in).
    path("admin/login/", views.admin_login),
    path("admin/", admin.site.urls),
]

# JSON errors in the API's format under /api/, Django's pages elsewhere.
handler400 = "clinic.api.errors.bad_request"
handler403 = "clinic.api.errors.permission_denied"
handler404 = "clinic.api.errors.not_found"
handler500 = "clinic.api.errors.server_error"

if settings.BENCHMARK_ENDPOINTS:
    # Baselines for the HTTP benchmark (bin/bench); never mounted otherwise.
    urlpatterns.append(path("bench/", include("bench.urls")))

if settings.DEBUG:
    # The quick start's outbox: the messages sent to patients, for staff (clinic/outbox.py).
    from .outbox import outbox

    urlpatterns.append(path("dev/outbox/", outbox, name="dev_outbox"))
