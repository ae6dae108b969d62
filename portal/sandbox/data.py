"""Deterministic seed data: integrations, jobs, candidates, applications, attachments.

Records are compact slotted objects; JSON shapes are rendered per request (render.py) so that
`--applications 10000` seeds six integrations quickly. Indexes are built once, here, so that
lookups and cursor pages never scan the whole data set when a filter has an index.
"""

from __future__ import annotations

import bisect
import random
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from . import catalog
from .catalog import DEMO_CANDIDATES, JOB_SPECS, Behaviour, JobSpec
from .files import cover_letter_txt, cv_pdf
from .ids import IdStream, make_id

T = TypeVar("T")
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
# Seeded timestamps are relative to a fixed instant so that every start yields the same data.
REFERENCE_MS = int(datetime(2025, 6, 2, 9, 0, tzinfo=UTC).timestamp() * 1000)
INTEGRATION_CREATED_MS = REFERENCE_MS - 400 * DAY_MS
# Cumulative share of applicants per stage index: a funnel, crowded at the top.
_FUNNEL = (0.42, 0.68, 0.83, 0.92, 0.97)


@dataclass(slots=True)
class Stage:
    """A pipeline stage of a job."""

    id: str
    remote_id: str
    name: str
    index: int


@dataclass(slots=True, repr=False)
class Job:
    """A seeded job with its stages."""

    id: str
    remote_id: str
    spec: JobSpec
    job_code: str
    stages: list[Stage]
    created_ms: int
    updated_ms: int
    closed_ms: int | None

    @property
    def name(self) -> str:
        """The job title."""
        return self.spec.name

    def __repr__(self) -> str:
        return f"Job({self.id!r}, {self.name!r})"


@dataclass(slots=True)
class Tag:
    """A candidate tag."""

    id: str
    remote_id: str
    name: str


@dataclass(slots=True, repr=False)
class Candidate:
    """A seeded candidate. Secondary attributes derive from `seed` when rendered."""

    id: str
    remote_id: str
    first_name: str
    last_name: str
    email: str  # "" for a candidate without any e-mail address (the messy variant)
    seed: int
    tag: Tag | None
    extra_emails: tuple[str, ...] = ()
    nulls: bool = False  # the messy variant: null in every nullable field
    created_ms: int = 0
    updated_ms: int = 0
    deleted_ms: int | None = None
    applications: list[Application] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"

    def pick(self, options: Sequence[T], salt: int) -> T:
        """A stable per-candidate choice among options (company, title, city, ...)."""
        return options[(self.seed >> salt) % len(options)]

    def __repr__(self) -> str:
        return f"Candidate({self.id!r}, {self.full_name!r}, {self.email!r})"


@dataclass(slots=True, repr=False)
class Application:
    """A seeded application of a candidate to a job."""

    id: str
    remote_id: str
    candidate: Candidate
    job: Job
    stage: Stage
    outcome: str
    rejection_reason: str | None
    created_ms: int
    updated_ms: int
    deleted_ms: int | None
    # Kombo reads a synced copy: an application created in the ATS is listed from here on.
    visible_ms: int = 0
    nulls: bool = False  # the messy variant: null in every nullable field

    def __repr__(self) -> str:
        return f"Application({self.id!r}, {self.candidate.full_name!r}, {self.job.name!r})"


@dataclass(slots=True)
class Attachment:
    """A file on a candidate (seeded, or uploaded through the sandbox)."""

    id: str
    remote_id: str
    integration_id: str
    candidate_id: str
    application_id: str | None
    type: str
    file_name: str
    content_type: str
    created_ms: int | None
    updated_ms: int | None
    size: int = 0
    path: Path | None = None  # uploaded files live on disk
    seed_text: tuple[str, str | None] | None = None  # (full name, job) for seeded files

    def seed_bytes(self) -> bytes:
        """Rebuild a seeded file's content (seeds are tiny, so they are not kept in memory)."""
        name, job = self.seed_text or ("", None)
        if self.content_type == "text/plain":
            return cover_letter_txt(name, job)
        return cv_pdf(name, job)


def _sort_key(obj: Application | Candidate | Job) -> str:
    # By id: stable (cursors stay valid) and unrelated to dates, because Kombo documents no
    # order for its lists. A client that trusted "newest first" would fail against it.
    return obj.id


