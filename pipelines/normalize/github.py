"""GitHub issues, pull requests and milestones -> work items.

Decisions, so the graph reads the same whatever the repository's habits:
- key "<source>:<issue id>" (GitHub's global id survives a transfer), milestones
  "<source>:milestone/<id>"; ref "owner/repo#N" and "owner/repo/milestone/N".
- status: an open issue is todo (blocked with a `blocked_labels` label); an open pull
  request is in_progress (someone wrote the code; it waits on review), a draft one todo;
  closed issues are done, or cancelled when closed as not_planned; a merged pull request
  is done, one closed unmerged cancelled (its work was abandoned).
- milestone due dates are dates (GitHub's UI sets no time): 23:59:59 of that date in the
  org time zone, stored in UTC. An issue on a milestone is due with it and links to it
  as "parent".
- links from pull requests: a Jira key in the title or head branch -> "implements", in
  the body -> "references"; "fixes #12" / "closes org/repo#12" -> "implements".
- no estimates: GitHub has none, so the forecast uses the kind's default effort.
- people: author, assignees and (open pull requests) requested reviewers in the "github"
  namespace by login; the address the connector found for a login (`author_emails`, from
  commits or the public profile) is evidence. Commits are no items.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from connectors.github.evidence import is_noreply
from connectors.github.settings import GitHubSourceConfig
from model import ItemKind, Role, StatusCategory
from pipelines.normalize.context import Fragment, NormalizeContext, Record
from pipelines.normalize.drafts import InvolvementDraft, ItemDraft, LinkDraft, NormalizeError

__all__ = ["closing_refs", "jira_keys", "normalize_record"]

_JIRA_KEY = re.compile(r"(?<![A-Za-z0-9])([A-Z][A-Z0-9]+-\d+)(?![0-9])")
# GitHub's closing keywords, followed by "#N" or "owner/repo#N".
_CLOSING = re.compile(
    r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+"
    r"(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)?#(?P<number>\d+)\b",
    re.IGNORECASE,
)


def jira_keys(text: str | None, projects: list[str] | None = None) -> list[str]:
    """Jira issue keys named in a text, in order, once each (only `projects` if given)."""
    found = dict.fromkeys(_JIRA_KEY.findall(text or ""))
    allowed = {p.upper() for p in projects or []}
    return [k for k in found if not allowed or k.rsplit("-", 1)[0] in allowed]


def closing_refs(text: str | None, repo: str) -> list[str]:
    """Refs a body closes ("fixes #12" -> "repo#12"), in order, once each."""
    refs = (f"{m['repo'] or repo}#{m['number']}" for m in _CLOSING.finditer(text or ""))
    return list(dict.fromkeys(refs))


def _time(value: Any, what: str) -> datetime | None:
    """A GitHub timestamp ("2026-11-29T12:00:00Z") as an aware UTC datetime."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise NormalizeError(f"{what} is not a timestamp: {value!r}") from exc


def _due(value: Any, ctx: NormalizeContext) -> datetime | None:
    """A milestone's due date: the end of that day in the org time zone."""
    moment = _time(value, "milestone due_on")
    if moment is None:
        return None
    day: date = moment.date()
    return datetime.combine(day, time(23, 59, 59), tzinfo=ctx.org_timezone).astimezone(
        moment.tzinfo)


def _person(user: Any, role: Role, emails: dict[str, Any] | None = None
            ) -> InvolvementDraft | None:
    """A login on an item, with the address the user object or `emails` states for it
    (evidence; GitHub's private noreply addresses are none)."""
    if not isinstance(user, dict) or not user.get("login"):
        return None
    login = str(user["login"])
    stated = user.get("email") or (emails or {}).get(login)
    email = str(stated).strip().lower() if stated else None
    if email and ("@" not in email or is_noreply(email)):
        email = None
    return InvolvementDraft("github", login, role, display_name=user.get("name") or None,
                            email=email)


def _config(record: Record, ctx: NormalizeContext) -> GitHubSourceConfig:
    cfg = ctx.source_config(record.source_id)
    if isinstance(cfg, GitHubSourceConfig):
        return cfg
    # The source left the config: its records still normalize with the defaults.
    return GitHubSourceConfig(kind="github", name=ctx.sources[record.source_id][0])


def _milestone_ref(repo: str, milestone: dict[str, Any]) -> str:
    return f"{repo}/milestone/{milestone['number']}"


def _status(issue: dict[str, Any], pull: dict[str, Any] | None, labels: set[str],
            cfg: GitHubSourceConfig) -> tuple[StatusCategory, str]:
    is_pull = isinstance(issue.get("pull_request"), dict)
    draft = bool((pull or issue).get("draft"))
    if issue["state"] == "open":
        if {b.lower() for b in cfg.blocked_labels} & labels:
            return StatusCategory.blocked, "open (blocked)"
        if is_pull:
            return (StatusCategory.todo, "draft") if draft else (
                StatusCategory.in_progress, "open")
        return StatusCategory.todo, "open"
    if is_pull:
        merged = (pull or {}).get("merged_at") or issue["pull_request"].get("merged_at")
        return (StatusCategory.done, "merged") if merged else (
            StatusCategory.cancelled, "closed")
    if issue.get("state_reason") == "not_planned":
        return StatusCategory.cancelled, "not_planned"
    return StatusCategory.done, "closed"


