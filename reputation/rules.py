"""The verdicts: is a URL safe to shorten, is a host safe to redirect to.

Pure functions over a :class:`Rules` value, so the server, the tests and a notebook all ask the
same questions. The rules are the ones a link shortener really runs before it lends its domain to
a URL: only web schemes, no blocked host (or subdomain of one), no host spelled to pass for a
protected brand, and no URL that hides a chain of further URLs (an open-redirect hop).

Usage::

    rules = Rules.default()
    check_url(rules, "https://paypa1.com/login").reason   # Reason.LOOKALIKE
    check_host(rules, "example.org").safe                 # True
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

MAX_URL_CHARS = 2048  # what browsers and the patient's own validator accept
MAX_REDIRECT_DEPTH = 2  # a URL may carry one URL (a "next" parameter), not a chain of them
VERDICT_TTL_SECONDS = 300


class Reason(enum.IntEnum):
    """The wire values of ``lab.reputation.v1.Reason``."""

    OK = 1
    SCHEME = 2
    BLOCKED_HOST = 3
    LOOKALIKE = 4
    REDIRECT_CHAIN = 5


class Malformed(ValueError):
    """Not a URL (or host) the rules can judge; the server answers INVALID_ARGUMENT."""


@dataclass(frozen=True)
class Judgement:
    safe: bool
    reason: Reason
    detail: str
    ttl_seconds: int = VERDICT_TTL_SECONDS


# Characters that pass for Latin letters in a host (a small part of Unicode's confusables
# table, UTS #39): enough to catch the lookalikes phishing kits use. Hand-written because the
# libraries that ship the whole table are unmaintained or pull in ICU.
_CONFUSABLE = str.maketrans(
    {
        "0": "o",
        "1": "l",
        "3": "e",
        "5": "s",
        "\u0430": "a",  # Cyrillic a
        "\u0435": "e",  # Cyrillic ie
        "\u043e": "o",  # Cyrillic o
        "\u0440": "p",  # Cyrillic er
        "\u0441": "c",  # Cyrillic es
        "\u0445": "x",  # Cyrillic ha
        "\u0443": "y",  # Cyrillic u
        "\u0456": "i",  # Cyrillic i
        "\u03bf": "o",  # Greek omicron
        "\u03b1": "a",  # Greek alpha
    }
)


def skeleton(host: str) -> str:
    """What a host looks like to a reader: confusable characters folded, ``rn`` read as ``m``,
    ``vv`` as ``w``, accents dropped."""
    folded = unicodedata.normalize("NFKD", host.lower()).translate(_CONFUSABLE)
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return plain.replace("rn", "m").replace("vv", "w")


def normal_host(host: str) -> str:
    """Lower case, no trailing dot, punycode (``xn--``) decoded: the form the rules compare."""
    host = host.strip().rstrip(".").lower()
    if not host or len(host) > 253 or any(c.isspace() or ord(c) < 32 for c in host):
        raise Malformed(f"{host!r} is not a host name")
    try:
        return ".".join(
            label.encode("ascii").decode("idna") if label.startswith("xn--") else label
            for label in host.split(".")
        )
    except UnicodeError as exc:
        raise Malformed(f"{host!r} has a label that is not valid punycode") from exc


@dataclass
class Rules:
    """The blocklist and the protected domains; ``blocked`` grows at run time (BlockHost)."""

    blocked: set[str] = field(default_factory=set)
    protected: frozenset[str] = frozenset()

    @classmethod
    def default(cls) -> Rules:
        return cls.from_file(Path(__file__).with_name("blocklist.txt"))

    @classmethod
    def from_file(cls, path: Path) -> Rules:
        """``block HOST`` and ``protect HOST`` lines; ``#`` starts a comment."""
        blocked: set[str] = set()
        protected: set[str] = set()
        for number, raw in enumerate(path.read_text().splitlines(), 1):
            line = raw.split("#", 1)[0].split()
            if not line:
                continue
            if len(line) != 2 or line[0] not in ("block", "protect"):
                raise ValueError(f"{path}:{number}: expected 'block HOST' or 'protect HOST'")
            (blocked if line[0] == "block" else protected).add(normal_host(line[1]))
        return cls(blocked, frozenset(protected))

    def block(self, host: str) -> bool:
        """Add a host; False when it (or a parent domain) was already blocked."""
        name = normal_host(host)
        if self.blocked_parent(name) is not None:
            return False
        self.blocked.add(name)
        return True

    def blocked_parent(self, host: str) -> str | None:
        labels = host.split(".")
        for i in range(len(labels)):
            candidate = ".".join(labels[i:])
            if candidate in self.blocked:
                return candidate
        return None

    def imitated(self, host: str) -> str | None:
        if host in self.protected or any(host.endswith("." + p) for p in self.protected):
            return None
        look = skeleton(host)
        for domain in self.protected:
            target = skeleton(domain)
            if look == target or look.endswith("." + target):
                return domain
        return None


def check_host(rules: Rules, host: str) -> Judgement:
    """The redirect path's question: may users be sent to this host?"""
    name = normal_host(host)
    parent = rules.blocked_parent(name)
    if parent is not None:
        where = "is" if parent == name else f"is under {parent}, which is"
        return Judgement(False, Reason.BLOCKED_HOST, f"{name} {where} on the blocklist")
    imitated = rules.imitated(name)
    if imitated is not None:
        return Judgement(False, Reason.LOOKALIKE, f"{name} is spelled to pass for {imitated}")
    return Judgement(True, Reason.OK, f"nothing is known against {name}")


def embedded_urls(url: str) -> list[str]:
    """The http(s) URLs ``url``'s query carries (``?next=https://...``), one level deep."""
    query = urlsplit(url).query
    values = [v for _, v in parse_qsl(query, keep_blank_values=True)]
    return [v for v in values if urlsplit(v).scheme in ("http", "https") and urlsplit(v).netloc]


def redirect_depth(url: str) -> int:
    """How many URLs deep ``url`` goes: 1 for a plain URL, 2 when it carries one in its query."""
    nested = embedded_urls(url)
    if not nested:
        return 1
    return 1 + max(redirect_depth(unquote(u)) for u in nested)


def check_url(rules: Rules, url: str) -> Judgement:
    """The link-creation question: may this URL be shortened? Raises :class:`Malformed`."""
    if len(url) > MAX_URL_CHARS:
        raise Malformed(f"the URL has {len(url)} characters; at most {MAX_URL_CHARS}")
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        scheme = parts.scheme or "no scheme"
        return Judgement(False, Reason.SCHEME, f"{scheme}: only http and https links are shortened")
    if not parts.hostname:
        raise Malformed(f"{url!r} has no host")
    host = check_host(rules, parts.hostname)
    if not host.safe:
        return host
    depth = redirect_depth(url)
    if depth > MAX_REDIRECT_DEPTH:
        return Judgement(
            False,
            Reason.REDIRECT_CHAIN,
            f"the URL carries a chain of {depth - 1} further URLs; at most "
            f"{MAX_REDIRECT_DEPTH - 1} is shortened",
        )
    for inner in embedded_urls(url):
        inner_host = urlsplit(inner).hostname
        if inner_host:
            verdict = check_host(rules, inner_host)
            if not verdict.safe:
                return Judgement(False, verdict.reason, f"it redirects on: {verdict.detail}")
    return Judgement(True, Reason.OK, f"nothing is known against {normal_host(parts.hostname)}")
