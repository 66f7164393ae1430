"""The engine's import boundary: every module of recommender/engine, training included, loads no Django."""

import pkgutil

import recommender.engine
from tests.fresh_interpreter import packages_loaded_by

ENGINE_MODULES = sorted(f"recommender.engine.{m.name}" for m in pkgutil.iter_modules(recommender.engine.__path__))


def test_the_engine_has_the_modules_that_train():
    assert {"recommender.engine.model", "recommender.engine.training"} <= set(ENGINE_MODULES)


def test_importing_every_engine_module_in_a_fresh_interpreter_loads_no_django():
    env_free_of_django = {"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2"}
    assert packages_loaded_by(ENGINE_MODULES, among=("django", "celery", "redis"), env=env_free_of_django) == []
