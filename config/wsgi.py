"""The WSGI entry point gunicorn serves (config/gunicorn.py)."""

import gc
import os

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
