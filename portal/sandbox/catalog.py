"""Static tables the sandbox seeds from: integrations, jobs, names, demo candidates."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_API_KEY = "sandbox-api-key"
ENVIRONMENT_ID = "6mUtdDsSbXXdNnJVrEsyGq2y"
MIB = 1024 * 1024

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PNG = "image/png"
JPEG = "image/jpeg"

ATTACHMENT_TYPES = ("CV", "COVER_LETTER", "OTHER")
# Human wording for each type, used in the messages an ATS would send back.
TYPE_WORDS = {"CV": "CVs", "COVER_LETTER": "cover letters", "OTHER": "other attachments"}


@dataclass(frozen=True)
class TypeRule:
    """One attachment type's restriction, as GET /ats/actions/... documents it."""

    is_supported: bool
    max_file_size_bytes: int | None = None
    accepted_mime_types: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Behaviour:
    """How one seeded integration behaves, and which ATS it pretends to be."""

    name: str
    tool: str
    label: str
    organization: str
    creator_email: str
    status: str = "ACTIVE"
    can_list: bool = True
    can_upload: bool = True
    candidate_level: bool = False
    # None = "attachment_restrictions": null (Kombo has no information).
    restrictions: dict[str, TypeRule] | None = field(default=None)
    candidate_url: str = ""
    application_url: str | None = None


_ALL_OPEN = {t: TypeRule(True) for t in ATTACHMENT_TYPES}

BEHAVIOUR_SPECS: tuple[Behaviour, ...] = (
    Behaviour(
        "full",
        "greenhouse",
        "Greenhouse",
        "Acme Robotics",
        "it-admin@acme-robotics.example",
        restrictions=_ALL_OPEN,
        candidate_url="https://app.greenhouse.io/people/{c}",
        application_url="https://app.greenhouse.io/people/{c}/applications/{a}",
    ),
    Behaviour(
        "no_list",
        "recruitee",
        "Recruitee",
        "Globex Corporation",
        "hr@globex.example",
        can_list=False,
        candidate_url="https://app.recruitee.com/#/candidates/{c}",
    ),
    Behaviour(
        "restricted",
        "workday",
        "Workday",
        "Initech",
        "talent@initech.example",
        restrictions={
            "CV": TypeRule(True, 5 * MIB, (PDF, DOCX)),
            "COVER_LETTER": TypeRule(False),
            "OTHER": TypeRule(True, 10 * MIB, (PDF, DOCX, PNG, JPEG)),
        },
        candidate_url="https://wd5.myworkday.com/initech/d/inst/candidate/{c}.htmld",
        application_url="https://wd5.myworkday.com/initech/d/inst/jobapplication/{a}.htmld",
    ),
    Behaviour(
        "candidate_level",
        "bullhorn",
        "Bullhorn",
        "Umbrella Staffing",
        "ops@umbrella.example",
        candidate_level=True,
        restrictions={t: TypeRule(True, 20 * MIB, None) for t in ATTACHMENT_TYPES},
        candidate_url="https://cls5.bullhornstaffing.com/BullhornSTAFFING/OpenWindow.cfm"
        "?Entity=Candidate&id={c}",
    ),
    Behaviour(
        "invalid",
        "lever",
        "Lever",
        "Stark Industries",
        "people@stark.example",
        status="INVALID",
        restrictions=_ALL_OPEN,
        candidate_url="https://hire.lever.co/candidates/{c}",
    ),
    Behaviour(
        "no_upload",
        "bamboohr",
        "BambooHR",
        "Wayne Enterprises",
        "hr@wayne.example",
        can_upload=False,
        restrictions={t: TypeRule(False) for t in ATTACHMENT_TYPES},
        candidate_url="https://wayne.bamboohr.com/hiring/candidates/{c}",
    ),
)

BEHAVIOURS: list[str] = [b.name for b in BEHAVIOUR_SPECS]
BEHAVIOUR_BY_NAME = {b.name: b for b in BEHAVIOUR_SPECS}

# The standard pipeline; each job uses 4-6 of these stages, in this order.
PIPELINE = (
    "Application Review",
    "Phone Screen",
    "Technical Assessment",
    "Interview",
    "Offer",
    "Hired",
)


