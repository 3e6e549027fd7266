from django.urls import path

from . import views

app_name = "letters"

urlpatterns = [
    path("patient/<int:patient_id>/", views.patient_letters, name="patient"),
    path("<int:pk>/", views.letter_detail, name="detail"),
    path("<int:pk>/sign/", views.letter_sign, name="sign"),
    path("<int:pk>/send/", views.letter_send, name="send"),
    path("<int:pk>/correct/", views.letter_correct, name="correct"),
    path("<int:pk>/pdf/", views.letter_pdf, name="pdf"),
]
