"""recommender.dispatch, the one place that sends the recommender's work to Celery."""

from tests.fresh_interpreter import run_fresh


def test_a_web_process_finds_the_tasks_it_sends_though_neither_it_nor_the_services_import_them():
    code = (
        "import sys, recommender.services, recommender.dispatch, recommender.admin\n"
        "assert 'recommender.tasks' not in sys.modules, 'imported recommender.tasks'\n"
        "print(recommender.dispatch._task('recommender.train_version').name)"
    )
    assert run_fresh(code, web_process=True) == "recommender.train_version"
