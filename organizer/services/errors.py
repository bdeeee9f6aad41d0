"""Domain errors the views translate into messages and status codes."""


class DomainError(Exception):
    """Base class: a rule of the domain refused the operation."""


class NotAllowed(DomainError):
    pass


class AlreadySignedUp(DomainError):
    def __init__(self, signup) -> None:
        super().__init__("already signed up")
        self.signup = signup


class SignupClosed(DomainError):
    """The action is not open for sign-ups (draft, cancelled, over, or full with no waitlist)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LastOwnerError(DomainError):
    pass


class InvalidTransition(DomainError):
    pass
