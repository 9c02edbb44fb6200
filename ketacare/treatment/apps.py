from django.apps import AppConfig


class TreatmentConfig(AppConfig):
    name = "ketacare.treatment"
    label = "treatment"
