"""Stats parsing: Locust's CSV, the request buckets' windows and status codes, the ledger report (no stack)."""

from __future__ import annotations

import json

import pytest

from alertdrill.errors import ExpectationError, LoadError
from alertdrill.locustfiles import Ack, LedgerReport, LostWritesError, RequestBuckets, read_ledger
from alertdrill.locustfiles.buckets import BucketRecorder, buckets_line
from alertdrill.locustfiles.csvstats import parse_stats_csv
from alertdrill.locustfiles.results import percentile, round_response_time

HEADER = ("Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
          "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,"
          "99.99%,100%")
ROWS = [
    "GET,/helloworld,120,6,7,9.5,1,80,40,24.0,1.2,7,8,9,10,20,30,60,70,80,80,80",
    "POST,/items,10,0,60,61.0,50,90,10,2.0,0.0,60,61,62,70,80,85,90,90,90,90,90",
    "GET,/status,0,0,0,0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A",
    ",Aggregated,130,6,8,13.5,1,90,37,26.0,1.2,8,9,10,11,30,62,80,88,90,90,90",
]


def test_locust_stats_csv_is_parsed_per_endpoint_and_aggregated(tmp_path):
    path = tmp_path / "locust_stats.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n")
    endpoints, total = parse_stats_csv(path)
    assert list(endpoints) == ["GET /helloworld", "POST /items", "GET /status"]
    hello = endpoints["GET /helloworld"]
    assert (hello.requests, hello.failures, hello.rps, hello.p50, hello.p95, hello.p99) == (120, 6, 24.0, 7, 30, 70)
    assert hello.failure_ratio == 0.05
    assert endpoints["GET /status"].p99 is None
    assert (total.key, total.requests, total.p95, total.max_ms) == ("Aggregated", 130, 62, 90)


def test_a_missing_or_foreign_csv_is_a_load_error(tmp_path):
    with pytest.raises(LoadError, match="Locust wrote no stats CSV"):
        parse_stats_csv(tmp_path / "none.csv")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(LoadError, match="is not a Locust stats CSV: no column"):
        parse_stats_csv(tmp_path / "x.csv")


def test_response_times_round_and_percentiles_follow_locust():
    assert [round_response_time(x) for x in (0.4, 99.4, 104, 1049, 12345)] == [0, 99, 100, 1000, 12000]
    histogram = {10: 90, 100: 9, 1000: 1}
    assert percentile(histogram, 0.5) == 10
    assert percentile(histogram, 0.95) == 100
    assert percentile(histogram, 0.99) == 1000  # Locust's rule: at most int(n * q) requests may be above
    assert percentile(histogram, 1.0) == 1000
    assert percentile({}, 0.5) is None


def _timeline(tmp_path, cells_by_line):
    path = tmp_path / "buckets.jsonl"
    with path.open("w") as out:
        for at, cells in cells_by_line:
            out.write(buckets_line(at=at, covered_to=at, resolution=0.25, cells=cells))
    return path


def test_windows_count_requests_status_codes_and_percentiles(tmp_path):
    recorder = BucketRecorder(resolution=0.25)
    for i in range(40):  # 100.00 .. 109.75: /helloworld 200 fast, then 503 during [105, 107)
        at = 100 + i * 0.25
        status = 503 if 105 <= at < 107 else 200
        recorder.record(at=at, method="GET", name="/helloworld", status=status, response_ms=3 if status == 200 else 40,
                        failed=status != 200)
        recorder.record(at=at, method="POST", name="/items", status=201, response_ms=12, failed=False)
    first = recorder.drain()
    assert len(recorder) == 0
    worker = BucketRecorder()
    worker.record(at=106.1, method="GET", name="/helloworld", status=0, response_ms=5000, failed=True)
    recorder.merge(worker.drain())  # a worker's cells merged by the master
    path = _timeline(tmp_path, [(110.0, first), (110.5, recorder.drain())])
    with path.open("a") as out:
        out.write('{"at": 111, "covered_to": 111, "cel')  # a line still being written is ignored

    buckets = RequestBuckets.read(path)
    assert buckets.covered_to == 110.5
    assert buckets.requests == 81
    assert buckets.first_request_at() == 100.0
    fault = buckets.window(105, 107)
    hello = fault.endpoint("/helloworld")
    assert hello.status_counts == {0: 1, 503: 8}
    assert hello.failures == 9 and hello.failure_ratio == 1.0
    assert fault.status_ratio(503, endpoint="/helloworld") == pytest.approx(8 / 9)
    assert fault.endpoint("POST /items").status_counts == {201: 8}
    assert fault.requests == 17 and fault.rps == pytest.approx(8.5)
    assert hello.p50 == 40 and hello.p99 == 5000
    before = buckets.window(100, 105)
    assert before.status_counts == {200: 20, 201: 20} and before.failures == 0
    assert before.endpoint("/never-called").requests == 0
    with pytest.raises(LoadError, match="ambiguous"):
        _ambiguous()


def _ambiguous():
    recorder = BucketRecorder()
    recorder.record(at=1, method="GET", name="/items", status=200, response_ms=1, failed=False)
    recorder.record(at=1, method="POST", name="/items", status=201, response_ms=1, failed=False)
    buckets = RequestBuckets()
    buckets.add_line({"covered_to": 2, "resolution": 0.25, "cells": recorder.drain()})
    buckets.window(0, 2).endpoint("/items")


def test_ledger_report_names_lost_ids_and_is_an_assertion(tmp_path):
    path = tmp_path / "ledger.jsonl"
    path.write_text("".join(json.dumps({"id": i, "name": f"n{i}", "value": i, "at": 1.0 + i}) + "\n"
                            for i in range(1, 4)) + '{"id": 9')
    acks = read_ledger(path)
    assert [a.id for a in acks] == [1, 2, 3]
    report = LedgerReport(acknowledged=3, missing=[acks[1]], mismatched=[(acks[2], {"id": 3, "name": "x", "value": 3})])
    assert report.lost_ids == [2, 3] and not report.ok
    assert report.line() == "ledger: 2 of 3 acknowledged writes lost (1 missing, 1 with other data): ids 2, 3"
    with pytest.raises(LostWritesError) as exc:
        report.raise_for_loss()
    assert isinstance(exc.value, AssertionError) and isinstance(exc.value, ExpectationError)
    assert exc.value.report is report
    LedgerReport(acknowledged=3).raise_for_loss()
    many = LedgerReport(acknowledged=30, missing=[Ack(id=i, name="n", value=0, at=0) for i in range(25)])
    assert many.line().endswith("ids 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19 and 5 more")
    assert read_ledger(tmp_path / "none.jsonl") == []
