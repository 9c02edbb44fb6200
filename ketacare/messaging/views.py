from django.core.paginator import Paginator
from django.shortcuts import render

from ketacare.accounts.access import requires
from ketacare.accounts.roles import Perm
from ketacare.messaging.choices import MessageStatus
from ketacare.messaging.selectors import outbox_for
from ketacare.messaging.services import outbox_viewed

PAGE_SIZE = 50


@requires(Perm.CLINIC_CONFIGURE)
def outbox(request):
    status = request.GET.get("status", "")
    if status not in MessageStatus.values:
        status = ""
    page = Paginator(outbox_for(user=request.user, status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    outbox_viewed(actor=request.user, count=len(page.object_list))
    return render(request, "messaging/outbox.html", {"page": page, "status": status,
                                                     "statuses": MessageStatus.choices})
