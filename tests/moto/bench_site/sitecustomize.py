"""Loaded by the benchmark's moto server only (scripts/bench.sh puts this directory on PYTHONPATH).

moto 5.2.5 renders each EC2 resource's tags by scanning the tags of every resource in the region
(`TaggedEC2Resource.get_tags` -> `describe_tags(filters={"resource-id": [id]})`), so a listing of
n tagged resources costs O(n x all tags): a page of the large estate's 10,000 snapshots took minutes,
and the scan measured moto rather than dengbao. EC2 itself answers in time proportional to the page.
This replaces that one lookup with the backend's own per-resource dict, giving the same answer
(`describe_tags` matches a resource-id filter exactly: fnmatch patterns are anchored). The tests' moto
servers are left as moto ships.
"""
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix


def _get_tags(self):
    resource_id = getattr(self, "id", None)
    if not resource_id:
        return []
    tags = self.ec2_backend.tags.get(resource_id) or {}
    resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource_id), "")
    return [
        {"resource_id": resource_id, "key": key, "value": value, "resource_type": resource_type}
        for key, value in tags.items()
    ]


TaggedEC2Resource.get_tags = _get_tags
