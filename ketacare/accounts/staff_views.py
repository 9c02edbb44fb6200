from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect, render
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketacare.accounts import mfa, services
from ketacare.accounts.access import requires
from ketacare.accounts.models import User
from ketacare.accounts.roles import Perm
from ketacare.accounts.staff_forms import StaffChangeForm, StaffCreateForm


@requires(Perm.STAFF_MANAGE)
def staff_list(request):
    staff = (User.objects.filter(clinic_id=request.user.clinic_id)
             .annotate(has_mfa=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
             .order_by("-is_active", "last_name", "first_name"))
    return render(request, "accounts/staff_list.html", {
        "staff": staff, "mfa_for_all": mfa.clinic_requires_all(request.user.clinic_id)})


@requires(Perm.STAFF_MANAGE)
def staff_create(request):
    form = StaffCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.staff_create(actor=request.user, **form.cleaned_data)
        messages.success(request, f"{user.get_full_name()} can now sign in as {user.username}.")
        return redirect("accounts:staff")
    return render(request, "accounts/staff_form.html", {"form": form, "member": None},
                  status=422 if form.errors else 200)


@requires(Perm.STAFF_MANAGE)
def staff_edit(request, user_id: int):
    member = get_object_or_404(User, pk=user_id, clinic_id=request.user.clinic_id)
    form = StaffChangeForm(request.POST or None, initial={"role": member.role, "is_active": member.is_active})
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_update(actor=request.user, user=member, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved {member.get_full_name()}.")
            return redirect("accounts:staff")
    return render(request, "accounts/staff_form.html", {
        "form": form, "member": member, "member_mfa": mfa.confirmed_device(member) is not None,
    }, status=422 if form.errors else 200)
