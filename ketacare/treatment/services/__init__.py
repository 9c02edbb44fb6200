"""Writing treatment records, one module per step. Every service is keyword-only, runs in one transaction, asks the
domain for the rule, and writes its audit row in the same transaction. Sessions are locked (SELECT ... FOR UPDATE)
while they change. Import from here: `from ketacare.treatment import services`.
"""

from ketacare.treatment.services._common import (  # noqa: F401
    DOSE_STEP_TARGETS,
    FUTURE_TOLERANCE,
    MONITORED_STATES,
    VITALS_STATES,
    AlreadyCleared,
    CourseNotCleared,
    DoseOverrideRequired,
    DosingBlocked,
    PmfIncomplete,
    SessionStateConflict,
    _aware,
    _lock,
    _not_future,
    _same_clinic,
)
from ketacare.treatment.services.configuration import (  # noqa: F401
    REMS_FIELDS,
    protocol_configure,
    rems_configure,
    rems_enrollment_record,
)
from ketacare.treatment.services.courses import (  # noqa: F401
    course_create,
    course_end,
    course_reschedule,
)
from ketacare.treatment.services.dosing import (  # noqa: F401
    _previous_dose_mg,
    dose_administer,
    dose_default_mg,
    dose_order,
    infusion_end,
)
from ketacare.treatment.services.measures import (  # noqa: F401
    session_alert_acknowledge,
    session_measure_record,
    suicide_risk_clear,
)
from ketacare.treatment.services.monitoring import (  # noqa: F401
    VITALS_FIELDS,
    adverse_event_record,
    adverse_event_resolve,
    side_effects_record,
    vitals_overdue_check,
    vitals_overdue_check_all,
    vitals_overdue_check_clinic,
    vitals_record,
)
from ketacare.treatment.services.notes import (  # noqa: F401
    discharge_criteria_record,
    pmf_exported,
    pmf_submit,
    session_addendum_add,
    session_note_save,
    session_sign,
    session_viewed,
)
from ketacare.treatment.services.sessions import (  # noqa: F401
    PREDOSE_FIELDS,
    _course_complete_if_done,
    _pmf_create_if_required,
    _set_state,
    predose_record,
    session_transition,
    transition_perm,
)
