"""The reputation rules: what a shortener refuses to lend its domain to, and why."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reputation.rules import (
    MAX_URL_CHARS,
    Malformed,
    Reason,
    Rules,
    check_host,
    check_url,
    normal_host,
    redirect_depth,
)

RULES = Rules.default()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://example.org/a?b=1", Reason.OK),
        ("http://docs.python.org/3/", Reason.OK),
        ("javascript:alert(1)", Reason.SCHEME),
        ("ftp://files.example.org/x", Reason.SCHEME),
        ("https://malware.example/", Reason.BLOCKED_HOST),
        ("https://cdn.malware.example/x.js", Reason.BLOCKED_HOST),
        ("https://MALWARE.example./", Reason.BLOCKED_HOST),
        ("https://paypa1.example/login", Reason.LOOKALIKE),
        ("https://login.paypa1.example/", Reason.LOOKALIKE),
        ("https://githvb.example/", Reason.OK),  # a typo is not a lookalike
        ("https://xn--pypal-4ve.example/", Reason.LOOKALIKE),  # "paypal" with a Cyrillic a
        ("https://github.example/login", Reason.OK),  # the protected domain itself
        ("https://api.github.example/", Reason.OK),
        ("https://go.example.org/?next=https://ok.example.org/", Reason.OK),
        ("https://go.example.org/?next=https://phish.example/", Reason.BLOCKED_HOST),
        (
            "https://a.example.org/?u=https%3A%2F%2Fb.example.org%2F%3Fu%3Dhttps%3A%2F%2Fc.example.org",
            Reason.REDIRECT_CHAIN,
        ),
    ],
)
def test_each_rule_names_its_reason(url: str, reason: Reason) -> None:
    verdict = check_url(RULES, url)
    assert verdict.reason == reason, verdict.detail
    assert verdict.safe == (reason == Reason.OK)
    assert verdict.detail and verdict.ttl_seconds > 0


@pytest.mark.parametrize("url", ["https:///nohost", "x" * (MAX_URL_CHARS + 1), "https://a b.org/"])
def test_what_is_not_a_url_is_malformed_not_judged(url: str) -> None:
    with pytest.raises(Malformed):
        check_url(RULES, url)


def test_a_blocked_host_blocks_its_subdomains_and_blocking_twice_is_no_change() -> None:
    rules = Rules(set(), frozenset())
    assert rules.block("Spam.Example")
    assert not rules.block("spam.example")
    assert not rules.block("a.spam.example")  # already covered by its parent
    assert not check_host(rules, "x.spam.example").safe
    assert check_host(rules, "notspam.example").safe


def test_the_rules_file_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    bad = tmp_path / "rules.txt"
    bad.write_text("block a.example\nallow b.example\n")
    with pytest.raises(ValueError, match=r"rules\.txt:2"):
        Rules.from_file(bad)


def test_redirect_depth_counts_urls_inside_urls() -> None:
    assert redirect_depth("https://a.org/") == 1
    assert redirect_depth("https://a.org/?next=https://b.org/") == 2


hosts = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){1,3}", fullmatch=True)


@given(hosts)
def test_any_host_under_a_blocked_domain_is_refused(host: str) -> None:
    rules = Rules({"blocked.example"}, frozenset())
    assert not check_host(rules, f"{host}.blocked.example").safe
    assert check_host(rules, host).safe or host.endswith("blocked.example")


@given(hosts)
def test_the_judgement_of_a_host_ignores_its_case_and_trailing_dot(host: str) -> None:
    plain = check_host(RULES, host)
    assert check_host(RULES, host.upper() + ".") == plain
    assert normal_host(host.upper() + ".") == host


@given(st.text(max_size=60))
def test_any_text_is_judged_or_refused_as_malformed_never_a_crash(text: str) -> None:
    try:
        verdict = check_url(RULES, text)
    except Malformed:
        return
    assert verdict.reason in Reason


SWAPS = {"o": "0", "l": "1", "a": "\u0430", "e": "\u0435", "m": "rn"}


@given(st.sampled_from(sorted(RULES.protected)), st.data())
def test_a_protected_domain_with_any_letter_swapped_for_its_lookalike_is_refused(
    domain: str, data: st.DataObject
) -> None:
    name = domain.split(".")[0]
    spots = [i for i, c in enumerate(name) if c in SWAPS]
    if not spots:
        return
    i = data.draw(st.sampled_from(spots))
    fake = name[:i] + SWAPS[name[i]] + name[i + 1 :] + domain[len(name) :]
    verdict = check_host(RULES, fake)
    assert verdict.reason == Reason.LOOKALIKE, (fake, verdict.detail)
