from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "ketacare.worker"
    label = "worker"
