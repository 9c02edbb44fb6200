from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from ketacare.accounts.access import public, requires
from ketacare.accounts.roles import Perm


@public
@never_cache
def healthz(request):
    """Liveness and database reachability, for load balancers and `make demo`."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@requires(Perm.HOME)
def home(request):
    user = request.user
    context = {
        "can_view_patients": user.has_perm_to(Perm.PATIENT_VIEW),
        "can_create_patients": user.has_perm_to(Perm.PATIENT_CREATE),
        "can_audit": user.has_perm_to(Perm.AUDIT_VIEW),
        "can_research": user.has_perm_to(Perm.RESEARCH_VIEW),
    }
    return render(request, "home.html", context)


@requires(Perm.HOME)
def banners_partial(request):
    """The banner strip alone, polled by every page so a new high-severity alert shows without a reload."""
    return render(request, "includes/banners_wrapper.html")
