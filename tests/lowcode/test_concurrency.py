"""Two concurrent transitions of one row: exactly one wins (PostgreSQL, real threads)."""

import threading

import pytest
from django.db import connection

from hcm.content.models import Article
from hcm.lowcode.models import TransitionLog
from hcm.lowcode.transitions import TransitionRefused, transition_apply
from tests.conftest import make_hospital
from tests.factories import make_row

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite cannot show row locks")


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishes_of_one_article_succeed_exactly_once():
    hospital = make_hospital("race")
    article = make_row(Article, hospital, title="t", body="b")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def publish():
        try:
            barrier.wait()
            transition_apply(obj=article, name="publish", actor=None)
            outcomes.append("ok")
        except TransitionRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=publish) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["ok"] + ["refused"] * 7
    assert TransitionLog.objects.filter(transition="publish").count() == 1
