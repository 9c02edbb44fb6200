from django.urls import path

from ketacare.accounts import mfa_views, staff_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("mfa/", mfa_views.mfa_verify, name="mfa-verify"),
    path("mfa/setup/", mfa_views.mfa_setup, name="mfa-setup"),
    path("mfa/recovery-codes/", mfa_views.recovery_codes_renew, name="mfa-recovery-codes"),
    path("account/", mfa_views.account, name="account"),
    path("account/password/", mfa_views.password_change, name="password-change"),
    path("staff/mfa-setting/", mfa_views.mfa_setting, name="mfa-setting"),
    path("staff/<int:user_id>/mfa-reset/", mfa_views.staff_mfa_reset, name="staff-mfa-reset"),
    path("staff/", staff_views.staff_list, name="staff"),
    path("staff/new/", staff_views.staff_create, name="staff-create"),
    path("staff/<int:user_id>/", staff_views.staff_edit, name="staff-edit"),
]
