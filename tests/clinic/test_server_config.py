"""gunicorn.conf.py: what each web worker does once it has loaded the application."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

# In a fresh process, as in a gunicorn worker after load_wsgi(): the settings are loaded, the
# URLconf not yet (Django imports it at the first request).
WORKER = """
import gc, runpy, sys
import django
django.setup()
before = "scheduling.api" in sys.modules
runpy.run_path("gunicorn.conf.py")["post_worker_init"](None)
print(before, "scheduling.api" in sys.modules, gc.get_freeze_count())
"""


def test_a_worker_freezes_what_it_loaded_at_start_up():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clinic.settings"}
    result = subprocess.run(
        [sys.executable, "-c", WORKER],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    before, after, frozen = result.stdout.split()[-3:]
    # The views are imported first, so that they are frozen too.
    assert (before, after) == ("False", "True")
    assert int(frozen) > 50_000
