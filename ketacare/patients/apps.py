from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "ketacare.patients"
    label = "patients"

    def ready(self) -> None:
        from ketacare.accounts.roles import Perm
        from ketacare.core.home import HomeCard, register

        register(HomeCard("Patients", "Find a patient by name, MRN or date of birth and open the chart.",
                          "patients:list", "Find a patient", Perm.PATIENT_VIEW, 20))
