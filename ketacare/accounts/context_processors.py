from django.urls import reverse

from ketacare.accounts.navigation import NAV


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(request, "mfa_pending", False):
        return {"nav_items": [], "mfa_pending": getattr(request, "mfa_pending", False)}
    path = request.path
    items = []
    for item in NAV:
        if user.has_perm_to(item.perm):
            url = reverse(item.url_name)
            active = path == url if url == "/" else path.startswith(url)
            items.append({"label": item.label, "url": url, "active": active})
    return {"nav_items": items}
