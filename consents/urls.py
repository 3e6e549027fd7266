from django.urls import path

from . import views

app_name = "consents"

urlpatterns = [
    path("forms/", views.templates, name="templates"),
    path("forms/<str:procedure>/", views.template_edit, name="template"),
    path("patient/<int:patient_id>/", views.patient_consents, name="patient"),
    path("<int:pk>/", views.consent_detail, name="detail"),
    path("<int:pk>/tablet/", views.consent_tablet, name="tablet"),
    path("<int:pk>/countersign/", views.consent_countersign, name="countersign"),
    path("<int:pk>/withdraw/", views.consent_withdraw, name="withdraw"),
    path("<int:pk>/pdf/", views.consent_pdf, name="pdf"),
]
