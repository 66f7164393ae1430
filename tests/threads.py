"""Race tests' helper: run work in threads released at once, each with its own database connection."""

import threading
from collections.abc import Callable

from django.db import connection


def run_together(work: Callable[[int], object], n: int) -> list[BaseException]:
    """Run work(i) for i in range(n) in n threads released at once; return what they raised."""
    start = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait()
            work(i)
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connection.close()  # each thread opened its own

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
