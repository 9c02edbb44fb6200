"""What the portal registers with other apps when Django starts (PortalConfig.ready)."""


def connect() -> None:
    from ketacare.portal import services
    from ketacare.treatment.links import register_sessions_changed

    register_sessions_changed(services.on_sessions_changed)
    _register_periodic()


def _register_periodic() -> None:
    """The worker runs these (ketacare.worker.periodic, once that app is installed)."""
    import datetime as dt

    try:
        from ketacare.worker import periodic
    except ImportError:  # the worker app is not installed: nothing runs the jobs
        return
    from ketacare.portal import services

    periodic.register("portal.send_due_invitations", dt.timedelta(minutes=1), services.send_due_invitations)
    periodic.register("portal.schedule_sync_all", dt.timedelta(hours=1), services.schedule_sync_all)
    periodic.register("portal.flag_missed", dt.timedelta(hours=1), services.flag_missed_in_a_row)
