"""Locustfile `steady`: the realistic mix (see users.SteadyUser) at a constant number of users."""

from alertdrill.locustfiles.users import SteadyUser

__all__ = ["SteadyUser"]
