"""The same reports stored by concurrent pushes and syncs: each is announced exactly once
(PostgreSQL, real threads; SQLite cannot show row locks)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from hcm.his.contract import HisNewReports, adapter_for
from hcm.notifications.models import Notification
from hcm.reports import services
from hcm.reports.models import CheckupReport, ExamResult

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite cannot show row locks"),
    pytest.mark.django_db(transaction=True),
]


def test_concurrent_stores_of_the_same_reports_announce_each_once(hospital, account):
    reports = adapter_for(hospital).reports_since(since=timezone.now() - timedelta(days=3))
    backwards = HisNewReports(reports.checkup_reports[::-1], reports.exam_results[::-1])  # another caller's order
    barrier = threading.Barrier(6)
    outcomes: list[services.StoreOutcome] = []
    errors: list[Exception] = []

    def store(batch: HisNewReports):
        try:
            barrier.wait()
            outcomes.append(services.reports_store(hospital=hospital, reports=batch))
        except Exception as error:  # a deadlock or a duplicate would show here
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=store, args=(reports if n % 2 else backwards,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(outcome.new for outcome in outcomes) == 5
    assert Notification.objects.filter(event="report_ready").count() == 5
    assert (
        CheckupReport.objects.filter(notified_at=None).count()
        == ExamResult.objects.filter(notified_at=None).count()
        == 0
    )


def test_concurrent_stores_of_two_versions_leave_the_newer_one(hospital, account):
    from dataclasses import replace

    reports = adapter_for(hospital).reports_since(since=timezone.now() - timedelta(days=3))
    services.reports_store(hospital=hospital, reports=reports)
    v1 = next(r for r in reports.checkup_reports if r.report_number == "TJ1")
    v2 = replace(v1, summary="复核：轻度脂肪肝。", updated_at=v1.updated_at + timedelta(minutes=5))
    barrier = threading.Barrier(6)
    outcomes: list[services.StoreOutcome] = []
    errors: list[Exception] = []

    def store(version):
        try:
            barrier.wait()
            outcomes.append(services.reports_store(hospital=hospital, reports=HisNewReports((version,), ())))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=store, args=(v2 if n % 2 else v1,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    report = CheckupReport.objects.get(number="TJ1")
    assert (report.summary, report.his_updated_at) == ("复核：轻度脂肪肝。", v2.updated_at)
    assert sum(outcome.stored + outcome.outdated for outcome in outcomes) == 6