@dataclass(frozen=True)
class JobSpec:
    """A seeded job: title, department, status and which pipeline stages it uses."""

    name: str
    department: str
    status: str
    stages: tuple[str, ...]
    employment_type: str = "FULL_TIME"
    visibility: str = "PUBLIC"
    city: str = "Berlin"


_ENG = PIPELINE
_STD = ("Application Review", "Phone Screen", "Interview", "Offer", "Hired")
_SHORT = ("Application Review", "Interview", "Offer", "Hired")

JOB_SPECS: tuple[JobSpec, ...] = (
    JobSpec("Backend Engineer", "Engineering", "OPEN", _ENG),
    JobSpec("Data Scientist", "Data", "OPEN", _STD, city="London"),
    JobSpec("Frontend Engineer", "Engineering", "OPEN", _ENG, city="Amsterdam"),
    JobSpec("Account Executive", "Sales", "OPEN", _STD, city="New York"),
    JobSpec("Product Manager", "Product", "OPEN", _STD),
    JobSpec("Product Designer", "Design", "OPEN", _ENG, city="Lisbon"),
    JobSpec("DevOps Engineer", "Engineering", "CLOSED", _ENG, city="Munich"),
    JobSpec("Customer Success Manager", "Customer Success", "OPEN", _SHORT, city="Dublin"),
    JobSpec("Marketing Manager", "Marketing", "OPEN", _STD, city="Paris"),
    JobSpec("Sales Development Representative", "Sales", "OPEN", _SHORT, city="Barcelona"),
    JobSpec("HR Business Partner", "People", "CLOSED", _STD, visibility="INTERNAL"),
    JobSpec("Financial Analyst", "Finance", "OPEN", _SHORT, "PART_TIME", city="Zurich"),
    JobSpec("QA Engineer", "Engineering", "ARCHIVED", _STD, "CONTRACT", city="Warsaw"),
    JobSpec("Technical Writer", "Engineering", "DRAFT", _SHORT, "CONTRACT", "UNLISTED"),
    JobSpec(
        "Working Student Operations", "Operations", "DRAFT", _SHORT, "INTERNSHIP", city="Hamburg"
    ),
)


def _words(text: str) -> tuple[str, ...]:
    """Whitespace-separated words, so long name lists stay compact and readable."""
    return tuple(text.split())


# Realistic names, some with accents (e-mails fold them to ASCII: Lefèvre -> lefevre).
FIRST_NAMES = _words(
    """Liam Olivia Noah Emma Oliver Charlotte Elijah Amelia James Sophia William Isabella
    Benjamin Mia Lucas Evelyn Henry Harper Theodore Camila Jack Gianna Levi Abigail Alexander
    Luna Jackson Ella Mateo Elizabeth Daniel Sofia Michael Emily Mason Avery Sebastian Mila
    Ethan Aria Lena Jonas Leonie Finn Hannah Felix Clara Paul Marie Luis José Chloé Zoë Björn
    Noémie Priya Arjun Mei Hiroshi Fatima Omar Aisha Kwame Ngozi Santiago Valentina Matteo
    Giulia"""
)
LAST_NAMES = (
    *_words(
        """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Wilson
    Anderson Taylor Thomas Moore Jackson Martin Lee Thompson White Harris Clark Lewis Robinson
    Walker Young Allen King Wright Scott Müller Schmidt Schneider Fischer Weber Meyer Wagner
    Becker Schulz Hoffmann Dubois Lefèvre Moreau Rossi Bianchi Fernández López Nakamura Tanaka
    Patel Sharma Chen Wang Kim Park Nguyen Okafor Mensah Kowalski Nowak Jansen O'Brien
    Murphy"""
    ),
    "de Vries",
)
COMPANIES = (
    None,
    None,
    "Initrode",
    "Hooli",
    "Pied Piper",
    "Vandelay Industries",
    "Soylent Corp",
    "Massive Dynamic",
    "Cyberdyne Systems",
    "Tyrell Corporation",
    "Wonka Industries",
)
TITLES = (
    None,
    "Software Engineer",
    "Senior Software Engineer",
    "Data Analyst",
    "Account Manager",
    "Product Owner",
    "UX Designer",
    "Site Reliability Engineer",
    "Marketing Specialist",
)
SOURCES = (
    None,
    "LinkedIn",
    "Employee Referral",
    "Career Site",
    "Indeed",
    "Agency",
    "Stack Overflow",
)
CITIES = (
    ("Berlin", "DE"),
    ("London", "GB"),
    ("Amsterdam", "NL"),
    ("Paris", "FR"),
    ("New York", "US"),
    ("Lisbon", "PT"),
    ("Munich", "DE"),
    ("Dublin", "IE"),
)
TAGS = ("High Potential", "Referral", "Relocation needed", "Silver Medalist")
REJECTION_REASONS = ("Not a fit", "Withdrew", "Position filled", "Salary expectations")

