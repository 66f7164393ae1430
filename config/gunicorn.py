"""gunicorn's settings (Procfile: `gunicorn config.wsgi -c python:config.gunicorn`).

Its own lines (start-up, worker boots, the access log) in the project's one format
(config/log_context.py); an access line carries the request's id like Django's lines.
"""

import os

from config.log_context import logging_config

accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
logconfig_dict = logging_config(os.environ.get("LOG_LEVEL") or "INFO", gunicorn=True)
# gunicorn's control socket ($HOME/.gunicorn/gunicorn.ctl) would be one path for every gunicorn of the
# machine (make stack beside a bench, say); nothing here uses it.
control_socket_disable = True
