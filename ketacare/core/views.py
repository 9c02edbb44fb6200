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
    from ketacare.core.home import cards_for

    return render(request, "home.html", {"cards": cards_for(request.user)})


@requires(Perm.HOME)
def banners_partial(request):
    """The banner strip alone, polled by every page so a new high-severity alert shows without a reload."""
    return render(request, "includes/banners_wrapper.html")
