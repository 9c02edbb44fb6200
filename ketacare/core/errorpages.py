from django.shortcuts import render


def forbidden(request, exception=None):
    return render(request, "error.html", {"status": 403, "message": "You do not have permission to open this page."},
                  status=403)


def not_found(request, exception=None):
    return render(request, "error.html", {"status": 404, "message": "Not found."}, status=404)
