import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Each web process ranks one user at a time: BLAS threads only contend with the other
# processes for the cores. Set before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
application = get_wsgi_application()
# Everything imported so far (Django, numpy, pandas, pyarrow, scipy: some 150,000 objects) lives as
# long as the process. Left to the collector, each full collection walked them all: 100-300 ms
# in which the worker answered nothing (part of the pages' slow tail under load, bench/README.md). Frozen,
# a full collection walks only what requests made since (a few ms).
gc.freeze()
