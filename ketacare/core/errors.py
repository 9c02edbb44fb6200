"""Domain errors: each has a stable `code` and the HTTP status the API maps it to."""


class DomainError(Exception):
    code = "domain_error"
    http_status = 400

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.__doc__ or self.code)
        self.details = details


class NotFound(DomainError):
    """Not found."""

    code = "not_found"
    http_status = 404


class PermissionDenied(DomainError):
    """You do not have permission to do this."""

    code = "permission_denied"
    http_status = 403


class Conflict(DomainError):
    """The request conflicts with the record's current state."""

    code = "conflict"
    http_status = 409
