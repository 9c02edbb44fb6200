from django.apps import AppConfig


class InstrumentsConfig(AppConfig):
    name = "ketacare.instruments"
    label = "instruments"
