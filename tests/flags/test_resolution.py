"""Flag resolution order on literal data: deployment row > '*' row > environment > default."""

from __future__ import annotations

import pytest

from minerva_core.errors import InvalidParameterError
from minerva_core.flags import Override, check_deployment, deployment_name, flag_name, resolve
from minerva_core.settings import load_settings

ROUTING = "ENABLE_OPENROUTER_ROUTING"
MIGRATION = "ENABLE_OPENROUTER_MIGRATION"


def test_defaults_when_nothing_is_set():
    states = resolve(load_settings({}), "default", {})
    assert {n: (s.enabled, s.source) for n, s in states.items()} == {
        "ENABLE_OPENROUTER_PROVIDER": (True, "default"),
        "ENABLE_OPENROUTER_ROUTING": (True, "default"),
        "ENABLE_OPENROUTER_ANALYTICS": (True, "default"),
        "ENABLE_OPENROUTER_MIGRATION": (False, "default"),
    }


def test_environment_beats_default():
    states = resolve(load_settings({ROUTING: "false", MIGRATION: "true"}), "default", {})
    assert (states[ROUTING].enabled, states[ROUTING].source, states[ROUTING].environment) == (False, "environment", False)
    assert (states[MIGRATION].enabled, states[MIGRATION].source) == (True, "environment")


def test_global_override_beats_environment_and_deployment_override_beats_global():
    settings = load_settings({ROUTING: "true"})
    every = Override(ROUTING, "*", False, note="maintenance", updated_by="alice")
    own = Override(ROUTING, "eu-1", True, updated_by="bob")
    overrides = {(ROUTING, "*"): every, (ROUTING, "eu-1"): own}

    on_eu = resolve(settings, "eu-1", overrides)[ROUTING]
    assert (on_eu.enabled, on_eu.source, on_eu.override) == (True, "deployment_override", own)
    elsewhere = resolve(settings, "us-1", overrides)[ROUTING]
    assert (elsewhere.enabled, elsewhere.source) == (False, "global_override")
    assert elsewhere.describe() == (
        "ENABLE_OPENROUTER_ROUTING is off for deployment 'us-1' "
        "(database override for every deployment ('*') by alice: maintenance)"
    )
    # Another flag is untouched by these rows.
    assert resolve(settings, "eu-1", overrides)[MIGRATION].source == "default"


def test_an_override_for_another_deployment_does_not_apply():
    overrides = {(ROUTING, "eu-1"): Override(ROUTING, "eu-1", False)}
    state = resolve(load_settings({}), "default", overrides)[ROUTING]
    assert (state.enabled, state.source) == (True, "default")


@pytest.mark.parametrize("given", ["routing", "ROUTING", "ENABLE_OPENROUTER_ROUTING", "enable_openrouter_routing"])
def test_flag_names(given):
    assert flag_name(given) == ROUTING


def test_unknown_flag_is_refused():
    with pytest.raises(InvalidParameterError) as info:
        flag_name("ENABLE_SOMETHING_ELSE")
    assert info.value.code == "unknown_flag"


def test_deployment_name_from_environment_else_default():
    assert deployment_name(load_settings({"MINERVA_DEPLOYMENT": "eu-1"}), {}) == "eu-1"
    settings = load_settings({})
    assert deployment_name(settings, {}) == "default"
    with pytest.raises(InvalidParameterError):
        check_deployment("*")
    assert check_deployment("*", allow_all=True) == "*"
