from django.conf import settings


def clinic(request):
    return {"CLINIC_NAME": settings.CLINIC_NAME, "CLINIC_TIME_ZONE": settings.TIME_ZONE}
