"""Production settings with the scale benchmark's floor view; only `make bench-scale` uses this."""

from bench.settings import *  # noqa: F403

ROOT_URLCONF = "bench.scale.urls"
