from django.urls import path

from ketacare.accounts import staff_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("staff/", staff_views.staff_list, name="staff"),
    path("staff/new/", staff_views.staff_create, name="staff-create"),
    path("staff/<int:user_id>/", staff_views.staff_edit, name="staff-edit"),
]
