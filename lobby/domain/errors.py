"""Domain errors: a stable code plus parameters; views turn them into messages."""


class DomainError(Exception):
    """Something the caller asked for cannot be done; `code` names what."""

    status = 400

    def __init__(self, code: str, /, field: str | None = None, **params):
        super().__init__(code)
        self.code = code
        self.field = field
        self.params = params

    def __repr__(self):
        return f"{type(self).__name__}({self.code!r}, field={self.field!r}, {self.params!r})"


class ValidationError(DomainError):
    status = 422


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    """The queue is not in a state that allows this (409)."""

    status = 409


class RequestExpired(DomainError):
    """The request outlived the server's time limit before it could save: its caller has most
    likely given up waiting, so nothing is saved (503); a retry with the same key is safe."""

    status = 503

    def __init__(self):
        super().__init__("request_expired")


class IllegalTransition(Conflict):
    def __init__(self, current: str, target: str):
        super().__init__("illegal_transition", current=current, target=target)


class FormInvalid(ValidationError):
    """Several fields are wrong; `errors` maps each field to its error code."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("form_invalid")
        self.errors = errors