@dataclass(repr=False)
class Integration:
    """One seeded integration: its behaviour, records and lookup indexes."""

    id: str
    behaviour: Behaviour
    created_ms: int
    origin_id: str
    scope_config_id: str
    jobs: list[Job] = field(default_factory=list)
    job_by_id: dict[str, Job] = field(default_factory=dict)
    applications: list[Application] = field(default_factory=list)  # live, sorted
    applications_all: list[Application] = field(default_factory=list)  # incl. deleted
    application_by_id: dict[str, Application] = field(default_factory=dict)
    applications_by_job: dict[str, list[Application]] = field(default_factory=dict)  # incl. del.
    candidates: list[Candidate] = field(default_factory=list)
    candidates_all: list[Candidate] = field(default_factory=list)
    candidate_by_id: dict[str, Candidate] = field(default_factory=dict)
    candidate_by_email: dict[str, Candidate] = field(default_factory=dict)
    candidates_by_first: dict[str, list[Candidate]] = field(default_factory=dict)
    candidates_by_last: dict[str, list[Candidate]] = field(default_factory=dict)
    candidates_by_job: dict[str, list[Candidate]] = field(default_factory=dict)  # incl. del.
    seeded_attachments: dict[str, list[Attachment]] = field(default_factory=dict)
    warning_candidate_id: str | None = None
    # Until when (ms) some application created at runtime is not synced yet: lists check
    # visibility only while this is in the future, so seeded pages stay O(page).
    pending_until: int = 0
    created_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        """The behaviour name (full, no_list, ...)."""
        return self.behaviour.name

    def __repr__(self) -> str:
        return f"Integration({self.id!r}, {self.name!r})"

    def add_application(self, app: Application) -> None:
        """An application created at runtime (POST /_sandbox/applications), kept in list order."""
        with self.created_lock:
            bisect.insort(self.applications, app, key=_sort_key)
            bisect.insort(self.applications_all, app, key=_sort_key)
            self.application_by_id[app.id] = app
            bisect.insort(self.applications_by_job.setdefault(app.job.id, []), app, key=_sort_key)
            app.candidate.applications.append(app)
            same_job = self.candidates_by_job.setdefault(app.job.id, [])
            if app.candidate not in same_job:
                bisect.insort(same_job, app.candidate, key=_sort_key)
            self.pending_until = max(self.pending_until, app.visible_ms)

    def build_indexes(self) -> None:
        """Sort the records and build the lookup indexes the query layer relies on."""
        self.jobs.sort(key=_sort_key)
        self.job_by_id = {j.id: j for j in self.jobs}
        self.applications_all.sort(key=_sort_key)
        self.applications = [a for a in self.applications_all if a.deleted_ms is None]
        self.application_by_id = {a.id: a for a in self.applications_all}
        by_job: dict[str, list[Application]] = defaultdict(list)
        for app in self.applications_all:  # sorted, so every bucket is sorted too
            by_job[app.job.id].append(app)
        self.applications_by_job = dict(by_job)
        self.candidates_all.sort(key=_sort_key)
        self.candidates = [c for c in self.candidates_all if c.deleted_ms is None]
        self.candidate_by_id = {c.id: c for c in self.candidates_all}
        self.candidate_by_email = {
            e.lower(): c for c in self.candidates_all for e in (c.email, *c.extra_emails) if e
        }
        first: dict[str, list[Candidate]] = defaultdict(list)
        last: dict[str, list[Candidate]] = defaultdict(list)
        for cand in self.candidates_all:  # sorted, so every bucket is sorted too
            first[cand.first_name.lower()].append(cand)
            last[cand.last_name.lower()].append(cand)
        self.candidates_by_first = dict(first)
        self.candidates_by_last = dict(last)
        by_job_cand: dict[str, list[Candidate]] = defaultdict(list)
        for cand in self.candidates_all:
            for job_id in dict.fromkeys(a.job.id for a in cand.applications):
                by_job_cand[job_id].append(cand)
        self.candidates_by_job = dict(by_job_cand)


