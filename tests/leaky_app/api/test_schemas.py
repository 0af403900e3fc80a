"""The request body of a new link: what is refused, with where and why."""

import pytest
from pydantic import ValidationError

from leaky_app.api.schemas import MAX_TTL_SECONDS, CreateLink


def test_a_good_body_is_kept_as_given() -> None:
    body = CreateLink(url="https://shop.example/p/1", alias="sale-1", ttl_seconds=60,
                      owner_email="o@shop.example")  # fmt: skip
    assert (body.url, body.alias, body.owner_email) == (
        "https://shop.example/p/1", "sale-1", "o@shop.example",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"url": "ftp://files.example"}, "url"),
        ({"url": "https://a.example", "alias": "no spaces"}, "alias"),
        ({"url": "https://a.example", "ttl_seconds": 0}, "ttl_seconds"),
        ({"url": "https://a.example", "ttl_seconds": MAX_TTL_SECONDS + 1}, "ttl_seconds"),
        ({"url": "https://a.example", "owner_email": "not-an-address"}, "owner_email"),
        ({"url": "https://a.example", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_field_is_refused_by_name(fields: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationError) as refused:
        CreateLink.model_validate(fields)
    assert [e["loc"][0] for e in refused.value.errors()] == [where]
