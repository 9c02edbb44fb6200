from django.contrib import auth
from django.db import DatabaseError, connection, transaction
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ketacare.accounts import mfa, throttle
from ketacare.accounts.access import public, requires
from ketacare.accounts.forms import LoginForm, client_ip
from ketacare.accounts.mfa_views import remember_next
from ketacare.accounts.middleware import second_factor_step
from ketacare.accounts.models import User
from ketacare.accounts.roles import Perm
from ketacare.accounts.usernames import normalize_username, username_key
from ketacare.audit.models import AuditAction
from ketacare.audit.services import audit_record
from ketacare.core.home import cards_for
from ketacare.core.policy import NO_PUBLISHED_THRESHOLD, policy_values


@public
def login(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST":
        username = normalize_username(request.POST.get("username", ""))[:150]
        ip = client_ip(request)
        if form.is_valid():
            user = form.get_user()
            with transaction.atomic():
                auth.login(request, user)
                throttle.login_failures_clear(username)
                step = mfa.next_step(request)
                audit_record(actor=user, action=AuditAction.LOGIN_SUCCEEDED, target=user,
                             data={"second_factor": step} if step else {})
            if step is not None:
                # The password was right; no page opens until the second factor is verified (or enrolled).
                remember_next(request, request.GET.get("next"))
                return redirect("accounts:mfa-verify" if step == mfa.VERIFY else "accounts:mfa-setup")
            return redirect(request.GET.get("next") if _safe_next(request) else "home")
        if username:
            _login_failure_audit(username, ip, locked=form.locked)
    return render(request, "accounts/login.html", {"form": form})


def _login_failure_audit(username: str, ip: str | None, *, locked: throttle.Lock | None) -> None:
    """A known username's failures belong to that user's clinic, so only its auditors see them. A name that matches
    no account is kept only as a keyed digest, in no clinic, and shown to no clinic's auditors (it may be a password
    typed into the wrong box)."""
    known = User.objects.filter(username=username).values_list("clinic_id", flat=True)
    is_known = known.exists()
    clinic_id = known.first() if is_known else None
    shown_name = username if is_known else ""
    data = {} if is_known else {"username_key": username_key(username)}
    with transaction.atomic():
        if locked is not None:
            audit_record(actor=None, username=shown_name, clinic_id=clinic_id, action=AuditAction.LOGIN_THROTTLED,
                         data={**data, "by": str(locked)})
        else:
            throttle.login_failure_record(username, ip)
            audit_record(actor=None, username=shown_name, clinic_id=clinic_id, action=AuditAction.LOGIN_FAILED,
                         data=data)


def _safe_next(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.GET.get("next")
    return bool(target) and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())


@require_POST
@second_factor_step
@requires(Perm.HOME)
def logout(request):
    with transaction.atomic():
        audit_record(actor=request.user, action=AuditAction.LOGGED_OUT, target=request.user)
        auth.logout(request)
    return redirect("accounts:login")


# The signed-in frame every page shares: the start page, the banner strip, and the health check.

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
    checklist = policy_values() if request.user.has_perm_to(Perm.CLINIC_CONFIGURE) else []
    return render(request, "home.html", {"cards": cards_for(request.user), "policy_checklist": checklist,
                                         "no_published_threshold": NO_PUBLISHED_THRESHOLD})


@requires(Perm.HOME)
def banners_partial(request):
    """The banner strip alone, polled by every page so a new high-severity alert shows without a reload."""
    return render(request, "includes/banners_wrapper.html")
