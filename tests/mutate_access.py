"""Hand mutation run on the access checks: each mutant deletes or weakens one check (the ones a
review found unpinned, and the new ones); it is killed if the tests named beside it fail.

Run: python tests/mutate_access.py [word…]   (about 3 minutes; restores every file it edits;
words pick the mutants whose name has them all)."""

import pathlib
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parents[1]
T = "tests/test_access.py"
S = "tests/test_sessions.py"
M = [
    (
        "configured-integration check",
        "portal/tokens.py",
        'if iid not in partner.get("integrations", []) or iid not in integrations:',
        'if iid not in partner.get("integrations", []):',
        [S, "-k", "does_not_serve"],
    ),
    (
        "token lifetime",
        "portal/tokens.py",
        'if claims["exp"] - claims["iat"] > MAX_EMBED_TTL:',
        'if claims["exp"] - claims["iat"] > MAX_EMBED_TTL * 10:',
        [T, "-k", "bad_tokens"],
    ),
    (
        "future-dated iat",
        "portal/tokens.py",
        'if claims["iat"] > t + LEEWAY or',
        "if False or",
        [T, "-k", "bad_tokens"],
    ),
    (
        "expired",
        "portal/tokens.py",
        'if claims["exp"] + LEEWAY < t:',
        "if False:",
        [T, "-k", "bad_tokens"],
    ),
    (
        "removed partner keeps sessions",
        "portal/tokens.py",
        'if partner is None or session.integration_id not in partner.get("integrations", []):',
        "if partner is None:",
        [S, "-k", "losing_an_integration"],
    ),
    (
        "secret rotation",
        "portal/tokens.py",
        'if session.fingerprint not in {_fingerprint(s) for s in partner["secrets"]}:',
        "if False:",
        [S, "-k", "rotating"],
    ),
    (
        "revoked session",
        "portal/tokens.py",
        'if store.get(f"embed-revoked:{session.session_id}") is not None:',
        "if False:",
        [S, "-k", "signs_out_of_the_embed"],
    ),
    (
        "revoke-all epoch",
        "portal/tokens.py",
        "if epoch is not None and session.issued_at <= float(epoch):",
        "if False:",
        [S, "-k", "ends_all"],
    ),
    (
        "replay",
        "portal/tokens.py",
        "if not get_store().claim(f\"jti:{claims['iss']}:{claims['jti']}\", ttl_left):",
        "if False:",
        [T, "-k", "exchanged_once"],
    ),
    (
        "scope",
        "portal/tokens.py",
        "if not scope or not set(scope) <= SCOPES:",
        "if not scope:",
        [T, "-k", "bad_tokens"],
    ),
    (
        "origin",
        "portal/tokens.py",
        'if origin is not None and origin not in partner.get("origins", []):',
        "if False:",
        [T, "-k", "bad_tokens"],
    ),
    (
        "claim types",
        "portal/tokens.py",
        "if name in claims and not check(claims[name]):",
        "if False:",
        [T, "-k", "bad_tokens"],
    ),
    (
        "wrong partner page",
        "portal/tokens.py",
        'if partner is not None and claims["iss"] != partner:',
        "if False:",
        [T, "-k", "another_partner_page"],
    ),
    (
        "session expiry (clock)",
        "portal/tokens.py",
        "if session.expires_at <= now():",
        "if False:",
        [T, "-k", "expired_sessions"],
    ),
    (
        "download-link integration",
        "portal/tokens.py",
        '    if iid not in cfg["INTEGRATIONS"]:\n        raise invalid',
        "    if False:\n        raise invalid",
        [T, "-k", "download_links"],
    ),
    (
        "download-link expiry",
        "portal/tokens.py",
        "if not isinstance(expires, int | float) or expires <= now():",
        "if False:",
        [T, "-k", "download_links"],
    ),
    (
        "download lock",
        "portal/downloads.py",
        "if found is not None and only_application is not None:",
        "if False:",
        [T, "-k", "other_applications"],
    ),
    (
        "list filter",
        "portal/attachments.py",
        'raw = [a for a in raw if principal.may_see_file_of(a.get("application_id"))]',
        "pass",
        [T, "-k", "other_applications"],
    ),
    (
        "locked jobs",
        "portal/api.py",
        "if p.application_id is not None:",
        "if False:",
        [T, "-k", "cannot_list_jobs"],
    ),
    (
        "staff idle timeout",
        "portal/access.py",
        'and t - s.get("last_seen", 0) <= cfg["STAFF_IDLE_TIMEOUT"]',
        "and True",
        [S, "-k", "timeouts"],
    ),
    (
        "staff absolute timeout",
        "portal/access.py",
        't - s.get("auth_time", 0) <= cfg["STAFF_ABSOLUTE_TIMEOUT"]',
        "True",
        [S, "-k", "timeouts"],
    ),
    (
        "sign-out keeps record",
        "portal/access.py",
        "        if session.old_sid is not None:\n            store.release(session_key(session.old_sid))",
        "        pass",
        [S, "-k", "copied_before_sign_out"],
    ),
    (
        "no id rotation",
        "portal/access.py",
        "        session.regenerate()  #",
        "        pass  #",
        [S, "-k", "changes_at_sign_in"],
    ),
    (
        "changed password",
        "portal/access.py",
        'if stored is None or session.get("credential") != _credential(stored):',
        "if stored is None:",
        [S, "-k", "changed_password"],
    ),
    (
        "csrf hook",
        "portal/access.py",
        "    try:\n        csrf.protect()",
        "    return\n    try:\n        csrf.protect()",
        [T, S, "-k", "csrf or expired_page"],
    ),
    (
        "next control chars",
        "portal/auth.py",
        'if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target) or "\\\\" in target:',
        'if "\\\\" in target:',
        [S, "-k", "next"],
    ),
    (
        "next backslash",
        "portal/auth.py",
        'if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target) or "\\\\" in target:',
        "if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):",
        [S, "-k", "next"],
    ),
    (
        "next //",
        "portal/auth.py",
        '    if target.startswith("//"):\n        return home',
        "",
        [S, "-k", "next"],
    ),
    (
        "throttle refund (count successes)",
        "portal/auth.py",
        "            throttle.refund()  # only wrong passwords count",
        "            pass",
        [S, "-k", "do_not_count"],
    ),
    (
        "json depth",
        "portal/security.py",
        "if _depth(data, max_depth) > max_depth:",
        "if False:",
        [S, "-k", "bad_json"],
    ),
    (
        "signed-in visit signin",
        "portal/auth.py",
        "if principal is not None and principal.is_staff:",
        "if False:",
        [S, "-k", "go_home"],
    ),
    (
        "link: staff session not checked",
        "portal/access.py",
        "return _DIGEST.fullmatch(holder[1]) is not None and _staff_record_alive(holder[1])",
        "return True",
        [T, "-k", "ends_with_the_staff_session"],
    ),
    (
        "link: embed session not checked",
        "portal/access.py",
        "        tokens.check_session_alive(embed)\n",
        "",
        [T, "-k", "ends_with_the_embed_session or ends_when"],
    ),
    (
        "link: download view skips the holder",
        "portal/api.py",
        "    access.check_link_holder(holder)\n",
        "",
        [T, "-k", "ends_with"],
    ),
    (
        "link: preview views skip the holder",
        "portal/preview_views.py",
        "    access.check_link_holder(granted[4])\n",
        "",
        ["tests/test_previews.py", "-k", "ends_with"],
    ),
    (
        "junk bearer skips csrf",
        "portal/access.py",
        "        current_principal()  # raises PortalError (401)",
        "        pass  # raises PortalError (401)",
        [T, "-k", "junk_bearer"],
    ),
    (
        "relative routing redirects",
        "portal/security.py",
        "    app.after_request(_relative_redirect)\n",
        "",
        [T, "-k", "routing_redirect"],
    ),
    (
        "huge time claims",
        "portal/tokens.py",
        "    except OverflowError:  # an int too large",
        "    except ZeroDivisionError:  # an int too large",
        [T, "-k", "400_digits"],
    ),
    (
        "counts: any digit",
        "portal/numbers.py",
        "not (text.isascii() and text.isdecimal())",
        "not text.isdigit()",
        [T, "-k", "superscript"],
    ),
    (
        "sign-in form reads files and JSON",
        "portal/auth.py",
        'return request.form if request.method == "POST" else None',
        "return super().wrap_formdata(form, formdata)",
        [S, "-k", "file_part or json_sign_in"],
    ),
]


def main() -> int:
    """Apply each mutant, run its tests, restore the file; print what survived."""
    killed = 0
    chosen = [m for m in M if all(word in m[0] for word in sys.argv[1:])]  # e.g. `link`
    for name, path, old, new, args in chosen:
        f = root / path
        src = f.read_text()
        if src.count(old) != 1:
            print(f"?? {name}: pattern found {src.count(old)} times")
            continue
        f.write_text(src.replace(old, new))
        try:
            r = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *args],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=600,
            )
        finally:
            f.write_text(src)
        dead = r.returncode != 0
        killed += dead
        print(("killed  " if dead else "SURVIVED"), name, flush=True)
    print(f"{killed} of {len(chosen)} killed")
    return 0 if killed == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
