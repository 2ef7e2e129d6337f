import re
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command


@pytest.mark.django_db
def test_make_run_prints_every_login_the_readme_tells_you_to_try():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    to_try = readme.split("What to try with the demo data", 1)[1].split("\n## ", 1)[0]
    addresses = set(re.findall(r"`([\w.]+@spa\.example)`", to_try))
    output = StringIO()

    call_command("seed_demo", "--allow-production", stdout=output)

    assert "dara@spa.example" in addresses  # the README's list is the one read here
    printed = set(re.findall(r"[\w.]+@spa\.example", output.getvalue()))
    assert addresses <= printed, f"not printed: {sorted(addresses - printed)}"
