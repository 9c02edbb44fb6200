from django.apps import AppConfig


class SeedConfig(AppConfig):
    """Generated data in one place: the demo clinic (`ketacare demo`) and the synthetic network (`ketacare synth`).

    It is the one app allowed to write every other app's models directly (it builds whole histories in bulk); no
    clinical app imports it."""

    name = "ketacare.seed"
    label = "seed"
