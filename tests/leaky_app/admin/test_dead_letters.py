"""Dead letters on the debug port: listed oldest first; a retry of a bad id is refused."""

from tests.leaky_app.admin.conftest import Admin


async def test_no_dead_letters_and_bad_retries_are_refused(admin: Admin) -> None:
    listed = await admin.debug.get("/admin/dead-letters")
    assert listed.status_code == 200 and listed.json() == {"dead_letters": []}
    assert (await admin.debug.get("/admin/dead-letters", params={"limit": 0})).status_code == 400
    bad = await admin.debug.post("/admin/dead-letters/abc/retry")
    assert bad.status_code == 400 and "integer" in bad.json()["message"]
    missing = await admin.debug.post("/admin/dead-letters/99/retry")
    assert missing.status_code == 404
