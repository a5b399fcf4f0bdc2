"""Errors every remote-system port raises, so callers know whether a retry can help."""

from __future__ import annotations


class RemoteError(Exception):
    """Base of failures talking to the ERP, CRM, commerce platform or payment provider. `remote`
    names the system (`ports.circuits.REMOTES`) once its circuit breaker or its adapter has said
    which; "" until then."""

    def __init__(self, *args: object, remote: str = "") -> None:
        super().__init__(*args)
        self.remote = remote


class RemoteUnavailable(RemoteError):
    """Raised when the remote system could not be reached or answered with a transient failure
    (timeout, 429, 5xx, open circuit). The same call may succeed later."""

    #: Seconds after which the remote system asked to be called again, when it said so.
    retry_after: float | None = None


class RemoteRejected(RemoteError):
    """Raised when the remote system refused the request for good (4xx other than 429).
    Retrying the same call will not help."""
