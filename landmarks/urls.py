"""Pages of the landmarks app, under /measurements/."""

from django.urls import path

from . import views

app_name = "landmarks"

urlpatterns = [
    path("sets/<int:pk>/", views.set_measurements, name="set"),
    path("landmarks/<int:pk>/correct/", views.correct, name="correct"),
]