# Anchor candidates seeded into every integration. Tests and the demo rely on them, so the
# seeding code reads this dict instead of repeating the facts.
DEMO_CANDIDATES: dict[str, dict] = {
    "ada": {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada.lovelace@example.com",
        "applications": [
            {
                "job": "Backend Engineer",
                "stage": "Interview",
                "attachments": [
                    {"file_name": "Ada Lovelace CV.pdf", "type": "CV", "content_type": PDF},
                ],
            },
            {"job": "Data Scientist", "stage": "Phone Screen", "attachments": []},
        ],
        "note": "On the candidate_level integration her CV is candidate-level "
        "(application_id null).",
    },
    "grace": {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace.hopper@example.com",
        "applications": [
            {"job": "Backend Engineer", "stage": "Application Review", "attachments": []},
        ],
        "note": "No attachments anywhere.",
    },
    "alan": {
        "first_name": "Alan",
        "last_name": "Turing",
        "email": "alan.turing@example.com",
        "applications": [
            {
                "job": "Data Scientist",
                "stage": "Offer",
                "attachments": [
                    {"file_name": "Alan Turing CV.pdf", "type": "CV", "content_type": PDF},
                    {
                        "file_name": "Alan Turing Cover Letter.txt",
                        "type": "COVER_LETTER",
                        "content_type": "text/plain",
                    },
                ],
            },
        ],
        "note": "On the 'full' integration his candidate attachment list carries a warning.",
    },
}


# -- realistic variants (Dataset(variants=True), `portal sandbox --variants`) -------------------
# One more integration whose data looks like real ATSs' rather than like our seeds: nulls in
# every nullable field (every third record), attachment types Kombo may add later, candidates
# with several e-mails or none, names in many scripts, one candidate with 3,000 attachments,
# and 60 more open jobs (more than one page of the portal's job list).
MESSY = Behaviour(
    "messy",
    "teamtailor",
    "Teamtailor",
    "Ünïcode & Söhne GmbH",
    "it@unicode-soehne.example",
    restrictions=None,
    candidate_url="https://app.teamtailor.com/candidates/{c}",
)
MESSY_JOBS: tuple[JobSpec, ...] = tuple(
    JobSpec(f"Offene Stelle {i:02d} – Zürich", "Operations", "OPEN", _SHORT, city="Zürich")
    for i in range(1, 61)
)
# (first name, last name, e-mails): several, or none at all.
MESSY_CANDIDATES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Zoë", "Ångström", ("zoe.angstrom@example.com", "z.a@example.org", "zoe@work.example")),
    ("李", "小龙", ()),
    ("محمد", "الأحمد", ("mohammed.alahmad@example.com",)),
    ("Nguyễn", "Thị Minh Khai", ()),
    ("Ǆemal", "Đorđević", ("dzemal@example.com", "dzemal.dordevic@example.com")),
    ("Ωmega", "Παπαδοπούλου", ("omega@example.gr",)),
)
MANY_ATTACHMENTS_EMAIL = "many.files@example.com"
MANY_ATTACHMENTS = 3000
UNKNOWN_ATTACHMENT_TYPES = ("REFERENCE_LETTER", "PORTFOLIO")
