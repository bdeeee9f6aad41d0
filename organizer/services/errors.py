"""Domain errors the views translate into messages and status codes."""


class DomainError(Exception):
    """Base class: a rule of the domain refused the operation."""


class NotAllowed(DomainError):
    """The user may not do this here (a 403 page)."""


class NotFound(DomainError, LookupError):
    """No such thing, or one the user may not know exists (a 404 page)."""


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
    """The thing is in a state (e.g. "cancelled", "past") from which this change is impossible."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


# Input and organizations
class InvalidInput(DomainError):
    """Input a form should already have refused: field name -> message in the user's language."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))  # field names: messages are lazy, rendered later
        self.errors = errors


class AlreadyMember(DomainError):
    pass


class InvitationUnavailable(DomainError):
    """The invitation was revoked, already used by someone else, or sent to another address."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Accounts
class EmailTaken(DomainError):
    """Another account already uses this address (compared without regard to case)."""


class WrongPassword(DomainError):
    pass


class InvalidAccountData(DomainError, ValueError):
    """A value broke an account rule the form should have caught first."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