def _issue(record: Record, ctx: NormalizeContext, slug: str) -> Fragment:
    payload = record.payload
    issue, repo = payload.get("issue"), str(payload.get("repo") or "")
    if not isinstance(issue, dict):
        raise NormalizeError("record holds no issue object")
    number = issue.get("number")
    where = f"issue {repo}#{number}"
    for name in ("id", "number", "title", "html_url", "state", "user"):
        if issue.get(name) in (None, ""):
            raise NormalizeError(f"{where}: `{name}` is missing")
    if not isinstance(number, int) or issue["state"] not in ("open", "closed"):
        raise NormalizeError(f"{where}: unexpected number or state {issue['state']!r}")
    pull = payload.get("pull") if isinstance(payload.get("pull"), dict) else None
    is_pull = isinstance(issue.get("pull_request"), dict)
    cfg = _config(record, ctx)
    labels = {str(lb.get("name", "")).lower() for lb in issue.get("labels") or []
              if isinstance(lb, dict)}
    priorities = [p for name, p in cfg.priority_labels.items() if name.lower() in labels]
    category, raw_status = _status(issue, pull, labels, cfg)
    ref = f"{repo}#{number}"
    found = payload.get("author_emails")
    emails = found if isinstance(found, dict) else {}
    people = [p for p in [_person(issue["user"], Role.author, emails)] if p]
    people += [p for a in issue.get("assignees") or []
               if (p := _person(a, Role.assignee, emails))]
    if pull and issue["state"] == "open":  # a closed PR waits on nobody's review
        people += [p for r in pull.get("requested_reviewers") or []
                   if (p := _person(r, Role.reviewer, emails))]
    links: list[LinkDraft] = []
    milestone = issue.get("milestone")
    if isinstance(milestone, dict) and milestone.get("number") is not None:
        links.append(LinkDraft("parent", _milestone_ref(repo, milestone), "milestone"))
    branch = str(((pull or {}).get("head") or {}).get("ref") or "") or None
    body = issue.get("body")
    if is_pull:
        named = jira_keys(f"{issue['title']}\n{branch or ''}", cfg.jira_projects)
        links += [LinkDraft("implements", key, "title or branch") for key in named]
        links += [LinkDraft("references", key, "body")
                  for key in jira_keys(body, cfg.jira_projects) if key not in named]
        links += [LinkDraft("implements", r, "closing keyword") for r in closing_refs(body, repo)]
    else:
        links += [LinkDraft("references", key, "body")
                  for key in jira_keys(body, cfg.jira_projects)]
    extra: dict[str, Any] = {"number": number, "labels": sorted(labels)}
    if is_pull:
        extra.update(draft=bool((pull or issue).get("draft")), head=branch)
    draft = ItemDraft(
        key=f"{slug}:{issue['id']}",
        external_id=str(issue["id"]),
        kind=ItemKind.pull_request if is_pull else ItemKind.issue,
        title=str(issue["title"]),
        url=str(issue["html_url"]),
        container=repo or None,
        status_raw=raw_status,
        status_category=category,
        priority=min(priorities) if priorities else None,
        created_at=_time(issue.get("created_at"), f"{where}: created_at"),
        updated_at=_time(issue.get("updated_at"), f"{where}: updated_at"),
        due_at=_due(milestone.get("due_on"), ctx) if isinstance(milestone, dict) else None,
        ref=ref,
        extra=extra,
        involvements=people,
        links=links,
    )
    # A transferred issue is one item seen from two repositories: the newest copy wins.
    stamp = draft.updated_at.timestamp() if draft.updated_at else 0.0
    return Fragment.of(record, draft, rank=(stamp, record.id))


def _milestone(record: Record, ctx: NormalizeContext, slug: str) -> Fragment:
    milestone, repo = record.payload.get("milestone"), str(record.payload.get("repo") or "")
    if not isinstance(milestone, dict):
        raise NormalizeError("record holds no milestone object")
    where = f"milestone {repo}/{milestone.get('number')}"
    for name in ("id", "number", "title", "html_url", "state"):
        if milestone.get(name) in (None, ""):
            raise NormalizeError(f"{where}: `{name}` is missing")
    creator = _person(milestone.get("creator"), Role.author)
    draft = ItemDraft(
        key=f"{slug}:milestone/{milestone['id']}",
        external_id=f"milestone/{milestone['id']}",
        kind=ItemKind.goal,
        title=str(milestone["title"]),
        url=str(milestone["html_url"]),
        container=repo or None,
        status_raw=str(milestone["state"]),
        status_category=StatusCategory.todo if milestone["state"] == "open"
        else StatusCategory.done,
        created_at=_time(milestone.get("created_at"), f"{where}: created_at"),
        updated_at=_time(milestone.get("updated_at"), f"{where}: updated_at"),
        due_at=_due(milestone.get("due_on"), ctx),
        ref=_milestone_ref(repo, milestone),
        extra={"open_issues": milestone.get("open_issues"),
               "closed_issues": milestone.get("closed_issues")},
        involvements=[creator] if creator else [],
    )
    return Fragment.of(record, draft)


def normalize_record(record: Record, ctx: NormalizeContext) -> Fragment | None:
    """The item one GitHub raw record describes (issues or milestones stream); a commit
    is no item (None): its address reaches identities through `author_emails`."""
    if record.stream == "commits":
        return None
    slug = ctx.sources[record.source_id][0]
    if record.stream == "milestones":
        return _milestone(record, ctx, slug)
    return _issue(record, ctx, slug)
