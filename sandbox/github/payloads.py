"""Builders for GitHub's JSON objects (users, orgs, repos, labels, milestones, issues, pulls).

Every URL is written against the store's `origin` (e.g. ``https://github.acme.test``):
the API lives under ``{origin}/api/v3`` like GitHub Enterprise, web pages under
``{origin}``. The app swaps the origin for the address it is actually served on, so a
stored world works on whatever port a test picks.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "API_PATH",
    "DOCS",
    "iso",
    "label_json",
    "milestone_json",
    "node_id",
    "org_json",
    "parse_iso",
    "pull_extra_json",
    "repo_json",
    "sha_for",
    "simple_user",
    "user_json",
]

#: Where the REST API lives below the origin on GitHub Enterprise Server.
API_PATH = "/api/v3"
#: The documentation root every error body points at.
DOCS = "https://docs.github.com/rest"


def iso(moment: datetime) -> str:
    """GitHub's timestamp format: UTC, whole seconds, a trailing Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Read an ISO 8601 timestamp as GitHub accepts it (``Z`` or an offset; naive is UTC)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "+"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def node_id(kind: str, number: int) -> str:
    """A legacy global node id, e.g. ``MDQ6VXNlcjE=`` for User 1."""
    # GitHub's legacy ids encode "0<len(type)>:<Type><id>" in base64.
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def sha_for(*parts: object) -> str:
    """A stable 40-hex commit sha for a branch tip (there is no git behind the stand-in)."""
    return hashlib.sha1("|".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def simple_user(origin: str, login: str, uid: int, *, kind: str = "User",
                site_admin: bool = False) -> dict[str, Any]:
    """The short user object embedded in issues, pulls and member lists."""
    api = f"{origin}{API_PATH}/users/{login}"
    return {
        "login": login, "id": uid, "node_id": node_id(kind, uid),
        "avatar_url": f"{origin}/avatars/u/{uid}?", "gravatar_id": "",
        "url": api, "html_url": f"{origin}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs", "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": kind, "site_admin": site_admin,
    }


def user_json(origin: str, login: str, uid: int, *, name: str | None, email: str | None,
              created_at: str, site_admin: bool = False) -> dict[str, Any]:
    """The full public profile (``GET /users/{login}``); email is null unless public."""
    return {
        **simple_user(origin, login, uid, site_admin=site_admin),
        "name": name, "company": None, "blog": "", "location": None, "email": email,
        "hireable": None, "bio": None, "twitter_username": None, "public_repos": 0,
        "public_gists": 0, "followers": 0, "following": 0,
        "created_at": created_at, "updated_at": created_at,
    }


def org_json(origin: str, login: str, oid: int, *, created_at: str,
             public_repos: int) -> dict[str, Any]:
    """The organisation object of ``GET /orgs/{org}``."""
    api = f"{origin}{API_PATH}/orgs/{login}"
    return {
        "login": login, "id": oid, "node_id": node_id("Organization", oid), "url": api,
        "repos_url": f"{api}/repos", "events_url": f"{api}/events",
        "hooks_url": f"{api}/hooks", "issues_url": f"{api}/issues",
        "members_url": f"{api}/members{{/member}}",
        "public_members_url": f"{api}/public_members{{/member}}",
        "avatar_url": f"{origin}/avatars/u/{oid}?", "description": None,
        "name": login.capitalize(), "company": None, "blog": "", "location": None,
        "email": None, "is_verified": False, "has_organization_projects": True,
        "has_repository_projects": True, "public_repos": public_repos, "public_gists": 0,
        "followers": 0, "following": 0, "html_url": f"{origin}/{login}",
        "created_at": created_at, "updated_at": created_at, "type": "Organization",
        "total_private_repos": 0, "owned_private_repos": 0, "private_gists": 0,
        "disk_usage": 0, "collaborators": 0, "billing_email": None,
        "default_repository_permission": "read", "members_can_create_repositories": True,
        "two_factor_requirement_enabled": False,
        "members_allowed_repository_creation_type": "all",
        "members_can_create_public_repositories": True,
        "members_can_create_private_repositories": True,
        "members_can_create_internal_repositories": True, "members_can_create_pages": True,
        "members_can_fork_private_repositories": False,
        "members_can_create_public_pages": True, "members_can_create_private_pages": True,
        "web_commit_signoff_required": False,
        "plan": {"name": "enterprise", "space": 976562499, "private_repos": 999999,
                 "filled_seats": 0, "seats": 0},
    }


def repo_json(origin: str, owner: dict[str, Any], name: str, rid: int, *,
              description: str | None, private: bool, default_branch: str,
              created_at: str) -> dict[str, Any]:
    """A full repository object (``GET /repos/{owner}/{repo}``)."""
    full = f"{owner['login']}/{name}"
    api = f"{origin}{API_PATH}/repos/{full}"
    host = origin.split("://", 1)[-1]
    urls = {f"{k}_url": f"{api}/{v}" for k, v in {
        "archive": "{archive_format}{/ref}", "assignees": "assignees{/user}",
        "blobs": "git/blobs{/sha}", "branches": "branches{/branch}",
        "collaborators": "collaborators{/collaborator}", "comments": "comments{/number}",
        "commits": "commits{/sha}", "compare": "compare/{base}...{head}",
        "contents": "contents/{+path}", "contributors": "contributors",
        "deployments": "deployments", "downloads": "downloads", "events": "events",
        "forks": "forks", "git_commits": "git/commits{/sha}", "git_refs": "git/refs{/sha}",
        "git_tags": "git/tags{/sha}", "issue_comment": "issues/comments{/number}",
        "issue_events": "issues/events{/number}", "issues": "issues{/number}",
        "keys": "keys{/key_id}", "labels": "labels{/name}", "languages": "languages",
        "merges": "merges", "milestones": "milestones{/number}",
        "notifications": "notifications{?since,all,participating}",
        "pulls": "pulls{/number}", "releases": "releases{/id}",
        "stargazers": "stargazers", "statuses": "statuses/{sha}",
        "subscribers": "subscribers", "subscription": "subscription", "tags": "tags",
        "teams": "teams", "trees": "git/trees{/sha}", "hooks": "hooks",
    }.items()}
    return {
        "id": rid, "node_id": node_id("Repository", rid), "name": name, "full_name": full,
        "owner": owner, "private": private, "html_url": f"{origin}/{full}",
        "description": description, "fork": False, "url": api, **urls,
        "git_url": f"git://{host}/{full}.git", "ssh_url": f"git@{host}:{full}.git",
        "clone_url": f"{origin}/{full}.git", "mirror_url": None,
        "svn_url": f"{origin}/{full}", "homepage": None, "language": "Python",
        "forks_count": 0, "stargazers_count": 0, "watchers_count": 0, "size": 0,
        "default_branch": default_branch, "open_issues_count": 0, "is_template": False,
        "topics": [], "has_issues": True, "has_projects": True, "has_wiki": True,
        "has_pages": False, "has_downloads": True, "has_discussions": False,
        "archived": False, "disabled": False,
        "visibility": "private" if private else "internal",
        "pushed_at": created_at, "created_at": created_at, "updated_at": created_at,
        "permissions": {"admin": True, "maintain": True, "push": True, "triage": True,
                        "pull": True},
        "allow_rebase_merge": True, "template_repository": None, "temp_clone_token": "",
        "allow_squash_merge": True, "allow_auto_merge": False,
        "delete_branch_on_merge": False, "allow_merge_commit": True,
        "allow_forking": True, "web_commit_signoff_required": False,
        "subscribers_count": 0, "network_count": 0, "license": None, "forks": 0,
        "open_issues": 0, "watchers": 0,
    }


def label_json(origin: str, repo: str, lid: int, name: str, color: str,
               description: str | None) -> dict[str, Any]:
    """A label as it appears in a repository and on issues."""
    return {"id": lid, "node_id": node_id("Label", lid),
            "url": f"{origin}{API_PATH}/repos/{repo}/labels/{name.replace(' ', '%20')}",
            "name": name, "description": description, "color": color, "default": False}


def milestone_json(origin: str, repo: str, mid: int, number: int, title: str, *,
                   creator: dict[str, Any], description: str | None, state: str,
                   due_on: str | None, created_at: str) -> dict[str, Any]:
    """A milestone; the issue counts are kept up to date by the store."""
    api = f"{origin}{API_PATH}/repos/{repo}/milestones/{number}"
    return {
        "url": api, "html_url": f"{origin}/{repo}/milestone/{number}",
        "labels_url": f"{api}/labels", "id": mid, "node_id": node_id("Milestone", mid),
        "number": number, "state": state, "title": title, "description": description,
        "creator": creator, "open_issues": 0, "closed_issues": 0,
        "created_at": created_at, "updated_at": created_at,
        "closed_at": created_at if state == "closed" else None, "due_on": due_on,
    }


def pull_extra_json(origin: str, repo: dict[str, Any], number: int, pid: int, *,
                    head_ref: str, base_ref: str, draft: bool) -> dict[str, Any]:
    """What a pull request has beyond its issue: branches, review requests, merge state."""
    full = repo["full_name"]
    api = f"{origin}{API_PATH}/repos/{full}"
    owner = repo["owner"]
    html = f"{origin}/{full}/pull/{number}"
    head_sha = sha_for(full, head_ref, number)
    return {
        "url": f"{api}/pulls/{number}", "id": pid, "node_id": node_id("PullRequest", pid),
        "html_url": html, "diff_url": f"{html}.diff", "patch_url": f"{html}.patch",
        "issue_url": f"{api}/issues/{number}", "commits_url": f"{api}/pulls/{number}/commits",
        "review_comments_url": f"{api}/pulls/{number}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{api}/issues/{number}/comments",
        "statuses_url": f"{api}/statuses/{head_sha}",
        "merged_at": None, "merge_commit_sha": None, "requested_reviewers": [],
        "requested_teams": [],
        "head": {"label": f"{owner['login']}:{head_ref}", "ref": head_ref, "sha": head_sha,
                 "user": owner, "repo": repo},
        "base": {"label": f"{owner['login']}:{base_ref}", "ref": base_ref,
                 "sha": sha_for(full, base_ref), "user": owner, "repo": repo},
        "_links": {
            "self": {"href": f"{api}/pulls/{number}"}, "html": {"href": html},
            "issue": {"href": f"{api}/issues/{number}"},
            "comments": {"href": f"{api}/issues/{number}/comments"},
            "review_comments": {"href": f"{api}/pulls/{number}/comments"},
            "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
            "commits": {"href": f"{api}/pulls/{number}/commits"},
            "statuses": {"href": f"{api}/statuses/{head_sha}"},
        },
        "draft": draft, "auto_merge": None,
        # Fields only the single-pull endpoint returns; the list omits them (see store).
        "merged": False, "mergeable": True, "rebaseable": True, "mergeable_state": "clean",
        "merged_by": None, "review_comments": 0, "maintainer_can_modify": False,
        "commits": 1, "additions": 10, "deletions": 2, "changed_files": 1,
    }
