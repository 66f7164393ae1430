#!/usr/bin/env python
"""Django's command-line entry point for this project."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # TensorFlow (training only) otherwise prints pages of start-up notices.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
