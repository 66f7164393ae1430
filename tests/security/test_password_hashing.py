"""Production hashes new passwords with Argon2; older PBKDF2 hashes still verify and are upgraded."""

import json

from django.conf import settings

from tests.security.production import run_python

PROBE = """
import json
from django.contrib.auth.hashers import check_password, make_password
new = make_password("correct horse battery staple")
old = make_password("correct horse battery staple", hasher="pbkdf2_sha256")
upgraded = []
ok = check_password("correct horse battery staple", old, setter=upgraded.append)
print(json.dumps({"new": new.split("$")[0], "new_ok": check_password("correct horse battery staple", new),
                  "wrong_ok": check_password("wrong", new), "old_ok": ok, "upgraded": bool(upgraded)}))
"""


def test_production_hashes_with_argon2_and_upgrades_older_hashes():
    result = run_python(PROBE)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer == {"new": "argon2", "new_ok": True, "wrong_ok": False, "old_ok": True, "upgraded": True}


def test_the_tests_keep_their_fast_hasher():
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]
