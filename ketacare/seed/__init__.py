"""Generated data, kept out of the clinical apps: the demo clinic (`demo.py` and one seeder per app) and the
synthetic network (`synth.py`, `ketacare synth`)."""
