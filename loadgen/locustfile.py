"""The lab's load: people clicking short links from campaigns, and a few creating links.

Run by ``labctl load start`` (and the compose ``loadgen`` service) as its own process,
because locust monkey-patches the standard library with gevent::

    locust -f loadgen/locustfile.py --headless --host http://127.0.0.1:8000 \\
        --users 10 --spawn-rate 10 --rate 30 --links 50 --referrers 5000 --preview-share 0.4

``--rate`` is the total target in requests a second, shared by the users; ``--create-share``
is the part of them that creates a link (each link mails its owner). Every click carries a
query string never seen before and a Referer, one of ``--referrers`` pages that link to it,
as real campaign traffic does. A ``--preview-share`` of the visits open the link's preview
page (``/[code]+``) instead, with the same query: mail scanners and chat unfurlers fetch it
for every link they are shown, and careful people open it by hand. Request names
are templates (``/[code]``), so locust's own statistics stay bounded.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from locust import FastHttpUser, events, task
from locust.env import Environment

_click_ids = itertools.count()
_codes: list[str] = []
_KEEP = 2000  # the most recent links are the ones being shared; older ones are forgotten


def _options(parser: Any) -> None:
    parser.add_argument("--rate", type=float, default=30.0, help="total requests per second")
    parser.add_argument("--links", type=int, default=50, help="links created before clicks")
    parser.add_argument(
        "--create-share", type=float, default=0.02, help="share of requests that create a link"
    )
    parser.add_argument(
        "--referrers", type=int, default=5000, help="distinct pages the clicks come from"
    )
    parser.add_argument(
        "--preview-share", type=float, default=0.4, help="share of visits that open the preview"
    )


def _create(client: Any, n: int) -> str | None:
    body = {"url": f"https://shop.example/item/{n}", "owner_email": f"owner{n}@example.org"}
    with client.post("/api/v1/links", json=body, name="/api/v1/links",
                     catch_response=True) as response:  # fmt: skip
        if response.status_code != 201:
            response.failure(f"create answered {response.status_code}")
            return None
        code: str = response.json()["code"]
        return code


def _seed_links(environment: Environment, **_kwargs: Any) -> None:
    # One client for the set-up, before any user clicks: every user then finds codes.
    from locust.contrib.fasthttp import FastHttpSession

    assert environment.host and environment.parsed_options
    session = FastHttpSession(environment.host, environment.events.request, user=None)
    for n in range(environment.parsed_options.links):
        code = _create(session, n)
        if code:
            _codes.append(code)


# locust's EventHook.add_listener has no annotations.
events.init_command_line_parser.add_listener(_options)  # type: ignore[no-untyped-call]
events.test_start.add_listener(_seed_links)  # type: ignore[no-untyped-call]


class Clicker(FastHttpUser):
    def wait_time(self) -> float:
        options = self.environment.parsed_options
        users = max(1, self.environment.runner.user_count if self.environment.runner else 1)
        per_user = max(0.01, options.rate / users)
        # Exponential gaps: clicks arrive as a Poisson stream, not in lockstep.
        return random.expovariate(per_user)

    @task
    def click_or_create(self) -> None:
        options = self.environment.parsed_options
        n = next(_click_ids)
        if not _codes or random.random() < options.create_share:
            code = _create(self.client, 100_000 + n)
            if code:
                _codes.append(code)
                del _codes[:-_KEEP]
            return
        code = random.choice(_codes)
        preview = random.random() < options.preview_share
        self.client.get(
            f"/{code}{'+' if preview else ''}?utm_campaign=c{n % 7}&click_id={n}",
            headers={"Referer": f"https://news.example/item/{n % options.referrers}"},
            allow_redirects=False,
            name="/[code]+" if preview else "/[code]",
        )
