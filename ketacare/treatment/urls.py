from django.urls import path

from ketacare.treatment import views

app_name = "treatment"
urlpatterns = [
    path("board/", views.board, name="board"),
    path("board/sessions/<int:session_id>/vitals/", views.board_vitals, name="board-vitals"),
    path("patients/<int:patient_id>/courses/new/", views.course_create, name="course-create"),
    path("courses/<int:course_id>/", views.course_detail, name="course-detail"),
    path("courses/<int:course_id>/reschedule/", views.course_reschedule, name="course-reschedule"),
    path("courses/<int:course_id>/end/", views.course_end, name="course-end"),
    path("sessions/<int:session_id>/", views.session_detail, name="session-detail"),
    path("sessions/<int:session_id>/transition/", views.session_transition, name="session-transition"),
    path("sessions/<int:session_id>/pre-dose/", views.session_predose, name="session-predose"),
    path("sessions/<int:session_id>/dose-order/", views.dose_order_create, name="dose-order"),
    path("sessions/<int:session_id>/administrations/", views.dose_administer, name="dose-administer"),
    path("sessions/<int:session_id>/infusion-end/", views.infusion_end, name="infusion-end"),
    path("sessions/<int:session_id>/vitals/", views.vitals_create, name="vitals-create"),
    path("sessions/<int:session_id>/side-effects/", views.side_effects_create, name="side-effects-create"),
    path("sessions/<int:session_id>/adverse-events/", views.adverse_event_create, name="adverse-event-create"),
    path("adverse-events/<int:event_id>/resolve/", views.adverse_event_resolve, name="adverse-event-resolve"),
    path("sessions/<int:session_id>/discharge/", views.discharge_criteria, name="discharge-criteria"),
    path("sessions/<int:session_id>/note/", views.session_note, name="session-note"),
    path("sessions/<int:session_id>/addenda/", views.addendum_create, name="addendum-create"),
    path("sessions/<int:session_id>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
    path("sessions/<int:session_id>/rems-enrollment/", views.rems_enrollment_create, name="rems-enrollment"),
    path("sessions/<int:session_id>/measure/", views.session_measure, name="session-measure"),
    path("rems/", views.rems_board, name="rems-board"),
    path("rems/forms/<int:form_id>/", views.rems_form_detail, name="rems-form"),
    path("rems/forms/<int:form_id>/pdf/", views.rems_form_pdf, name="rems-form-pdf"),
    path("rems/forms/<int:form_id>/submit/", views.rems_form_submit, name="rems-form-submit"),
    path("rems/settings/", views.rems_settings, name="rems-settings"),
    path("protocols/", views.protocol_list, name="protocols"),
    path("protocols/edit/", views.protocol_edit, name="protocol-edit"),
]
