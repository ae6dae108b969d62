"""The official Kombo SDK (1.4.0) against the sandbox.

The SDK's pydantic models are strict (required-but-nullable fields, closed enums), so any
shape the sandbox gets wrong surfaces here as a ResponseValidationError.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import pytest
import requests
from kombo import Kombo
from kombo.errors import KomboAtsError

from portal.sandbox import DEFAULT_API_KEY, SandboxServer

PDF = b"%PDF-1.4\n% sdk upload\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def srv() -> Iterator[SandboxServer]:
    server = SandboxServer(applications=60).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh(srv: SandboxServer) -> None:
    requests.post(f"{srv.root_url}/_sandbox/reset", timeout=5).raise_for_status()


def sdk(srv: SandboxServer, behaviour: str = "full") -> Kombo:
    return Kombo(
        api_key=DEFAULT_API_KEY,
        integration_id=srv.integration_id(behaviour),
        server_url=srv.base_url,
    )


def uploads(srv: SandboxServer) -> list[dict]:
    return requests.get(f"{srv.root_url}/_sandbox/uploads", timeout=5).json()


def test_general_endpoints(srv):
    with sdk(srv) as k:
        assert k.general.check_api_key().data.environment_id
        for behaviour in ("full", "invalid", "no_upload"):
            iid = srv.integration_id(behaviour)
            details = k.general.get_integration_details(integration_id=iid).data
            assert details.id == iid and details.category == "ATS"
            [action] = [
                a for a in details.write_actions if a.id == "ats_add_application_attachment"
            ]
            assert action.is_available is (behaviour != "no_upload")


@pytest.mark.parametrize("behaviour", ["full", "restricted", "candidate_level", "no_upload"])
def test_read_models_validate(srv, behaviour):
    with sdk(srv, behaviour) as k:
        page = k.ats.get_applications(page_size=25)
        seen = []
        while page is not None:
            seen += [a.id for a in page.result.data.results]
            page = page.next()  # the SDK re-sends the same filters with the cursor
        assert len(seen) == len(set(seen)) == 60
        deleted = k.ats.get_applications(include_deleted=True, page_size=250)
        assert len(deleted.result.data.results) > 60
        [ada] = k.ats.get_candidates(email="Ada.Lovelace@example.com").result.data.results
        assert {a.job.name for a in ada.applications} == {"Backend Engineer", "Data Scientist"}
        jobs = k.ats.get_jobs(statuses=["OPEN"], name_contains="engineer").result.data.results
        assert jobs and all(j.status == "OPEN" for j in jobs)
        everyone = k.ats.get_candidates(page_size=250, include_deleted=True).result.data.results
        assert everyone


@pytest.mark.parametrize("behaviour", ["full", "candidate_level", "restricted"])
def test_attachment_endpoints_validate(srv, behaviour):
    with sdk(srv, behaviour) as k:
        for email in ("ada.lovelace@example.com", "alan.turing@example.com"):
            [cand] = k.ats.get_candidates(email=email).result.data.results
            listed = k.ats.get_candidate_attachments(candidate_id=cand.id)
            assert listed.data.results and all(
                a.candidate_id == cand.id for a in listed.data.results
            )
            if behaviour == "candidate_level":
                assert all(a.application_id is None for a in listed.data.results)
            for app in cand.applications:
                k.ats.get_application_attachments(application_id=app.id)


@pytest.mark.parametrize("behaviour", ["full", "candidate_level"])
def test_sdk_upload_lands_with_identical_bytes(srv, behaviour):
    content = PDF + behaviour.encode()
    with sdk(srv, behaviour) as k:
        [grace] = k.ats.get_candidates(email="grace.hopper@example.com").result.data.results
        app_id = grace.applications[0].id
        res = k.ats.add_application_attachment(
            application_id=app_id,
            attachment={
                "name": "Grace Hopper CV.pdf",
                "type": "CV",
                "content_type": "application/pdf",
                "data": base64.b64encode(content).decode(),
            },
        )
        assert (len(res.warnings) == 1) is (behaviour == "candidate_level")
        [stored] = uploads(srv)
        assert stored["sha256"] == hashlib.sha256(content).hexdigest()
        assert stored["application_id"] == app_id and stored["name"] == "Grace Hopper CV.pdf"
        [listed] = k.ats.get_candidate_attachments(candidate_id=grace.id).data.results
        assert requests.get(listed.data_url, timeout=5).content == content


def test_sdk_upload_by_data_url(srv):
    with sdk(srv) as k:
        [ada] = k.ats.get_candidates(email="ada.lovelace@example.com").result.data.results
        [cv] = k.ats.get_candidate_attachments(candidate_id=ada.id).data.results
        k.ats.add_application_attachment(
            application_id=ada.applications[1].id,
            attachment={
                "name": "Copy of CV.pdf",
                "type": "OTHER",
                "data_url": cv.data_url,
            },
        )
        original = requests.get(cv.data_url, timeout=5).content
        assert uploads(srv)[0]["sha256"] == hashlib.sha256(original).hexdigest()


@pytest.mark.parametrize(
    ("behaviour", "attachment", "code"),
    [
        (
            "full",
            {
                "name": "a.bin",
                "type": "OTHER",
                "content_type": "application/octet-stream",
                "data": "AAAA",
            },
            "PLATFORM.INPUT_INVALID",
        ),
        (
            "restricted",
            {
                "name": "c.pdf",
                "type": "COVER_LETTER",
                "content_type": "application/pdf",
                "data": "JVBERg==",
            },
            "REMOTE.INPUT_INVALID",
        ),
        (
            "no_upload",
            {"name": "c.pdf", "type": "CV", "content_type": "application/pdf", "data": "JVBERg=="},
            "INTEGRATION.ACTION_NOT_AVAILABLE",
        ),
    ],
)
def test_sdk_parses_error_envelopes(srv, behaviour, attachment, code):
    with sdk(srv, behaviour) as k:
        [grace] = k.ats.get_candidates(email="grace.hopper@example.com").result.data.results
        with pytest.raises(KomboAtsError) as info:
            k.ats.add_application_attachment(
                application_id=grace.applications[0].id, attachment=attachment
            )
        assert info.value.data.error.code == code and info.value.data.error.message
        assert info.value.data.error.log_url.startswith("https://app.kombo.dev/")
    assert uploads(srv) == []


def test_sdk_parses_invalid_integration_and_minimal_envelope(srv):
    with sdk(srv, "invalid") as k, pytest.raises(KomboAtsError) as info:
        k.ats.get_jobs()
    assert info.value.status_code == 403
    assert info.value.data.error.code == "INTEGRATION.AUTHENTICATION_INVALID"
    requests.post(
        f"{srv.root_url}/_sandbox/faults",
        json={"endpoint": "list_jobs", "status": 500, "code": None, "message": "boom"},
        timeout=5,
    )
    with sdk(srv) as k, pytest.raises(KomboAtsError) as info:
        k.ats.get_jobs()
    assert info.value.data.error.code is None and info.value.data.error.message == "boom"


def test_the_messy_variant_is_still_within_the_spec():
    """Nulls in every nullable field, several or no e-mails, many scripts: the SDK's strict
    models accept every record (the unknown attachment types are Kombo's future, not its
    present: the SDK's closed enum refuses them, which is why the portal does not use it)."""
    with SandboxServer(applications=60, variants=True) as server, sdk(server, "messy") as k:
        page = k.ats.get_applications(page_size=250)
        apps = page.result.data.results
        assert any(a.candidate is None and a.remote_created_at is None for a in apps)
        people = k.ats.get_candidates(page_size=250).result.data.results
        assert any(c.first_name is None for c in people)
        assert any(c.first_name == "李" for c in people)
        [zoe] = k.ats.get_candidates(email="zoe@work.example").result.data.results
        assert len(zoe.email_addresses) == 3
