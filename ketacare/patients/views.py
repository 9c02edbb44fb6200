from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.shortcuts import redirect, render

from ketacare.accounts.access import requires
from ketacare.accounts.roles import Perm
from ketacare.core import clock
from ketacare.core.forms import attach_errors
from ketacare.core.panels import panels_for
from ketacare.patients import selectors, services
from ketacare.patients.forms import PatientForm

PAGE_SIZE = 25


@requires(Perm.PATIENT_VIEW)
def patient_list(request):
    # The search term is sent by POST so that names never appear in URLs or access logs.
    query = request.POST.get("q", "").strip()[:100]
    page = Paginator(selectors.patients_search_for(user=request.user, query=query), PAGE_SIZE).get_page(
        request.POST.get("page") or request.GET.get("page"))
    services.patients_listed(actor=request.user, query=query, count=page.paginator.count, via="page")
    context = {"page": page, "query": query}
    if request.htmx and request.htmx.target == "patient-results":
        return render(request, "patients/patient_list.html#results", context)
    return render(request, "patients/patient_list.html", context)


@requires(Perm.PATIENT_VIEW)
def patient_detail(request, patient_id: int):
    patient = selectors.patient_get_for(user=request.user, patient_id=patient_id)
    services.patient_viewed(actor=request.user, patient=patient, via="chart")
    return render(request, "patients/patient_detail.html", {
        "patient": patient,
        "age": patient.age_on(clock.today()),
        "panels": panels_for(request, patient),
        "can_edit": request.user.has_perm_to(Perm.PATIENT_EDIT),
    })


@requires(Perm.PATIENT_CREATE)
def patient_create(request):
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        except IntegrityError:
            form.add_error("mrn", services.MRN_TAKEN)  # a concurrent registration took it after the check
        else:
            return redirect("patients:detail", patient_id=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "patient": None},
                  status=422 if form.errors else 200)


@requires(Perm.PATIENT_EDIT)
def patient_edit(request, patient_id: int):
    patient = selectors.patient_get_for(user=request.user, patient_id=patient_id)
    if request.method == "GET":
        services.patient_viewed(actor=request.user, patient=patient, via="edit-form")
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_update(actor=request.user, patient=patient, **form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        except IntegrityError:
            form.add_error("mrn", services.MRN_TAKEN)  # a concurrent registration took it after the check
        else:
            return redirect("patients:detail", patient_id=patient.pk)
    if form.is_bound:
        patient.refresh_from_db()  # validation copied the refused input onto it; the breadcrumb shows the stored name
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient},
                  status=422 if form.errors else 200)
