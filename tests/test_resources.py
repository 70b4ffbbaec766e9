"""Prompt templates and the default bundle: one copy in the checkout, packaged through links, found in the
documented order (explicit > environment > working directory > packaged)."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceqa import resources
from faceqa.aullm.answerer import default_bundle_path
from faceqa.aullm.prompt import prompt_path
from faceqa.errors import InvalidInputError
from faceqa.qa.composer import Composer

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def elsewhere(tmp_path, monkeypatch) -> Path:
    """A working directory outside the checkout, with no prompt or bundle settings in the environment."""
    monkeypatch.delenv(resources.PROMPTS_ENV, raising=False)
    monkeypatch.delenv(resources.BUNDLE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_packaged_copies_are_the_top_level_folders(elsewhere):
    assert resources.packaged("prompts").resolve() == REPO / "prompts"
    assert resources.packaged("default_bundle").resolve() == REPO / "adapters" / "default"
    assert resources.prompt_roots() == [resources.packaged("prompts")]
    assert prompt_path("aullm_v1") == resources.packaged("prompts") / "aullm_v1.txt"
    assert default_bundle_path() == resources.packaged("default_bundle")
    shipped = sorted(p.stem for p in (REPO / "prompts" / "composer").glob("*.txt"))
    assert list(Composer().templates) == shipped


def test_prompts_are_found_file_by_file_in_order(elsewhere, monkeypatch):
    (elsewhere / "prompts" / "composer").mkdir(parents=True)
    (elsewhere / "prompts" / "composer" / "count.txt").write_text("cwd count {n}\n")
    (elsewhere / "prompts" / "composer" / "aus.txt").write_text("cwd aus\n")
    env = elsewhere / "mine"
    (env / "composer").mkdir(parents=True)
    (env / "composer" / "aus.txt").write_text("env aus\n")
    (env / "aullm_v1.txt").write_text("[user]\n{content}{instruction}{question}\n")
    monkeypatch.setenv(resources.PROMPTS_ENV, str(env))
    templates = Composer().templates
    assert templates["aus"] == "env aus" and templates["count"] == "cwd count {n}"  # env, then ./prompts
    assert templates["fine"] == (REPO / "prompts" / "composer" / "fine.txt").read_text().rstrip("\n")  # packaged
    assert prompt_path("aullm_v1") == env / "aullm_v1.txt"
    explicit = Composer(elsewhere / "prompts" / "composer").templates  # an explicit folder is used alone
    assert set(explicit) == {"aus", "count"}
    with pytest.raises(InvalidInputError, match="prompt 'aullm_v9.txt' not found"):
        prompt_path("aullm_v9")


def test_the_bundle_is_found_in_order(elsewhere, monkeypatch):
    local = elsewhere / "adapters" / "default"
    local.mkdir(parents=True)
    assert default_bundle_path() == resources.packaged("default_bundle")  # no config.json: not a bundle
    (local / "config.json").write_text("{}")
    assert default_bundle_path() == local
    mine = elsewhere / "mine"
    mine.mkdir()
    (mine / "config.json").write_text("{}")
    monkeypatch.setenv(resources.BUNDLE_ENV, str(mine))
    assert default_bundle_path() == mine
