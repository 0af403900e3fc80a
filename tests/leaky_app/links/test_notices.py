"""What an owner is told: one stable key per event, so a notice sent twice is one email."""

from leaky_app.links.notices import (
    CLICK_MILESTONE,
    LINK_CREATED,
    link_created,
    milestones_crossed,
    render,
)
from leaky_app.links.store import Link


def test_a_link_without_an_owner_tells_nobody() -> None:
    assert link_created(Link.new("abc", "https://a.example", None)) is None


def test_the_created_notice_has_a_stable_key_per_link() -> None:
    link = Link.new("abc", "https://a.example", None, owner_email="o@example.org", now=12.5)
    notice, again = link_created(link), link_created(link)
    assert notice is not None and again is not None and notice.kind == LINK_CREATED
    assert notice.key == again.key == "link_created:abc:12500"
    subject, body = render(notice.kind, dict(notice.payload))
    assert "/abc" in subject and "https://a.example" in body


def test_each_milestone_crossed_is_one_notice() -> None:
    crossed = list(milestones_crossed("abc", "u", 1.0, "o@example.org", before=8, after=120))
    assert [n.payload["clicks"] for n in crossed] == [10, 100]
    assert {n.kind for n in crossed} == {CLICK_MILESTONE}
    assert list(milestones_crossed("abc", "u", 1.0, "o@example.org", before=10, after=99)) == []
    assert "100 clicks" in render(CLICK_MILESTONE, dict(crossed[1].payload))[0]
