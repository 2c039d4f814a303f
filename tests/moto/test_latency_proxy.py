#!/usr/bin/env python3
"""Checks of the benchmark proxy's EC2 paging (latency_proxy.py --paginate), run by scripts/test.sh.

    test_latency_proxy.py --endpoint http://127.0.0.1:MOTO_PORT

Starts the proxy on a free 127.0.0.1 port in front of that moto, creates security groups in a region
no other test uses, and lists them through the proxy with boto3's paginator: the pages must be
MaxResults long, carry the proxy's NextToken, and add up to exactly what moto lists directly. Also
checks the list splitting on answers with nested items and empty lists.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import latency_proxy  # noqa: E402

REGION = "eu-north-1"
ENDPOINT = ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SplitList(unittest.TestCase):
    def test_nested_items_stay_with_their_parent(self) -> None:
        body = (b'<R xmlns="x"><requestId>1</requestId><securityGroupInfo>'
                b'<item><groupId>a</groupId><tagSet><item><key>k</key></item></tagSet></item>'
                b'<item/>'
                b'<item><groupId>c</groupId><ipPermissions><item><ipRanges><item>x</item></ipRanges></item>'
                b'</ipPermissions></item></securityGroupInfo><nextToken/></R>')
        head, items, tail = latency_proxy.split_list(body, "securityGroupInfo")
        self.assertEqual(len(items), 3)
        self.assertTrue(items[0].startswith(b"<item><groupId>a") and items[0].endswith(b"</tagSet></item>"))
        self.assertEqual(items[1], b"<item/>")
        self.assertEqual(head + b"".join(items) + tail, body)
        pager = latency_proxy.Pager()
        first = pager.page((head, items, tail), 0, 2)
        token = first.split(b"<nextToken>")[1].split(b"</nextToken>")[0].decode()
        self.assertNotIn(b"<nextToken/>", first)
        self.assertIn(b"<groupId>a", first)
        self.assertNotIn(b"<groupId>c", first)
        parts, start = pager.get(token)
        last = pager.page(parts, start, 2)
        self.assertIn(b"<groupId>c", last)
        self.assertNotIn(b"<nextToken>", last)

    def test_missing_and_empty_lists(self) -> None:
        self.assertIsNone(latency_proxy.split_list(b"<R><other/></R>", "snapshotSet"))
        self.assertEqual(latency_proxy.split_list(b"<R><snapshotSet/></R>", "snapshotSet")[1], [])
        self.assertEqual(latency_proxy.split_list(b"<R><snapshotSet></snapshotSet></R>", "snapshotSet")[1], [])


class PagingThroughTheProxy(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        import boto3

        cls.port = free_port()
        cls.proxy = subprocess.Popen(
            [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "latency_proxy.py"),
             "--port", str(cls.port), "--upstream", ENDPOINT, "--delay-ms", "0", "--paginate"],
            stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{cls.port}/__proxy/stats", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        kw = dict(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        cls.direct = boto3.client("ec2", endpoint_url=ENDPOINT, **kw)
        cls.paged = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{cls.port}", **kw)
        vpc = cls.direct.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        for i in range(11):
            cls.direct.create_security_group(GroupName=f"paging-{i}", Description="paging check", VpcId=vpc)
        cls.vpc = vpc

    @classmethod
    def tearDownClass(cls) -> None:
        cls.proxy.kill()
        cls.proxy.wait()

    def test_pages_add_up_to_the_whole_list(self) -> None:
        flt = [{"Name": "vpc-id", "Values": [self.vpc]}]
        whole = self.direct.describe_security_groups(Filters=flt)["SecurityGroups"]
        self.assertEqual(len(whole), 12)  # eleven and the VPC's default group
        pages = list(self.paged.get_paginator("describe_security_groups").paginate(
            Filters=flt, PaginationConfig={"PageSize": 5}))
        self.assertEqual([len(p["SecurityGroups"]) for p in pages], [5, 5, 2])
        self.assertTrue(all(p.get("NextToken") for p in pages[:-1]))
        self.assertFalse(pages[-1].get("NextToken"))
        ids = [g["GroupId"] for p in pages for g in p["SecurityGroups"]]
        self.assertEqual(ids, [g["GroupId"] for g in whole])

    def test_calls_without_max_results_pass_through(self) -> None:
        flt = [{"Name": "vpc-id", "Values": [self.vpc]}]
        got = self.paged.describe_security_groups(Filters=flt)
        self.assertEqual(len(got["SecurityGroups"]), 12)
        self.assertFalse(got.get("NextToken"))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    a, rest = ap.parse_known_args()
    ENDPOINT = a.endpoint
    unittest.main(argv=[sys.argv[0], *rest])
