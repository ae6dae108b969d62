"""SIGTERM while uploads are in flight, under gunicorn with the shipped configuration:
they finish, and none is lost or half-sent."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import samples
from conftest import embed_client, record
from support import gunicorn_workers, start_gunicorn


@pytest.mark.timeout(180)
def test_sigterm_lets_in_flight_uploads_finish(sandbox, tmp_path):
    proc, url = start_gunicorn(sandbox, tmp_path, KOMBO_WRITE_TIMEOUT=30.0)
    try:
        iid = sandbox.iid("full")
        client = embed_client(url, "acme", iid)
        apps = client.get(f"/api/v1/integrations/{iid}/applications").json()["applications"][:6]
        files = [samples.pdf(f"graceful {i} {time.time()}") for i in range(6)]
        sandbox.fault("add_application_attachment", count=6, delay=3.0)  # the ATS is slow
        with ThreadPoolExecutor(6) as pool:
            futures = [
                pool.submit(client.upload, iid, apps[i]["id"], files[i], f"graceful{i}.pdf")
                for i in range(6)
            ]
            sandbox.wait_faults_taken("add_application_attachment")  # all six are in flight
            proc.send_signal(signal.SIGTERM)
            results = [f.result() for f in futures]
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    stored = {u["sha256"] for u in sandbox.uploads()}
    completed = sum(r.status_code == 201 for r in results)
    lost = sum(hashlib.sha256(f).hexdigest() not in stored for f in files)
    record("graceful stop (gunicorn, SIGTERM)", in_flight_at_term=6, completed=completed, lost=lost)
    assert [r.status_code for r in results] == [201] * 6
    assert lost == 0
    assert all(
        sum(u["sha256"] == hashlib.sha256(f).hexdigest() for u in sandbox.uploads()) == 1
        for f in files
    )


@pytest.mark.timeout(150)
def test_access_log_has_no_download_tokens_or_search_terms(sandbox, tmp_path):
    proc, url = start_gunicorn(sandbox, tmp_path)
    try:
        iid = sandbox.iid("full")
        client = embed_client(url, "acme", iid)
        found = client.get(
            f"/api/v1/integrations/{iid}/applications", params={"email": "ada.lovelace@example.com"}
        )
        app = next(a for a in found.json()["applications"] if a["job_name"] == "Backend Engineer")
        item = client.get(
            f"/api/v1/integrations/{iid}/applications/{app['id']}/attachments"
        ).json()["attachments"][0]
        assert client.get(item["download_url"]).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        log, _ = proc.communicate(timeout=30)
    assert "GET /download/[redacted]" in log and "?[redacted]" in log  # the requests were logged
    token = item["download_url"].rsplit("/", 1)[1]
    assert token not in log and "lovelace" not in log


def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail("no worker came back after the kill")


@pytest.mark.timeout(180)
@pytest.mark.parametrize("applied", [True, False], ids=["ats-got-it", "ats-did-not"])
def test_a_retry_after_a_worker_was_killed_mid_upload_stores_it_once(sandbox, tmp_path, applied):
    """The worker sending the file is SIGKILLed (the user's connection drops); the page retries
    with the same Idempotency-Key. The retry waits for the dead worker's lease to lapse, looks for
    the file by content, and sends it only if the ATS does not have it."""
    proc, url = start_gunicorn(
        sandbox, tmp_path, WORKERS=1, KOMBO_WRITE_TIMEOUT=30.0, UPLOAD_LEASE_SECONDS=2.0
    )
    try:
        iid = sandbox.iid("full")
        client = embed_client(url, "acme", iid)
        aid = client.get(f"/api/v1/integrations/{iid}/applications").json()["applications"][0]["id"]
        content = samples.pdf(f"killed mid-upload {applied} {time.time_ns()}")
        key = f"kill-{time.time_ns()}"
        sandbox.fault("add_application_attachment", count=1, delay=8.0, apply=applied)
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(
                client.upload, iid, aid, content, "cv.pdf", headers={"Idempotency-Key": key}
            )
            sandbox.wait_faults_taken("add_application_attachment")  # the file is in flight
            (worker,) = gunicorn_workers(proc.pid)
            os.kill(worker, signal.SIGKILL)
            with pytest.raises(requests.ConnectionError):
                first.result()
        _wait_healthy(url)
        retry = client.upload(iid, aid, content, "cv.pdf", headers={"Idempotency-Key": key})
        again = client.upload(iid, aid, content, "cv.pdf", headers={"Idempotency-Key": key})
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    sha = hashlib.sha256(content).hexdigest()
    stored = sum(u["sha256"] == sha for u in sandbox.uploads())
    record(
        "worker SIGKILLed mid-upload, retried with the same key", runs=1, stored_twice=stored > 1
    )
    assert retry.status_code == 201, retry.text
    assert retry.json()["confirmed_by"] == ("listing" if applied else "kombo")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert stored == 1


def test_uploads_work_when_the_metrics_folder_is_gone(sandbox, tmp_path, monkeypatch):
    """A tmp cleaner (or an operator) removes the metrics folder under a running portal: the
    metrics are lost, the uploads are not (a red team saw every upload become a 500)."""
    import shutil

    folder = tmp_path / "metrics"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    proc, url = start_gunicorn(sandbox, tmp_path)
    try:
        shutil.rmtree(folder)
        client = embed_client(url, "acme", sandbox.iid("full"))
        app = client.get(f"/api/v1/integrations/{sandbox.iid('full')}/applications").json()
        aid = app["applications"][0]["id"]
        resp = client.upload(sandbox.iid("full"), aid, samples.pdf("metrics gone"), "m.pdf")
        assert resp.status_code == 201, resp.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
