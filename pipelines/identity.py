"""People from the config, identities from the tools, and the rules that join them.

Resolution order (DESIGN.md): explicit aliases from the config, then exact email
(case-insensitive, plus-addressing stripped, configured domain aliases). An identity that
matches nobody stays unresolved and is listed, never guessed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from model import AppliedOrg, Identity, Involvement, Membership, Person, Team
from model.base import utcnow
from model.bulk import one_of
from workhub.config import OrgConfig

__all__ = [
    "IdentityBook",
    "IdentityResolver",
    "Resolution",
    "canonical_email",
    "link_identity",
    "org_digest",
    "sync_org",
]


def canonical_email(address: str, domain_aliases: dict[str, str] | None = None) -> str:
    """Lower-case, `mailto:` and plus-addressing stripped, domain aliases applied."""
    address = address.strip().lower().removeprefix("mailto:")
    local, _, domain = address.partition("@")
    local = local.split("+", 1)[0]
    domain = (domain_aliases or {}).get(domain, domain)
    return f"{local}@{domain}" if domain else local


@dataclass(frozen=True, slots=True)
class Resolution:
    """Who an identity is, how we know, and the evidence."""

    person: str
    method: str
    evidence: str


class IdentityResolver:
    """Resolves (namespace, value) pairs to people of the config."""

    def __init__(self, org: OrgConfig) -> None:
        self.domain_aliases = {k.lower(): v.lower() for k, v in org.domain_aliases.items()}
        self._aliases: dict[tuple[str, str], str] = {}
        self._emails: dict[str, str] = {}
        self._people = {p.id for p in org.people}
        by_name: dict[str, list[str]] = {}
        for person in org.people:
            by_name.setdefault(person.name.casefold().strip(), []).append(person.id)
        self._unique_names = {n: ids[0] for n, ids in by_name.items() if len(ids) == 1}
        for person in org.people:
            for alias in person.aliases:
                namespace, sep, value = alias.partition(":")
                if sep and "@" not in namespace:
                    self._aliases[(namespace.lower(), value.lower())] = person.id
                else:
                    self._aliases[("email", canonical_email(alias, self.domain_aliases))] = (
                        person.id
                    )
            if person.email:
                self._emails[canonical_email(person.email, self.domain_aliases)] = person.id

    def suggest(self, display_name: str | None) -> str | None:
        """A person whose name is exactly this display name, when only one is: a
        suggestion for a human to confirm, never applied by itself."""
        if not display_name:
            return None
        return self._unique_names.get(display_name.casefold().strip())

    def resolve(self, namespace: str, value: str, email: str | None = None
                ) -> Resolution | None:
        """The person behind an identity, or None; `email` is what the tool says its
        address is (evidence, used after aliases)."""
        key_value = (
            canonical_email(value, self.domain_aliases) if namespace == "email" else value.lower()
        )
        if namespace == "person" and key_value in self._people:
            return Resolution(key_value, "config", "source owner in the config")
        person = self._aliases.get((namespace, key_value))
        if person:
            return Resolution(person, "alias", f"config alias {namespace}:{value}")
        if namespace == "email" and key_value in self._emails:
            return Resolution(self._emails[key_value], "email", f"email {key_value}")
        if email:
            address = canonical_email(email, self.domain_aliases)
            person = self._aliases.get(("email", address)) or self._emails.get(address)
            if person:
                return Resolution(person, "evidence",
                                  f"{namespace} states the address {address}")
        return None


class IdentityBook:
    """Finds or creates Identity rows within one session, resolved as they are made."""

    def __init__(
        self, session: Session, resolver: IdentityResolver, people: dict[str, int]
    ) -> None:
        self.session = session
        self.resolver = resolver
        self.people = people
        self._cache: dict[tuple[str, str], Identity] = {}
        self._absent: set[tuple[str, str]] = set()

    def prefetch(self, pairs: set[tuple[str, str]]) -> None:
        """Load the identities of many (namespace, value) pairs in a few queries, so that
        `get` needs none (a batch of items asks for hundreds)."""
        wanted = {(n, canonical_email(v) if n == "email" else v) for n, v in pairs}
        wanted -= self._cache.keys()
        by_namespace: dict[str, list[str]] = {}
        for namespace, value in wanted:
            by_namespace.setdefault(namespace, []).append(value)
        for namespace, values in by_namespace.items():
            for start in range(0, len(values), 500):
                for row in self.session.scalars(select(Identity).where(
                        Identity.namespace == namespace,
                        one_of(self.session, Identity.value, values[start:start + 500]))):
                    self._cache[(row.namespace, row.value)] = row
        self._absent |= wanted - self._cache.keys()

    def get(self, namespace: str, value: str, display_name: str | None = None,
            email: str | None = None) -> Identity:
        """The identity row for (namespace, value), created and resolved on first sight.

        `email`, when the tool states one for this identity, is evidence: it resolves the
        identity when no alias does.
        """
        value = canonical_email(value) if namespace == "email" else value
        key = (namespace, value)
        found = self._cache.get(key)
        if found is None:
            if key not in self._absent:
                found = self.session.scalar(select(Identity).where(
                    Identity.namespace == namespace, Identity.value == value))
            if found is None:
                # Added without a flush: the caller flushes once for the whole batch.
                found = Identity(namespace=namespace, value=value, display_name=display_name)
                _apply(found, self.resolver.resolve(namespace, value, email), self.people,
                       self.resolver.suggest(display_name))
                self.session.add(found)
            self._cache[key] = found
        if display_name and not found.display_name:
            found.display_name = display_name
        if found.person_id is None and email and found.resolution != "manual":
            _apply(found, self.resolver.resolve(namespace, value, email), self.people,
                   self.resolver.suggest(found.display_name))
        return found


def _apply(identity: Identity, resolution: Resolution | None, people: dict[str, int],
           suggestion: str | None = None) -> None:
    if resolution is None or resolution.person not in people:
        identity.person_id, identity.resolution, identity.evidence = None, None, None
        identity.suggested_person_id = people.get(suggestion) if suggestion else None
    else:
        identity.person_id = people[resolution.person]
        identity.resolution, identity.evidence = resolution.method, resolution.evidence
        identity.suggested_person_id = None


def link_identity(session: Session, identity: Identity, person_id: int, note: str) -> None:
    """A human's decision: this identity is that person. Past involvements follow."""
    identity.person_id, identity.resolution, identity.evidence = person_id, "manual", note
    identity.suggested_person_id = None
    session.execute(update(Involvement).where(Involvement.identity_id == identity.id)
                    .values(person_id=person_id))


