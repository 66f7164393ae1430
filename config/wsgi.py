"""The WSGI entry point gunicorn serves (config/gunicorn.py)."""

import gc
import os
from typing import Any

from django.core.signals import request_finished
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Each web process ranks one user at a time: BLAS threads only contend with the other
# processes for the cores. Set before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
application = get_wsgi_application()
# Everything imported so far (Django, numpy, pandas, pyarrow, scipy: some 150,000 objects) lives as
# long as the process. Left to the collector, each full collection walks them all while the worker
# answers nothing; frozen, a full collection walks only what requests made since.
gc.freeze()

# The first requests load more that lives as long as the process (compiled templates, the model's
# factors, the explore data, clients): frozen too once WARM_REQUESTS have been served, or each full
# collection walks them again, a pause of 10-20 ms in the middle of some request.
WARM_REQUESTS = 200
_served = 0


def _freeze_after_warm_up(**kwargs: Any) -> None:
    global _served
    _served += 1
    if _served >= WARM_REQUESTS:
        request_finished.disconnect(_freeze_after_warm_up)
        gc.collect()  # not to freeze what is already garbage
        gc.freeze()


request_finished.connect(_freeze_after_warm_up)
