"""Synthetic data for the quick start, the tests and the benchmark: the demo clinic
(``manage.py seed_demo``) and the million-patient scale seed (``manage.py seed_scale``).

Installed only where the demo, the tests or the benchmark run (``DEVTOOLS=1``), never in a
deployment. It sits on the top floor: it may import every domain app; none imports it.
"""
