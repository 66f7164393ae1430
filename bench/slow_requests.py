"""gunicorn hooks that log each request slower than SLOW_MS (40) with what it did: a diagnosis aid.

    GUNICORN_CMD_ARGS="-c bench/slow_requests.py" flock /tmp/bench.lock .venv/bin/python bench/load_bench.py --reuse

gunicorn reads GUNICORN_CMD_ARGS, so the benches need no option for it. Each worker appends to
$SLOW_LOG_DIR/slow-<pid>.log (default /tmp) one line per slow request: wall and CPU ms, path,
queries (count/ms, the first 60 characters of each), cache calls (count/ms) and the keys it wrote
(a rebuilt section shows as set:section:...), and the garbage collections during it (generation,
ms, objects collected). A request with a full (generation 2) collection is logged however fast.
It patches Django's cursor and django-redis's client in each worker: not for production.
"""

import gc
import os
import time

SLOW_MS = float(os.environ.get("SLOW_MS", "40"))
_state = {}


def _log(line):
    with open(f"{os.environ.get('SLOW_LOG_DIR', '/tmp')}/slow-{os.getpid()}.log", "a") as f:
        f.write(line + "\n")


def post_fork(server, worker):
    _state.update(gc_ms=0.0, gc_gens=[], gc_start=None, n=0)

    def on_gc(phase, info):
        if phase == "start":
            _state["gc_start"] = time.perf_counter()
        elif _state["gc_start"] is not None:
            ms = (time.perf_counter() - _state["gc_start"]) * 1000
            _state["gc_ms"] += ms
            _state["gc_gens"].append((info["generation"], round(ms, 1), info.get("collected")))
            _state["gc_start"] = None

    gc.callbacks.append(on_gc)

    from django.db.backends import utils

    orig_execute = utils.CursorWrapper._execute

    def _execute(self, sql, params, *ignored):
        t = time.perf_counter()
        try:
            return orig_execute(self, sql, params, *ignored)
        finally:
            _state["q"] += 1
            _state["q_ms"] += (time.perf_counter() - t) * 1000
            _state["sqls"].append(sql[:60])

    utils.CursorWrapper._execute = _execute

    from django_redis.client.default import DefaultClient

    for name in ("get", "get_many", "set", "set_many", "add", "incr", "delete", "delete_many", "touch", "expire"):
        orig = getattr(DefaultClient, name)

        def wrapper(self, *a, __orig=orig, __name=name, **kw):
            t = time.perf_counter()
            try:
                result = __orig(self, *a, **kw)
                return result
            finally:
                _state["c"] += 1
                _state["c_ms"] += (time.perf_counter() - t) * 1000
                key = a[0] if a else ""
                if __name in ("set", "add", "set_many", "delete", "incr"):
                    _state["writes"].append(f"{__name}:{str(key)[:40]}")

        setattr(DefaultClient, name, wrapper)


def pre_request(worker, req):
    now = time.perf_counter()
    _state.update(t0=now, gc_ms=0.0, gc_gens=[], q=0, q_ms=0.0, c=0, c_ms=0.0, writes=[], sqls=[])
    _state["cpu0"] = time.process_time()


def post_request(worker, req, environ, resp):
    now = time.perf_counter()
    ms = (now - _state["t0"]) * 1000
    cpu = (time.process_time() - _state["cpu0"]) * 1000
    _state["n"] += 1
    if ms >= SLOW_MS or (_state["gc_gens"] and any(g == 2 for g, _, _ in _state["gc_gens"])):
        _log(
            f"{time.time():.3f} n={_state['n']} {ms:.1f}ms cpu={cpu:.1f} {req.path} "
            f"q={_state['q']}/{_state['q_ms']:.1f}ms "
            f"cache={_state['c']}/{_state['c_ms']:.1f}ms gc={_state['gc_ms']:.1f}ms {_state['gc_gens']} "
            f"writes={_state['writes']} sqls={_state['sqls'] if ms >= SLOW_MS else ''}"
        )
    if _state["n"] % 5000 == 0:
        _log(f"{time.time():.3f} n={_state['n']} count {gc.get_count()} objects {len(gc.get_objects())}")
