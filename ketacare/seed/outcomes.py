"""Demo data for outcomes: whole synthetic treatment histories (the `ketacare synth` generator) for the demo
clinic's patients who have none yet, one of them with three years of weekly PHQ-9 and GAD-7, so the clinic report
and the outcomes pages have something to show. Idempotent."""


def seed_outcomes(clinic, users, today) -> None:
    from ketacare.seed.synth import seed_clinic_demo

    seed_clinic_demo(clinic=clinic, users=users, today=today)
