"""The workhub.yaml config: loading, validation, and errors that name file and key."""

from __future__ import annotations

import os
import re
from collections import Counter
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from connectors.caldav.settings import CalDAVSourceConfig
from connectors.confluence.settings import ConfluenceSourceConfig
from connectors.exchange.settings import ExchangeSourceConfig
from connectors.github.settings import GitHubSourceConfig
from connectors.ics.settings import IcsSourceConfig
from connectors.jira.settings import JiraSourceConfig
from workhub.source_config import Strict

__all__ = [
    "CalDAVSourceConfig",
    "ConfigError",
    "DutyConfig",
    "EffortConfig",
    "OrgConfig",
    "PersonConfig",
    "SourceConfig",
    "TeamConfig",
    "WorkhubConfig",
    "WorkingHours",
    "database_url_from_env",
    "default_home",
    "find_config_path",
    "load_config",
]

#: Every kind of source, as written in `sources[].kind`.
KINDS = ("caldav", "jira", "github", "exchange", "confluence", "ics")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class ConfigError(Exception):
    """A config problem, worded as `file: key: problem` for each problem found."""

    def __init__(self, path: Path | str, problems: list[tuple[str, str]]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {key}: {msg}" for key, msg in problems))


def default_home() -> Path:
    """Where workhub keeps its files: WORKHUB_HOME, else ./.workhub."""
    return Path(os.environ.get("WORKHUB_HOME", ".workhub")).resolve()


def database_url_from_env(home: Path | None = None) -> str:
    """WORKHUB_DATABASE_URL, else the embedded SQLite database under the home folder."""
    url = os.environ.get("WORKHUB_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{(home or default_home()) / 'workhub.db'}"


_Strict = Strict


class WorkingHours(_Strict):
    """Working days and the daily span, in the person's own time zone."""

    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"]  # type: ignore[arg-type]
    )
    start: time = time(9, 0)
    end: time = time(17, 0)

    @model_validator(mode="after")
    def _start_before_end(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    @property
    def weekday_numbers(self) -> list[int]:
        """The working days as Python weekday numbers (Monday is 0)."""
        return sorted(WEEKDAYS.index(d) for d in self.days)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready form for the database."""
        return {
            "days": self.weekday_numbers,
            "start": self.start.isoformat("minutes"),
            "end": self.end.isoformat("minutes"),
        }


def _check_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


class PersonConfig(_Strict):
    """A person of the organisation."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str
    email: str | None = None
    aliases: list[str] = Field(default_factory=list)
    manager: str | None = None
    timezone: str | None = None
    country: str | None = None
    working_hours: WorkingHours | None = None

    _tz = field_validator("timezone")(_check_timezone)


class MemberConfig(_Strict):
    """A person's membership of a team."""

    person: str
    share: float = Field(default=1.0, gt=0, le=1)


class TeamConfig(_Strict):
    """A team, its manager and its members."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str
    manager: str | None = None
    members: list[MemberConfig] = Field(default_factory=list)


class DutyConfig(_Strict):
    """A recurring duty: every listed person each week, or one person a week in turn."""

    name: str
    hours_per_week: float = Field(gt=0, le=80)
    people: list[str] = Field(default_factory=list)
    rotation: list[str] = Field(default_factory=list)
    #: the Monday the rotation starts with its first person
    start: date | None = None

    @model_validator(mode="after")
    def _who(self) -> DutyConfig:
        if bool(self.people) == bool(self.rotation):
            raise ValueError(f"duty {self.name!r}: give either people or rotation")
        if self.rotation and self.start is None:
            raise ValueError(f"duty {self.name!r}: a rotation needs a start date")
        return self

    def hours_for(self, person: str, monday: date) -> float:
        """This duty's hours for the person in the week starting `monday`."""
        if person in self.people:
            return self.hours_per_week
        if self.rotation and self.start is not None and monday >= self.start:
            turn = ((monday - self.start).days // 7) % len(self.rotation)
            return self.hours_per_week if self.rotation[turn] == person else 0.0
        return 0.0


class EffortConfig(_Strict):
    """How much work an item is when its source gives no estimate."""

    #: hours per story point, unless a source or team says otherwise
    hours_per_point: float = Field(default=4.0, gt=0)
    #: hours for an open item of each kind that has no estimate at all
    default_hours: dict[str, float] = Field(default_factory=lambda: {
        "issue": 4.0, "task": 2.0, "pull_request": 2.0, "email": 0.5, "goal": 0.0,
        "page": 0.0})
    #: kinds whose open items count as committed work of their assignees
    committed_kinds: list[str] = Field(default_factory=lambda: [
        "issue", "task", "pull_request", "email"])


class OrgConfig(_Strict):
    """The organisation: defaults, people and teams."""

    timezone: str = "UTC"
    country: str | None = None
    working_hours: WorkingHours = Field(default_factory=WorkingHours)
    absence_patterns: list[str] = Field(
        default_factory=lambda: [
            r"(?i)\bout of (the )?office\b",
            r"(?i)\bvacation\b",
            r"(?i)\bholiday\b",
            r"(?i)\bOOO\b",
            r"(?i)\bpto\b",
        ]
    )
    domain_aliases: dict[str, str] = Field(default_factory=dict)
    duties: list[DutyConfig] = Field(default_factory=list)
    effort: EffortConfig = Field(default_factory=EffortConfig)
    people: list[PersonConfig] = Field(default_factory=list)
    teams: list[TeamConfig] = Field(default_factory=list)

    _tz = field_validator("timezone")(_check_timezone)

    @field_validator("absence_patterns")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _references_exist(self) -> OrgConfig:
        # Counted once (a list's count() per id was quadratic: minutes for 50,000 people).
        duplicates = {i for i, n in Counter(p.id for p in self.people).items() if n > 1}
        if duplicates:
            raise ValueError(f"person ids used twice: {sorted(duplicates)}")
        known = {p.id for p in self.people}
        for person in self.people:
            if person.manager and person.manager not in known:
                raise ValueError(
                    f"person {person.id!r}: manager {person.manager!r} is not a person"
                )
        for duty in self.duties:
            for name in [*duty.people, *duty.rotation]:
                if name not in known:
                    raise ValueError(f"duty {duty.name!r}: {name!r} is not a person")
        for team in self.teams:
            if team.manager and team.manager not in known:
                raise ValueError(f"team {team.id!r}: manager {team.manager!r} is not a person")
            for member in team.members:
                if member.person not in known:
                    raise ValueError(f"team {team.id!r}: member {member.person!r} is not a person")
        return self


SourceConfig = Annotated[
    CalDAVSourceConfig
    | JiraSourceConfig
    | GitHubSourceConfig
    | ExchangeSourceConfig
    | ConfluenceSourceConfig
    | IcsSourceConfig,
    Field(discriminator="kind"),
]


class WorkhubConfig(_Strict):
    """The whole config file."""

    database_url: str | None = None
    org: OrgConfig = Field(default_factory=OrgConfig)
    sources: list[SourceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _sources_valid(self) -> WorkhubConfig:
        names = [s.name for s in self.sources]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"source names used twice: {sorted(duplicates)}")
        people = {p.id for p in self.org.people}
        for source in self.sources:
            if source.owner and source.owner not in people:
                raise ValueError(f"source {source.name!r}: owner {source.owner!r} is not a person")
        return self

    def resolved_database_url(self, home: Path | None = None) -> str:
        """The environment's URL first, then the file's, then embedded SQLite."""
        return (
            os.environ.get("WORKHUB_DATABASE_URL")
            or self.database_url
            or database_url_from_env(home)
        )

    def source(self, name: str) -> SourceConfig:
        """The source with this name, or KeyError."""
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def person(self, person_id: str) -> PersonConfig:
        """The person with this id, or KeyError."""
        for person in self.org.people:
            if person.id == person_id:
                return person
        raise KeyError(person_id)


def _resolve_env_refs(node: Any, path: list[str | int], missing: list[tuple[str, str]]) -> Any:
    """Replace `${VAR}` strings by the environment's value, noting each missing one."""
    if isinstance(node, dict):
        return {k: _resolve_env_refs(v, [*path, k], missing) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_env_refs(v, [*path, i], missing) for i, v in enumerate(node)]
    if isinstance(node, str):
        match = _ENV_REF.match(node)
        if match:
            value = os.environ.get(match.group(1))
            if value is None:
                missing.append((_dotted(path), f"environment variable {match.group(1)} is not set"))
            return value
    return node


def _dotted(loc: list[str | int] | tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def find_config_path(explicit: str | Path | None = None) -> Path | None:
    """--config, else WORKHUB_CONFIG, else ./workhub.yaml if it exists."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("WORKHUB_CONFIG")
    if env:
        return Path(env)
    local = Path("workhub.yaml")
    return local if local.exists() else None


#: libyaml's safe loader where PyYAML was built with it: an organisation of 50,000 people
#: is a 6 MB config, read in 3.8 s instead of the pure-Python loader's 12.8 s.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_config(path: str | Path | None = None) -> WorkhubConfig:
    """Load and validate the config; raise ConfigError naming file, key and problem."""
    found = find_config_path(path)
    if found is None:
        return WorkhubConfig()
    try:
        raw = yaml.load(found.read_text(), Loader=_YAML_LOADER) or {}  # noqa: S506 - a safe loader
    except FileNotFoundError as exc:
        raise ConfigError(found, [("(file)", "no such file")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise ConfigError(found, [(where, f"not valid YAML: {exc}")]) from exc
    if not isinstance(raw, dict):
        raise ConfigError(found, [("(top level)", "must be a mapping")])
    missing: list[tuple[str, str]] = []
    resolved = _resolve_env_refs(raw, [], missing)
    if missing:
        raise ConfigError(found, missing)
    try:
        return WorkhubConfig.model_validate(resolved)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            # pydantic puts the union member (the kind) into the location: leave it out.
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p in KINDS)]
            message = err["msg"].removeprefix("Value error, ")
            problems.append((_dotted(loc), message))
        raise ConfigError(found, problems) from exc