@lru_cache(maxsize=4096)
def _fold(text: str) -> str:
    """ASCII-fold a name for an e-mail local part: 'Lefèvre' -> 'lefevre', "O'Brien" -> 'obrien'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


def email_for(first: str, last: str, taken: dict[str, int]) -> str:
    """first.last@example.com, made unique with a number (first.last2@...) when needed."""
    base = f"{_fold(first)}.{_fold(last)}"
    n = taken.get(base, 0) + 1
    email = f"{base}@example.com" if n == 1 else f"{base}{n}@example.com"
    while email in taken:  # e.g. a generated "ada.lovelace" after the anchor took it
        n += 1
        email = f"{base}{n}@example.com"
    taken[base] = n
    taken[email] = 1
    return email


class _Seeder:
    """Builds one integration's records from a seeded random generator."""

    def __init__(self, behaviour: Behaviour, applications: int) -> None:
        self.b = behaviour
        iid = integration_id_for(behaviour)
        self.iid = iid
        # String seeds are hashed with SHA-512 by `random`, so they are stable across runs.
        seeded = random.Random(f"kombo-sandbox/{behaviour.name}")  # noqa: S311  # nosec B311
        self._random = seeded.random
        self.next_candidate_id = IdStream(iid, "candidate")
        self.next_application_id = IdStream(iid, "application")
        self.next_attachment_id = IdStream(iid, "attachment")
        self.target = applications
        self.taken_emails: dict[str, int] = {}
        self.integ = Integration(
            id=iid,
            behaviour=behaviour,
            created_ms=INTEGRATION_CREATED_MS,
            origin_id=make_id(iid, "origin"),
            scope_config_id=make_id(iid, "scope"),
        )
        self.tags = [
            Tag(make_id(iid, "tag", i), str(70 + i), name) for i, name in enumerate(catalog.TAGS)
        ]
        self.counts = {"candidate": 0, "application": 0, "live_application": 0, "attachment": 0}

    # random.choice/randrange cost ~4x a bare random(); seeding 60k records needs the speed.
    def _pick(self, seq: Sequence[T]) -> T:
        return seq[int(self._random() * len(seq))]

    def _between(self, low: int, high: int) -> int:
        return low + int(self._random() * (high - low))

    def _count(self, kind: str) -> int:
        n = self.counts[kind]
        self.counts[kind] = n + 1
        return n

    def run(self) -> Integration:
        """Seed jobs, anchors, generated candidates and deleted extras, then index."""
        self._seed_jobs()
        self._seed_anchors()
        while self.counts["live_application"] < self.target:
            self._seed_random_candidate()
        # A few deleted records on top, so include_deleted has something to show.
        for _ in range(self.target // 50):
            self._seed_random_candidate(deleted=True)
        if self.b.name == "messy":
            self._seed_messy()
        self.integ.build_indexes()
        return self.integ

    def _seed_jobs(self) -> None:
        specs = JOB_SPECS + (catalog.MESSY_JOBS if self.b.name == "messy" else ())
        for i, spec in enumerate(specs):
            stages = [
                Stage(make_id(self.iid, "stage", i, k), str(9000 + i * 10 + k), name, k)
                for k, name in enumerate(spec.stages)
            ]
            created = REFERENCE_MS - (420 - i * 9) * DAY_MS
            closed = created + 200 * DAY_MS if spec.status in ("CLOSED", "ARCHIVED") else None
            job = Job(
                make_id(self.iid, "job", i),
                str(4000 + i),
                spec,
                f"JOB-{100 + i}",
                stages,
                created,
                closed or created + 30 * DAY_MS,
                closed,
            )
            self.integ.jobs.append(job)
        self.jobs_by_name = {j.name: j for j in self.integ.jobs}
        open_jobs = [j for j in self.integ.jobs if j.spec.status == "OPEN"]
        closed_jobs = [j for j in self.integ.jobs if j.spec.status in ("CLOSED", "ARCHIVED")]
        # Applicants mostly go to open jobs; drafts never have applicants.
        self.job_pool = open_jobs * 3 + closed_jobs

    def _new_candidate(self, first: str, last: str, email: str | None = None) -> Candidate:
        idx = self._count("candidate")
        seed = int(self._random() * 2**40)
        return Candidate(
            id=self.next_candidate_id(),
            remote_id=str(100_000 + idx),
            first_name=first,
            last_name=last,
            email=email or email_for(first, last, self.taken_emails),
            seed=seed,
            tag=self.tags[seed % len(self.tags)] if seed % 5 == 0 else None,
        )

    def _new_application(
        self, cand: Candidate, job: Job, stage: Stage, created: int, deleted: bool = False
    ) -> Application:
        idx = self._count("application")
        if not deleted:
            self.counts["live_application"] += 1
        outcome, reason = "PENDING", None
        roll = self._random()
        if stage.name == "Hired":
            outcome = "HIRED"
        elif job.spec.status != "OPEN" or roll < 0.15:
            outcome = "DECLINED"
            reason = catalog.REJECTION_REASONS[int(roll * 1000) % len(catalog.REJECTION_REASONS)]
        updated = min(created + self._between(0, 30 * DAY_MS), REFERENCE_MS)
        app = Application(
            self.next_application_id(),
            str(500_000 + idx),
            cand,
            job,
            stage,
            outcome,
            reason,
            created,
            updated,
            updated + DAY_MS if deleted else None,
        )
        app.nulls = self.b.name == "messy" and idx % 3 == 0
        cand.applications.append(app)
        self.integ.applications_all.append(app)
        return app

    def _finish_candidate(self, cand: Candidate, deleted: bool = False) -> None:
        cand.nulls = self.b.name == "messy" and self.counts["candidate"] % 3 == 0
        apps = cand.applications
        cand.created_ms = min(a.created_ms for a in apps) - self._between(HOUR_MS, 2 * DAY_MS)
        cand.updated_ms = max(a.updated_ms for a in apps)
        if deleted:
            cand.deleted_ms = cand.updated_ms + DAY_MS
        self.integ.candidates_all.append(cand)

    def _add_attachment(
        self, cand: Candidate, app: Application, kind: str, file_name: str, content_type: str
    ) -> None:
        idx = self._count("attachment")
        att = Attachment(
            id=self.next_attachment_id(),
            remote_id=str(700_000 + idx),
            integration_id=self.iid,
            candidate_id=cand.id,
            # Candidate-level ATSs keep every file on the candidate, never on the application.
            application_id=None if self.b.candidate_level else app.id,
            type=kind,
            file_name=file_name,
            content_type=content_type,
            created_ms=app.created_ms + self._between(0, HOUR_MS),
            updated_ms=None,
            seed_text=(cand.full_name, app.job.name),
        )
        self.integ.seeded_attachments.setdefault(cand.id, []).append(att)

    def _seed_anchors(self) -> None:
        # Anchors are the newest applications, so they head the first page of every list.
        created = REFERENCE_MS - HOUR_MS
        for key, spec in DEMO_CANDIDATES.items():
            self.taken_emails[spec["email"]] = 1
            cand = self._new_candidate(spec["first_name"], spec["last_name"], spec["email"])
            for app_spec in spec["applications"]:
                job = self.jobs_by_name[app_spec["job"]]
                stage = next(s for s in job.stages if s.name == app_spec["stage"])
                app = self._new_application(cand, job, stage, created)
                created -= HOUR_MS
                for att in app_spec["attachments"]:
                    self._add_attachment(
                        cand, app, att["type"], att["file_name"], att["content_type"]
                    )
            self._finish_candidate(cand)
            if key == "alan" and self.b.name == "full":
                self.integ.warning_candidate_id = cand.id

    def _seed_messy(self) -> None:
        """The realistic variant's extras: many scripts, several or no e-mails, unknown
        attachment types, and one candidate with 3,000 attachments."""
        job = self.jobs_by_name[JOB_SPECS[0].name]
        created = REFERENCE_MS - 2 * HOUR_MS
        for n, (first, last, emails) in enumerate(catalog.MESSY_CANDIDATES):
            cand = self._new_candidate(first, last, emails[0] if emails else "-")
            cand.email, cand.extra_emails = (emails[0] if emails else ""), emails[1:]
            app = self._new_application(cand, job, job.stages[0], created - n * 60_000)
            app.nulls = False  # the named extras stay findable and openable
            kind = catalog.UNKNOWN_ATTACHMENT_TYPES[n % 2]
            self._add_attachment(cand, app, kind, f"{first} {last} {kind}.pdf", catalog.PDF)
            self._finish_candidate(cand)
            cand.nulls = False
        cand = self._new_candidate("Many", "Files", catalog.MANY_ATTACHMENTS_EMAIL)
        app = self._new_application(cand, job, job.stages[0], created - HOUR_MS)
        app.nulls = False
        for i in range(catalog.MANY_ATTACHMENTS):
            self._add_attachment(cand, app, "OTHER", f"Scan {i + 1:04d}.pdf", catalog.PDF)
        self._finish_candidate(cand)
        cand.nulls = False

    def _seed_random_candidate(self, deleted: bool = False) -> None:
        cand = self._new_candidate(self._pick(catalog.FIRST_NAMES), self._pick(catalog.LAST_NAMES))
        roll = self._random()
        wanted = 1 if roll < 0.75 or deleted else (2 if roll < 0.93 else 3)
        if not deleted:
            wanted = min(wanted, self.target - self.counts["live_application"])
        jobs: list[Job] = []
        while len(jobs) < wanted:
            job = self._pick(self.job_pool)
            if job not in jobs:
                jobs.append(job)
        for job in jobs:
            k = min(bisect.bisect(_FUNNEL, self._random()), len(job.stages) - 1)
            created = REFERENCE_MS - 5 * HOUR_MS - self._between(0, 540 * DAY_MS)
            self._new_application(cand, job, job.stages[k], created, deleted)
        self._finish_candidate(cand, deleted)
        if deleted:
            return
        if roll < 0.35:
            app = self._pick(cand.applications)
            self._add_attachment(cand, app, "CV", f"{cand.full_name} CV.pdf", catalog.PDF)
        if roll < 0.12:
            app = self._pick(cand.applications)
            self._add_attachment(
                cand, app, "COVER_LETTER", f"{cand.full_name} Cover Letter.txt", "text/plain"
            )


def integration_id_for(behaviour: Behaviour) -> str:
    """The stable integration ID of a behaviour: `<tool>:<24 base58>`."""
    return f"{behaviour.tool}:{make_id('integration', behaviour.name)}"


class Dataset:
    """All seeded integrations, built lazily and thread-safely.

    Seeding 10,000 applications for six integrations takes a few seconds of pure Python on
    a slow machine, so the server starts at once and `warm()` (run in a background thread)
    builds each integration; a request for one that isn't built yet builds it first.
    """

    def __init__(self, applications: int = 200, variants: bool = False) -> None:
        if applications < 0:
            raise ValueError("applications must be >= 0")
        # The anchors always exist, so the smallest data set holds exactly them.
        anchors = sum(len(c["applications"]) for c in DEMO_CANDIDATES.values())
        self.target = max(applications, anchors)
        behaviours = catalog.BEHAVIOUR_SPECS + ((catalog.MESSY,) if variants else ())
        self.behaviour_by_id = {integration_id_for(b): b for b in behaviours}
        self.id_by_behaviour = {b.name: iid for iid, b in self.behaviour_by_id.items()}
        self._built: dict[str, Integration] = {}
        self._locks = {iid: threading.Lock() for iid in self.behaviour_by_id}
        self._attachments: dict[str, Attachment] = {}
        self._attachments_lock = threading.Lock()

    def get(self, integration_id: str) -> Integration | None:
        """The integration with this ID (seeding it now if needed), or None if unknown."""
        built = self._built.get(integration_id)
        if built is not None:
            return built
        lock = self._locks.get(integration_id)
        if lock is None:
            return None
        with lock:
            if integration_id not in self._built:
                integ = _Seeder(self.behaviour_by_id[integration_id], self.target).run()
                with self._attachments_lock:
                    for atts in integ.seeded_attachments.values():
                        self._attachments.update((a.id, a) for a in atts)
                self._built[integration_id] = integ
        return self._built[integration_id]

    def by_behaviour(self, name: str) -> Integration:
        """The integration seeded for a behaviour name (KeyError if there is none)."""
        integ = self.get(self.id_by_behaviour[name])
        if integ is None:  # unreachable: every behaviour has an ID
            raise KeyError(name)
        return integ

    def warm(self) -> None:
        """Seed every integration now (the server calls this in a background thread)."""
        for iid in self.behaviour_by_id:
            self.get(iid)

    def seeded_attachment(self, attachment_id: str) -> Attachment | None:
        """A seeded attachment by ID, from any integration."""
        if len(self._built) < len(self._locks):
            self.warm()
        return self._attachments.get(attachment_id)


def build_dataset(applications: int = 200) -> Dataset:
    """Seed every behaviour's integration now, with `applications` live applications each."""
    dataset = Dataset(applications)
    dataset.warm()
    return dataset
