"""Locustfile `bench`: one GET endpoint with no think time, to measure how fast Locust can drive it."""

from __future__ import annotations

from typing import Any

from locust import constant, events, task

from alertdrill.locustfiles.users import AppUser

__all__ = ["BenchUser"]


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument("--alertdrill-path", default="/status", include_in_web_ui=False,
                        help="the GET path every user requests back to back")


class BenchUser(AppUser):
    """Requests ``--alertdrill-path`` back to back on one keep-alive connection, as the profiles' users do."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.path = str(getattr(self.environment.parsed_options, "alertdrill_path", "/status"))

    @task
    def hammer(self) -> None:
        self.client.get(self.path, name=self.path)
