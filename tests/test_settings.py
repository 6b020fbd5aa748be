"""Settings: environment names, secrets hidden, clear errors for bad values."""

from __future__ import annotations

import pytest

from minerva_core.errors import ConfigError
from minerva_core.settings import load_settings


def test_reads_contract_names_from_the_mapping():
    settings = load_settings(
        {
            "MINERVA_DATABASE_URL": "postgresql://u:pw@db:5432/m",
            "OPENROUTER_API_KEY": "sk-or-v1-abc",
            "OPENROUTER_BASE_URL": "http://127.0.0.1:9/api/v1/",
            "ENABLE_OPENROUTER_MIGRATION": "true",
            "MINERVA_PROXY_PORT": "8080",
        }
    )
    assert settings.database_url.get_secret_value() == "postgresql://u:pw@db:5432/m"
    assert settings.openrouter_base_url == "http://127.0.0.1:9/api/v1"
    assert settings.enable_openrouter_migration is True
    assert settings.proxy_port == 8080
    assert not settings.uses_emulator
    assert "sk-or-v1-abc" not in repr(settings)
    assert "pw@db" not in repr(settings)


def test_defaults_mean_embedded_database_and_emulator():
    settings = load_settings({})
    assert settings.uses_embedded_database
    assert settings.uses_emulator
    assert settings.home.is_absolute()


def test_mapping_ignores_process_environment(monkeypatch):
    monkeypatch.setenv("MINERVA_PROXY_PORT", "9999")
    assert load_settings({}).proxy_port == 4000


@pytest.mark.parametrize(
    "env, name",
    [
        ({"MINERVA_PROXY_PORT": "not-a-port"}, "MINERVA_PROXY_PORT"),
        ({"MINERVA_PROXY_PORT": "70000"}, "MINERVA_PROXY_PORT"),
        ({"MINERVA_DATABASE_URL": "sqlite:///x.db"}, "MINERVA_DATABASE_URL"),
        ({"OPENROUTER_BASE_URL": "openrouter.ai"}, "OPENROUTER_BASE_URL"),
        ({"ENABLE_OPENROUTER_ROUTING": "perhaps"}, "ENABLE_OPENROUTER_ROUTING"),
        ({"MINERVA_ENV": "staging"}, "MINERVA_ENV"),
    ],
)
def test_bad_value_is_a_config_error_naming_the_variable(env, name):
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert name in str(info.value)


def test_bad_secret_value_is_not_echoed():
    with pytest.raises(ConfigError) as info:
        load_settings({"MINERVA_DATABASE_URL": "mysql://root:hunter2@x/db"})
    assert "hunter2" not in str(info.value)
