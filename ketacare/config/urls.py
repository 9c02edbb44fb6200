from django.urls import include, path

from ketacare.accounts import views
from ketacare.config.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("banners/", views.banners_partial, name="banners"),
    path("accounts/", include("ketacare.accounts.urls")),
    path("patients/", include("ketacare.patients.urls")),
    path("audit/", include("ketacare.audit.urls")),
    path("measure/", include("ketacare.instruments.urls")),
    path("alerts/", include("ketacare.safety.urls")),
    path("intake/", include("ketacare.screening.urls")),
    path("treatment/", include("ketacare.treatment.urls")),
    path("outcomes/", include("ketacare.outcomes.urls")),
    path("ledger/", include("ketacare.ledger.urls")),
    path("p/", include("ketacare.portal.urls")),  # the patient's pages (secure links, no account)
    path("portal/", include("ketacare.portal.staff_urls")),
    path("outbox/", include("ketacare.messaging.urls")),
    path("api/v1/", api.urls),
    path("fhir/R4/", include("ketacare.interop.urls")),
]

handler403 = "ketacare.core.errorpages.forbidden"
handler404 = "ketacare.core.errorpages.not_found"
