"""Exceptions that the request handlers turn into JSON responses.

They never leave the app: :mod:`handlers` maps them to HTTP status codes. Errors that do leave the
app's boundary (bad configuration at start) use :mod:`alertdrill.errors` instead.
"""

from __future__ import annotations

__all__ = ["DependencyUnavailable", "InjectedFault"]


class DependencyUnavailable(Exception):
    """Postgres or Redis could not serve the request; answered as 503 naming the dependency."""

    def __init__(self, dependency: str, detail: str, *, dependencies: tuple[str, ...] = ()) -> None:
        super().__init__(f"{dependency} unavailable: {detail}")
        self.dependency = dependency
        self.detail = detail
        # Every dependency that failed for this request (e.g. both stores for /helloworld).
        self.dependencies = dependencies or (dependency,)


class InjectedFault(Exception):
    """Raised by the fault switch so an injected error goes through the same path as a real one."""

    def __init__(self) -> None:
        super().__init__("injected fault")
