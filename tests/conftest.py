"""Shared test configuration: the alertdrill pytest plugin provides the session stack fixtures."""
