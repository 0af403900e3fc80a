"""Every caller's allowed methods exist in the service the proto defines."""

from __future__ import annotations

from reputation import policy
from reputation.v1 import reputation_pb2 as pb


def test_the_policy_names_only_methods_of_the_service() -> None:
    service = pb.DESCRIPTOR.services_by_name["Reputation"]
    assert service.full_name == policy.SERVICE
    methods = {m.name for m in service.methods}
    for caller, allowed in policy.ALLOWED.items():
        assert allowed <= methods, caller
    # The patient only asks; changing the blocklist is an operator's call.
    assert "BlockHost" not in policy.ALLOWED["leaky-app"]
