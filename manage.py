#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    if sys.argv[1:2] == ["makemigrations"]:
        # Comparing models with migrations serves nothing: on an unconfigured checkout it runs
        # with the quick-start settings instead of refusing for want of a SECRET_KEY.
        os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