#: Part of the applied organisation's digest: raise it when the resolution rules change,
#: so the next run re-resolves every identity under the new rules.
RULES_VERSION = 1


def org_digest(org: OrgConfig) -> str:
    """What `sync_org` applies, as one hash: the organisation and the rules' version."""
    return hashlib.sha256(f"{RULES_VERSION}:{org.model_dump_json()}".encode()).hexdigest()


def sync_org(session: Session, org: OrgConfig) -> dict[str, int]:
    """Upsert people, teams and memberships from the config; re-resolve every identity.

    Returns person slug -> id. Re-resolution also moves past involvements, so a new alias
    takes effect without a re-sync. An organisation already applied as it stands is not
    applied again: identities made since were resolved as they were made, by the same
    rules, so there is nothing to change (and 50,000 people cost seconds every run).
    """
    digest = org_digest(org)
    applied = session.get(AppliedOrg, 1)
    if applied is not None and applied.digest == digest:
        return {slug: id_ for slug, id_ in session.execute(select(Person.slug, Person.id))}
    ids = _apply_org(session, org)
    if applied is None:
        session.add(AppliedOrg(id=1, digest=digest, applied_at=utcnow()))
    else:
        applied.digest, applied.applied_at = digest, utcnow()
    session.flush()
    return ids


def _apply_org(session: Session, org: OrgConfig) -> dict[str, int]:
    existing = {p.slug: p for p in session.scalars(select(Person))}
    for cfg in org.people:
        person = existing.get(cfg.id) or Person(slug=cfg.id)
        person.name = cfg.name
        person.email = cfg.email.lower() if cfg.email else None
        person.timezone = cfg.timezone or org.timezone
        person.country = cfg.country or org.country
        person.working_hours = (cfg.working_hours or org.working_hours).as_json()
        if person.id is None:
            session.add(person)
        existing[cfg.id] = person
    session.flush()
    ids = {slug: p.id for slug, p in existing.items()}
    for cfg in org.people:
        existing[cfg.id].manager_id = ids[cfg.manager] if cfg.manager else None

    teams = {t.slug: t for t in session.scalars(select(Team))}
    for tcfg in org.teams:
        team = teams.get(tcfg.id) or Team(slug=tcfg.id)
        team.name = tcfg.name
        team.manager_id = ids[tcfg.manager] if tcfg.manager else None
        if team.id is None:
            session.add(team)
            session.flush()
        wanted = {ids[m.person]: m.share for m in tcfg.members}
        current = {
            m.person_id: m
            for m in session.scalars(select(Membership).where(Membership.team_id == team.id))
        }
        for person_id, membership in current.items():
            if person_id not in wanted:
                session.delete(membership)
        for person_id, share in wanted.items():
            if person_id in current:
                current[person_id].share = share
            else:
                session.add(Membership(team_id=team.id, person_id=person_id, share=share))

    resolver = IdentityResolver(org)
    for identity in session.scalars(select(Identity)):
        if identity.resolution == "manual":  # a human's decision outranks every rule
            continue
        before = identity.person_id
        resolution = resolver.resolve(identity.namespace, identity.value)
        if resolution is None and identity.resolution == "evidence":
            continue  # the tool's stated address still holds; only a rule may override it
        _apply(identity, resolution, ids, resolver.suggest(identity.display_name))
        if identity.person_id != before:
            session.execute(
                update(Involvement)
                .where(Involvement.identity_id == identity.id)
                .values(person_id=identity.person_id)
            )
    session.flush()
    return ids
