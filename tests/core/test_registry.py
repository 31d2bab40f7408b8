"""Registry errors: unknown names, conflicts, bad registrations, option errors."""

from __future__ import annotations

import re
import types

import pytest

from latentstack import hookimpl
from latentstack.errors import ConfigError, PluginConflictError, UnknownNameError
from latentstack.registry import Registry

from .test_hookspecs import ToyEmbedder


def plugin(fn):  # noqa: ANN001, ANN201
    """An in-process plugin whose register_embedders is ``fn``."""
    return types.SimpleNamespace(register_embedders=hookimpl(fn))


def test_unknown_name_lists_available() -> None:
    """An unknown name says which names exist and where to look."""
    reg = Registry()
    reg.add_plugin(plugin(lambda register: register(ToyEmbedder)), "a")
    with pytest.raises(UnknownNameError, match=r"unknown embedder 'nope'; available: toy-emb") as err:
        reg.create("embedder", "nope")
    assert "latentstack plugins" in str(err.value)


def test_conflict_names_both_plugins_and_spares_other_names() -> None:
    """Two plugins claiming one name: that name errors naming both; other names still work."""
    other = type("Other", (ToyEmbedder,), {"name": "other"})
    reg = Registry()
    reg.add_plugin(plugin(lambda register: (register(ToyEmbedder), register(other))), "first")
    reg.add_plugin(plugin(lambda register: register(ToyEmbedder)), "second")
    with pytest.raises(PluginConflictError) as err:
        reg.get_class("embedder", "toy-emb")
    assert "'first'" in str(err.value) and "'second'" in str(err.value)
    assert "LATENTSTACK_DISABLE" in str(err.value)
    assert reg.get_class("embedder", "other") is other
    assert any("more than one plugin" in e for e in reg.infos["second"].errors)


def test_raising_hook_is_isolated() -> None:
    """A plugin whose hook raises is recorded with the error; the next plugin registers."""

    def boom(register):  # noqa: ANN001, ANN202
        raise RuntimeError("kaboom")

    reg = Registry()
    reg.add_plugin(plugin(boom), "bad")
    reg.add_plugin(plugin(lambda register: register(ToyEmbedder)), "good")
    assert reg.names("embedder") == ["toy-emb"]
    assert "RuntimeError: kaboom" in reg.infos["bad"].errors[0]


def test_registering_a_non_embedder_is_an_error() -> None:
    """Registering something that is not a subclass of the role is reported for that plugin."""
    reg = Registry()
    reg.add_plugin(plugin(lambda register: register(dict)), "odd")
    reg.build()
    assert "not a subclass of Embedder" in reg.infos["odd"].errors[0]
    assert reg.names("embedder") == []


def test_unknown_option_lists_valid_options() -> None:
    """A misspelt option names the valid ones."""
    reg = Registry()
    reg.add_plugin(plugin(lambda register: register(ToyEmbedder)), "a")
    with pytest.raises(ConfigError, match="no option 'batchsize'.*batch_size"):
        reg.create("embedder", "toy-emb", batchsize=3)


def test_invalid_option_value_is_config_error() -> None:
    """A value failing its validator is a one-line ConfigError naming the option's owner and the rule, not the
    validator's attribute record."""
    reg = Registry()
    reg.add_plugin(plugin(lambda register: register(ToyEmbedder)), "a")
    with pytest.raises(ConfigError, match="embedder 'toy-emb'") as caught:
        reg.create("embedder", "toy-emb", batch_size=0)
    assert "'batch_size' must be" in str(caught.value) and "Attribute(" not in str(caught.value)


def test_a_config_made_directly_is_checked_as_options_are() -> None:
    """GenerationConfig(...), RagConfig(...) and ChunkConfig(...) from Python check their options as -o does: an
    invalid or unknown one is a ConfigError (was attrs' ValueError, or a TypeError from comparing "3" with 0), a
    number as text is read; a str stop is one stop string and a str of LoRA targets its comma-separated names (both
    were split into characters)."""
    from latentstack.interfaces import GenerationConfig
    from latentstack.rag import RagConfig
    from latentstack.search.chunking import ChunkConfig

    for make, words in [(lambda: GenerationConfig(max_new_tokens=-1), "GenerationConfig: invalid option: 'max_new_tokens'"),
                        (lambda: GenerationConfig(max_new_token=3), "has no option 'max_new_token'"),
                        (lambda: RagConfig(k=0), "RagConfig: invalid option: 'k'"),
                        (lambda: RagConfig(min_score="high"), "'min_score' takes a number, got 'high'"),
                        (lambda: ChunkConfig(mode="pages"), "ChunkConfig: invalid option: 'mode'"),
                        (lambda: GenerationConfig(stop=""), "every stop is a non-empty string")]:  # was accepted
        with pytest.raises(ConfigError, match=re.escape(words)):
            make()
    assert GenerationConfig(max_new_tokens="3").max_new_tokens == 3
    assert GenerationConfig(stop="END").stop == ("END",) and GenerationConfig(stop=["a", "b"]).stop == ("a", "b")
    assert GenerationConfig(stop=None).stop == ()  # OpenAI's null: no stop
    from latentstack import get_adapter

    # LoRA targets given as one str (as -o targets=... gives them) were its letters: ('q', '_', 'p', ...)
    assert get_adapter("lora", targets="q_proj").config.targets == ("q_proj",)
    assert get_adapter("lora", targets="q_proj, v_proj").config.targets == ("q_proj", "v_proj")
    assert get_adapter("lora", targets=["query"]).config.targets == ("query",)


def test_disable_blocks_in_process_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """LATENTSTACK_DISABLE blocks a plugin registered in-process too."""
    monkeypatch.setenv("LATENTSTACK_DISABLE", "a, other")
    reg = Registry()
    reg.add_plugin(plugin(lambda register: register(ToyEmbedder)), "a")
    assert reg.names("embedder") == []
    assert reg.infos["a"].status == "disabled"
