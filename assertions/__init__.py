"""Observation: Prometheus and Alertmanager clients, the notification sink, timelines, expectations.

Modules (imported one by one; this package imports nothing so the sink process starts fast):
``prometheus``, ``alertmanager`` (+ ``routing``), ``sink`` (+ ``notifications``), ``timeline``,
``expectations`` (+ ``deadlines``, ``diagnostics``), ``promql``, ``durations``, ``httpapi``.
"""
