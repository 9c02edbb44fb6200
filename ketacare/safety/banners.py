"""The every-page banner: unacknowledged emergency/high alerts of the user's clinic (issue 3, "impossible to miss").

Shown to roles that may see clinical data (prescriber, nurse, therapist). Front desk and clinic admin do not see it:
they hold no clinical access (privacy.md §4, minimum necessary), cannot open or acknowledge an alert, and a banner
they cannot act on would teach everyone to ignore banners. One indexed count per page.
"""

from django.urls import reverse

from ketacare.accounts.roles import Perm
from ketacare.core import banners
from ketacare.safety.selectors import banner_alert_count


def open_high_alerts(request) -> list[dict]:
    user = request.user
    if not user.has_perm_to(Perm.CLINICAL_VIEW):
        return []
    count = banners.cached_count("safety.open_high_alerts", user.clinic_id,
                                  lambda: banner_alert_count(clinic_id=user.clinic_id))
    if not count:
        return []
    noun = "alert" if count == 1 else "alerts"
    return [{"level": "danger", "count": count, "url": reverse("safety:list") + "?status=open",
             "text": f"{count} unacknowledged high-severity safety {noun} in this clinic."}]
