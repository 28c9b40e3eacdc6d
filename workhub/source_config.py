"""What every source's config shares; each connector's `settings.py` extends it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["SourceBase", "Strict", "Window", "secret"]


class Strict(BaseModel):
    """A config section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(Strict):
    """How far back and ahead calendars are expanded into occurrences."""

    past_weeks: int = Field(default=8, ge=0, le=520)
    future_weeks: int = Field(default=26, ge=1, le=520)


class SourceBase(Strict):
    """Name, schedule and switch of a configured source."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    schedule: str = "*/30 * * * *"
    enabled: bool = True
    #: the person whose calendars/mailbox this source reads, when it is one person's
    owner: str | None = None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        from dagster._utils.schedules import is_valid_cron_string

        if not is_valid_cron_string(value):
            raise ValueError(f"not a cron expression: {value!r}")
        return value


def secret(value: SecretStr | None) -> str | None:
    """The clear text of an optional secret, for the one call that needs it."""
    return value.get_secret_value() if value is not None else None
