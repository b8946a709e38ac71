"""Errors a service raises for people to read (already translated)."""


class ServiceError(Exception):
    """A rule refused the change; ``str(error)`` is the message to show.

    ``markup``, when set, is the same message as HTML with links to where it can be put right (a page
    flashes that instead).
    """

    markup = None


class NotFound(ServiceError):
    pass


class Conflict(ServiceError):
    """Someone else changed the same thing first (e.g. took the bed)."""
