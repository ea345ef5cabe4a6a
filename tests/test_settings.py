"""Environment-driven settings, checked in fresh processes as production would start them."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7#production-secret-key-that-is-long-and-random-enough-9f3k2l1m0n",
    "ALLOWED_HOSTS": "hcm.example.org",
    "HCM_FIELD_KEYS": "bXlfZmllbGRfa2V5X2Zvcl90ZXN0c18zMl9ieXRlcyE=",
    "HCM_LOOKUP_KEY": "lookup-key-of-the-production-test-0123456789",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
}
PRODUCTION_VARIABLES = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "HCM_DATABASE_CACHE", "HCM_TRUSTED_PROXIES"}


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_VARIABLES}
    clean["DJANGO_SETTINGS_MODULE"] = "hcm.settings"
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env={**clean, **env}, capture_output=True, text=True
    )


def setting(expression: str, env: dict) -> str:
    result = manage("shell", "-c", f"from django.conf import settings; print({expression})", env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_check_deploy_is_clean_with_production_variables(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, "HCM_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_secret_key_is_required_when_debug_is_off(tmp_path):
    result = manage("check", env={"DEBUG": "0", "HCM_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_identity_keys_are_required_when_debug_is_off(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "HCM_FIELD_KEYS"}
    result = manage("check", env={**env, "HCM_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0 and "HCM_FIELD_KEYS" in result.stderr


def test_sqlite_by_default_with_wal_immediate_and_busy_timeout(tmp_path):
    env = {"DEBUG": "1", "HCM_VAR_DIR": str(tmp_path)}
    assert setting("settings.DATABASES['default']['ENGINE']", env) == "django.db.backends.sqlite3"
    options = setting("settings.DATABASES['default']['OPTIONS']", env)
    assert "'transaction_mode': 'IMMEDIATE'" in options and "'timeout': 20" in options and "WAL" in options
    assert setting("settings.Q_CLUSTER.get('orm')", env) == "default"
    assert setting("settings.LANGUAGE_CODE", env) == "zh-hans"


def test_database_url_and_redis_url_switch_backends(tmp_path):
    env = {
        "DEBUG": "1",
        "HCM_VAR_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/hcm",
        "REDIS_URL": "redis://127.0.0.1:6379/1",
    }
    assert setting("settings.DATABASES['default']['ENGINE']", env) == "django.db.backends.postgresql"
    assert setting("settings.Q_CLUSTER.get('redis')", env) == "redis://127.0.0.1:6379/1"
    assert setting("settings.CACHES['default']['BACKEND']", env) == "django.core.cache.backends.redis.RedisCache"


def test_production_refuses_to_start_without_a_cache_every_process_shares(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "REDIS_URL"}
    result = manage("check", env={**env, "HCM_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "REDIS_URL" in result.stderr
    assert "HCM_DATABASE_CACHE" in result.stderr


def test_a_database_cache_is_the_shared_cache_without_redis(tmp_path):
    env = {**{k: v for k, v in PRODUCTION.items() if k != "REDIS_URL"}, "HCM_DATABASE_CACHE": "1"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={**env, "HCM_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    backend = setting("settings.CACHES['default']['BACKEND']", {**env, "HCM_VAR_DIR": str(tmp_path)})
    assert backend == "django.core.cache.backends.db.DatabaseCache"


def test_development_keeps_a_per_process_cache(tmp_path):
    env = {"DEBUG": "1", "HCM_VAR_DIR": str(tmp_path)}
    assert setting("settings.CACHES['default']['BACKEND']", env) == "django.core.cache.backends.locmem.LocMemCache"


def test_trusted_proxies_and_rates_come_from_the_environment(tmp_path):
    env = {
        "DEBUG": "1",
        "HCM_VAR_DIR": str(tmp_path),
        "HCM_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1",
        "HCM_RATE_BINDING_ACCOUNT": "5/hour",
    }
    assert setting("settings.HCM_TRUSTED_PROXIES", env) == "['10.0.0.0/8', '127.0.0.1']"
    assert setting("settings.HCM_RATES['binding']['account']", env) == "5/hour"
    wrong = manage("check", env={**env, "HCM_TRUSTED_PROXIES": "10.0.0.0/8, the-balancer"})
    assert wrong.returncode != 0 and "HCM_TRUSTED_PROXIES" in wrong.stderr and "the-balancer" in wrong.stderr
    bad_rate = manage("check", env={**env, "HCM_RATE_BINDING_ACCOUNT": "often"})
    assert bad_rate.returncode != 0 and "lowcode.E001" in bad_rate.stderr
