"""Every rulebook version refinement made, with a changelog; nothing is ever overwritten.

Layout of a history folder::

    rulebooks/v0001.yaml     one file per version (the rulebook's own version field agrees)
    rulebooks/v0002.yaml
    changelog.jsonl          one line per version: parent, edits (what, why, who), dev scores, time

The current rulebook is the latest version. :meth:`RulebookHistory.rollback`
makes an old version current again by writing its content as a new version
(only the ``version`` field differs) whose changelog line says "rollback to vN".

Example::

    history = RulebookHistory("run")  # run/rulebooks/v0001.yaml, run/rulebooks/changelog.jsonl
    history.record(default_rulebook(), note="starting rulebook")
    history.rollback(1)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vietser.errors import ConfigError
from vietser.refine.edits import RuleEdit, describe_edit
from vietser.rules.rulebook import Rulebook, load_rulebook, save_rulebook
from vietser.run.dir import CHANGELOG_FILE, RULEBOOKS_DIR



class ChangelogEntry(BaseModel):
    """One version: where it came from, what changed and why, and its dev scores."""

    model_config = ConfigDict(extra="forbid")

    version: int
    parent: int | None
    edits: list[RuleEdit] = Field(default_factory=list)
    changes: list[str] = Field(default_factory=list, description="one line per edit")
    note: str = ""
    rollback_of: int | None = None
    dev_before: float | None = None
    dev_after: float | None = None
    timestamp: str


class RulebookHistory:
    """Rulebook versions and their changelog in ``directory`` (created if missing)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        (self.directory / RULEBOOKS_DIR).mkdir(parents=True, exist_ok=True)

    @property
    def changelog_path(self) -> Path:
        return self.directory / RULEBOOKS_DIR / CHANGELOG_FILE

    def path(self, version: int) -> Path:
        """The YAML file of ``version``."""
        return self.directory / RULEBOOKS_DIR / f"v{version:04d}.yaml"

    def entries(self) -> list[ChangelogEntry]:
        """Changelog entries, oldest first."""
        if not self.changelog_path.exists():
            return []
        lines = self.changelog_path.read_text(encoding="utf-8").splitlines()
        try:
            return [ChangelogEntry.model_validate_json(line) for line in lines if line.strip()]
        except ValidationError as exc:
            raise ConfigError(
                f"{self.changelog_path} is damaged ({exc.error_count()} problems); "
                "restore it from a copy or start a new history folder"
            ) from exc

    def versions(self) -> list[int]:
        """Every version recorded, oldest first."""
        return [entry.version for entry in self.entries()]

    def current_version(self) -> int | None:
        """The latest version, or None for an empty history."""
        versions = self.versions()
        return versions[-1] if versions else None

    def current(self) -> Rulebook:
        """The latest rulebook."""
        version = self.current_version()
        if version is None:
            raise ConfigError(f"the history in {self.directory} is empty; record a rulebook first")
        return self.get(version)

    def get(self, version: int) -> Rulebook:
        """The rulebook of ``version``."""
        if version not in self.versions():
            raise ConfigError(
                f"the history in {self.directory} has no version {version}; "
                f"versions: {self.versions() or 'none'}"
            )
        return load_rulebook(self.path(version))

    def record(
        self,
        rulebook: Rulebook,
        *,
        edits: Sequence[RuleEdit] = (),
        note: str = "",
        dev_before: float | None = None,
        dev_after: float | None = None,
        rollback_of: int | None = None,
    ) -> Rulebook:
        """Store ``rulebook`` as the new current version and return it as stored.

        The first version keeps the rulebook's own version number; later ones are numbered
        one above the current version (the rulebook's ``version`` field is set to match).
        """
        parent = self.current_version()
        version = rulebook.version if parent is None else parent + 1
        stored = rulebook.model_copy(update={"version": version})
        if self.path(version).exists():
            raise ConfigError(
                f"{self.path(version)} exists but the changelog does not list it; "
                "move it away (nothing in a history is overwritten)"
            )
        save_rulebook(stored, self.path(version))
        entry = ChangelogEntry(
            version=version,
            parent=parent,
            edits=list(edits),
            changes=[describe_edit(edit) for edit in edits],
            note=note,
            rollback_of=rollback_of,
            dev_before=dev_before,
            dev_after=dev_after,
            timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        with self.changelog_path.open("a", encoding="utf-8") as changelog:
            changelog.write(entry.model_dump_json() + "\n")
        return stored

    def rollback(self, version: int) -> Rulebook:
        """Make ``version`` current again, as a new version; returns the new current rulebook."""
        return self.record(self.get(version), note=f"rollback to v{version}", rollback_of=version)
