"""OSS and SLS on the local Alibaba Cloud endpoint (server.py hands them every request signed
`OSS4-HMAC-SHA256 …` or `LOG …`): the signature checks, the answers, and the estate parts.

Signatures are checked as the services check them: recomputed from the request as received with the
official SDKs' own signers (alibabacloud-oss-v2's `SignerV4`; the SLS gateway's `get_authorization`), never
with dengbao's code, and compared; a mismatch, an unknown AccessKey, a wrong security token or a stale date
gets the service's documented error (OSS: an XML `<Error>` body with `SignatureDoesNotMatch`,
`InvalidAccessKeyId`, `InvalidSecurityToken`, `RequestTimeTooSkewed`; SLS: a JSON `errorCode` body with
`SignatureNotMatch`, `Unauthorized`, `RequestTimeTooSkewed`). Only GET is served: OSS answers a write
with `MethodNotAllowed`.

Estates keep `buckets` (each: Name, Region, redundancy, sse, replication targets, lifecycle rules) and
`sls_projects` ({project: {region, logstores: {name: ttl}}}); `with_storage` gives the clean estate a
mainland-only layout: ActionTrail's bucket in cn-hangzhou (ZRS, KMS, logs kept 365 days), a data bucket in
cn-shanghai (LRS, AES256) replicating to cn-beijing, and ActionTrail's logstore keeping 180 days. The tweaks
below change one thing each.
"""
import datetime
import email.utils
import json
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape

import alibabacloud_oss_v2 as oss
from alibabacloud_gateway_sls.client import Client as SlsGateway
from alibabacloud_sls20201230 import models as sls_models

T0 = "2024-03-01T08:00:00.000Z"


# --- estates -----------------------------------------------------------------------------------------------

def bucket(name, region, redundancy="LRS", sse="AES256", replication=(), lifecycle_days=None):
    return {"Name": name, "Region": region, "redundancy": redundancy, "sse": sse,
            "replication": list(replication), "lifecycle_days": lifecycle_days}


def with_storage(e):
    project = "actiontrail-audit"
    e["buckets"] = [
        bucket("audit-logs-1234", "cn-hangzhou", redundancy="ZRS", sse="KMS", lifecycle_days=365),
        bucket("orders-data", "cn-shanghai", replication=[("orders-dr", "cn-beijing")]),
        bucket("orders-dr", "cn-beijing"),
    ]
    e["sls_projects"] = {project: {"region": "cn-hangzhou",
                                   "logstores": {"actiontrail_trail-all": 180, "app-logs": 30}}}
    return e


def _bucket(e, name):
    return next(b for b in e["buckets"] if b["Name"] == name)


def t_bucket_replicates_abroad(e):
    """A data bucket in cn-hangzhou replicates to a bucket in Singapore (of another account: only the
    replication rule shows where the copy is)."""
    e["buckets"].append(bucket("crm-data", "cn-hangzhou", replication=[("crm-dr-sg", "ap-southeast-1")]))


def t_bucket_in_hongkong(e):
    e["buckets"].append(bucket("media-hk", "cn-hongkong", redundancy="ZRS"))


def t_trail_bucket_expires_90(e):
    """ActionTrail's bucket deletes delivered logs after 90 days."""
    _bucket(e, "audit-logs-1234")["lifecycle_days"] = 90


def t_sls_ttl_90(e):
    """ActionTrail's logstore keeps 90 days."""
    e["sls_projects"]["actiontrail-audit"]["logstores"]["actiontrail_trail-all"] = 90


def t_no_storage(e):
    e["buckets"], e["sls_projects"] = [], {}


TWEAKS = {name[2:].replace("_", "-"): fn for name, fn in dict(globals()).items() if name.startswith("t_")}


# --- signatures ----------------------------------------------------------------------------------------------

class Refused(Exception):
    """An error answer; `signature` when the request was refused before it was read (authentication)."""

    def __init__(self, status, code, message, signature=False):
        super().__init__(code)
        self.status, self.code, self.message, self.signature = status, code, message, signature


def _fresh(when):
    return abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) <= 900


def verify_oss(keys, method, url, headers, bucket_name):
    """Recomputes an OSS V4 signature with the SDK's SignerV4; raises Refused as OSS answers."""
    auth = headers.get("authorization", "")
    fields = dict(f.split("=", 1) for f in auth[len("OSS4-HMAC-SHA256 "):].split(",") if "=" in f)
    credential = fields.get("Credential", "").split("/")
    if len(credential) != 5 or credential[3] != "oss" or credential[4] != "aliyun_v4_request":
        raise Refused(400, "InvalidArgument", "Authorization header is invalid: the Credential scope is malformed.", True)
    ak, date, region = credential[0], credential[1], credential[2]
    known = keys.get(ak)
    if known is None:
        raise Refused(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.", True)
    secret, token = known
    if token is not None and headers.get("x-oss-security-token") != token:
        raise Refused(403, "InvalidSecurityToken", "The security token you provided is invalid.", True)
    try:
        when = datetime.datetime.strptime(headers.get("x-oss-date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise Refused(403, "AccessDenied", "The x-oss-date header is missing or malformed.", True)
    if not _fresh(when) or not headers["x-oss-date"].startswith(date):
        raise Refused(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.", True)
    request = oss.HttpRequest(method=method, url=url)
    request.headers.update({k: v for k, v in headers.items() if k != "authorization"})
    additional = fields.get("AdditionalHeaders")
    ctx = oss.SigningContext(product="oss", region=region, bucket=bucket_name, request=request,
                             credentials=oss.Credentials(ak, secret, token), signing_time=when,
                             additional_headers=additional.split(";") if additional else None)
    oss.signer.SignerV4().sign(ctx)
    if request.headers["Authorization"] != auth:
        raise Refused(403, "SignatureDoesNotMatch",
                      "The request signature we calculated does not match the signature you provided. Check your key and signing method.", True)
    return region


def verify_sls(keys, method, path, query, headers):
    """Recomputes an SLS signature with the SLS gateway's own signer; raises Refused as SLS answers."""
    auth = headers.get("authorization", "")
    ak, _, _sig = auth[len("LOG "):].partition(":")
    known = keys.get(ak)
    if known is None:
        raise Refused(401, "Unauthorized", f"AccessKeyId not found: {ak}", True)
    secret, token = known
    if token is not None and headers.get("x-acs-security-token") != token:
        raise Refused(401, "Unauthorized", "The security token you provided is invalid.", True)
    try:
        when = email.utils.parsedate_to_datetime(headers.get("date", ""))
    except (TypeError, ValueError):
        raise Refused(400, "RequestTimeTooSkewed", "The Date header is missing or malformed.", True)
    if not _fresh(when):
        raise Refused(400, "RequestTimeTooSkewed", "Request time is too skewed from server time.", True)
    signed = {k: v for k, v in headers.items() if k != "authorization"}
    signed.setdefault("content-md5", "")
    signed.setdefault("content-type", "")
    want = SlsGateway().get_authorization(path, method, query, signed, ak, secret)
    if want != auth:
        raise Refused(401, "SignatureNotMatch", f"Signature {auth.partition(':')[2]} not matched.", True)


# --- answers -------------------------------------------------------------------------------------------------

MAINLAND_SUFFIX = ".aliyuncs.com"


def _xml(root, inner):
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{inner}</{root}>'.encode()


def _el(name, value):
    return f"<{name}>{escape(str(value))}</{name}>"


def list_buckets(e, q, cap):
    names = sorted(b["Name"] for b in e["buckets"] if b["Name"] > q.get("marker", ""))
    n = min(int(q.get("max-keys") or 100), 1000, cap)
    page = [b for b in sorted(e["buckets"], key=lambda b: b["Name"]) if b["Name"] in names[:n]]
    truncated = len(names) > n
    inner = _el("Prefix", q.get("prefix", "")) + _el("Marker", q.get("marker", "")) + _el("MaxKeys", n)
    inner += _el("IsTruncated", "true" if truncated else "false")
    if truncated:
        inner += _el("NextMarker", page[-1]["Name"])
    inner += "<Owner>" + _el("ID", e["account"]) + _el("DisplayName", e["account"]) + "</Owner><Buckets>"
    for b in page:
        r = b["Region"]
        inner += ("<Bucket>" + _el("CreationDate", T0) + _el("ExtranetEndpoint", f"oss-{r}{MAINLAND_SUFFIX}")
                  + _el("IntranetEndpoint", f"oss-{r}-internal{MAINLAND_SUFFIX}") + _el("Location", f"oss-{r}")
                  + _el("Name", b["Name"]) + _el("Region", r) + _el("StorageClass", "Standard") + "</Bucket>")
    return _xml("ListAllMyBucketsResult", inner + "</Buckets>")


def bucket_info(e, b):
    r = b["Region"]
    sse = "<ServerSideEncryptionRule>" + _el("SSEAlgorithm", b["sse"] or "None")
    if b["sse"] == "KMS":
        sse += _el("KMSMasterKeyID", "key-hz-cmk")
    sse += "</ServerSideEncryptionRule>"
    inner = ("<Bucket>" + _el("AccessMonitor", "Disabled") + _el("CreationDate", T0)
             + _el("CrossRegionReplication", "Enabled" if b["replication"] else "Disabled")
             + _el("DataRedundancyType", b["redundancy"]) + _el("ExtranetEndpoint", f"oss-{r}{MAINLAND_SUFFIX}")
             + _el("IntranetEndpoint", f"oss-{r}-internal{MAINLAND_SUFFIX}") + _el("Location", f"oss-{r}")
             + _el("Name", b["Name"]) + _el("ResourceGroupId", "rg-default") + _el("StorageClass", "Standard")
             + _el("TransferAcceleration", "Disabled")
             + "<Owner>" + _el("DisplayName", e["account"]) + _el("ID", e["account"]) + "</Owner>"
             + "<AccessControlList>" + _el("Grant", "private") + "</AccessControlList>"
             + sse + "<BucketPolicy>" + _el("LogBucket", "") + _el("LogPrefix", "") + "</BucketPolicy></Bucket>")
    return _xml("BucketInfo", inner)


def bucket_replication(b):
    if not b["replication"]:
        raise Refused(404, "NoSuchReplicationConfiguration", "The specified bucket does not have replication configuration.")
    inner = ""
    for i, (dest, region) in enumerate(b["replication"]):
        inner += ("<Rule>" + _el("ID", f"rule-{i}") + "<PrefixSet></PrefixSet>" + _el("Action", "ALL")
                  + "<Destination>" + _el("Bucket", dest) + _el("Location", f"oss-{region}")
                  + _el("TransferType", "internal") + "</Destination>" + _el("Status", "doing")
                  + _el("HistoricalObjectReplication", "enabled") + "</Rule>")
    return _xml("ReplicationConfiguration", inner)


def bucket_lifecycle(b):
    if b["lifecycle_days"] is None:
        raise Refused(404, "NoSuchLifecycle", "No Row found in Lifecycle Table.")
    inner = ("<Rule>" + _el("ID", "expire-logs") + _el("Prefix", "actiontrail/") + _el("Status", "Enabled")
             + "<Expiration>" + _el("Days", b["lifecycle_days"]) + "</Expiration></Rule>")
    return _xml("LifecycleConfiguration", inner)


def oss_answer(e, method, host, path, raw_query, headers, keys, cap, deny=()):
    """(status, content type, body) for one OSS request."""
    if method != "GET":
        raise Refused(405, "MethodNotAllowed", "The specified method is not allowed against this resource.", True)
    # Virtual-hosted (`<bucket>.oss-…`) or, on an IP endpoint, path style (`/<bucket>/`).
    segments = [s for s in path.split("/") if s]
    name = segments[0] if segments else None
    if name is None and not host.split(":")[0].replace(".", "").isdigit():
        name = host.split(".")[0] if host.count(".") > 2 else None
    url = f"http://{host}{path}" + (f"?{raw_query}" if raw_query else "")
    region = verify_oss(keys, method, url, headers, name)
    q = {unquote(k): unquote(v) for k, v in parse_qsl(raw_query, keep_blank_values=True)}
    sub = next((a for s, a in (("bucketInfo", "GetBucketInfo"), ("replication", "GetBucketReplication"),
                               ("lifecycle", "GetBucketLifecycle")) if s in q), None)
    ram_check(deny, "ListBuckets" if name is None else sub or "GetBucket")
    if name is None:
        return list_buckets(e, q, cap)
    b = next((b for b in e["buckets"] if b["Name"] == name), None)
    if b is None:
        raise Refused(404, "NoSuchBucket", "The specified bucket does not exist.")
    if b["Region"] != region:
        raise Refused(403, "AccessDenied", "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.")
    if "bucketInfo" in q:
        return bucket_info(e, b)
    if "replication" in q:
        return bucket_replication(b)
    if "lifecycle" in q:
        return bucket_lifecycle(b)
    raise Refused(400, "InvalidArgument", "This sub-resource is not served by the local endpoint.")


def oss_error(err, request_id, host, ak=""):
    inner = (_el("Code", err.code) + _el("Message", err.message) + _el("RequestId", request_id) + _el("HostId", host)
             + _el("OSSAccessKeyId", ak) + _el("EC", "0002-00000040"))
    return _xml("Error", inner)


def sls_answer(e, method, host, path, query, headers, keys, deny=()):
    """The JSON body of one SLS request."""
    verify_sls(keys, method, path, query, headers)
    ram_check(deny, "ListLogStores" if path == "/logstores" else "GetLogStore", sls=True)
    project = host.split(".")[0]
    p = e.get("sls_projects", {}).get(project)
    if p is None:
        raise Refused(404, "ProjectNotExist", f"Project {project} does not exist")
    if path == "/logstores":
        names = sorted(n for n in p["logstores"] if q_match(query.get("logstoreName", ""), n))
        off, size = int(query.get("offset") or 0), int(query.get("size") or 500)
        page = names[off:off + size]
        return {"count": len(page), "total": len(names), "logstores": page}
    if path.startswith("/logstores/"):
        name = path[len("/logstores/"):]
        if name not in p["logstores"]:
            raise Refused(404, "LogStoreNotExist", f"logstore {name} does not exist")
        body = {"logstoreName": name, "ttl": p["logstores"][name], "shardCount": 2, "enable_tracking": False,
                "autoSplit": True, "maxSplitShard": 64, "appendMeta": True, "telemetryType": "None",
                "createTime": 1709280000, "lastModifyTime": 1709280000, "mode": "standard"}
        back = sls_models.Logstore().from_map(json.loads(json.dumps(body))).to_map()
        missing = [k for k in body if k not in back]
        if missing:
            raise AssertionError(f"GetLogStore: {missing} are not fields of the SDK model")
        return body
    raise Refused(404, "InvalidRequest", f"{path} is not served by the local endpoint")


def q_match(pattern, name):
    return pattern in name


def ram_check(deny, action, sls=False):
    """Refuses `action` as RAM refuses a call a policy does not allow (`--deny ACTION` or `--deny all`),
    after the signature was verified, with the service's own error."""
    if action in deny or "all" in deny:
        if sls:
            raise Refused(401, "Unauthorized", f"denied by sts or ram, action: log:{action}, resource: acs:log:*")
        raise Refused(403, "AccessDenied", f"You have no right to access this resource: oss:{action} is not allowed.")


def handle(handler, keys, estate, method, request_id, cap, secrets=(), deny=()):
    """Answers one OSS or SLS request on `handler` (server.py's request handler). `secrets` (`AK=SECRET`)
    makes OSS and SLS expect another secret for AK than the OpenAPI does: every OSS/SLS signature made
    with the key's real secret is then refused as a wrong one would be."""
    keys = dict(keys)
    for kv in secrets:
        ak, secret = kv.split("=", 1)
        keys[ak] = (secret, keys.get(ak, (None, None))[1])
    parts = urlsplit(handler.path)
    headers = {k.lower(): v for k, v in handler.headers.items()}
    host = headers.get("host", "")
    is_oss = headers.get("authorization", "").startswith("OSS4-HMAC-SHA256 ")
    entry = {"service": "oss" if is_oss else "sls", "method": method, "path": parts.path, "raw_query": parts.query,
             "host": host, "headers": sorted(headers)}
    try:
        if is_oss:
            body, ctype, rid = oss_answer(estate, method, host, parts.path, parts.query, headers, keys, cap, deny), "application/xml", "x-oss-request-id"
        else:
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            data = sls_answer(estate, method, host, parts.path, query, headers, keys, deny)
            body, ctype, rid = json.dumps(data).encode(), "application/json", "x-log-requestid"
        status = 200
    except Refused as err:
        # `rejected`: refused before it was read (tests require none); other errors are answers.
        entry["rejected" if err.signature else "error"] = err.code
        status = err.status
        if is_oss:
            body, ctype, rid = oss_error(err, request_id, host), "application/xml", "x-oss-request-id"
        else:
            body, ctype, rid = json.dumps({"errorCode": err.code, "errorMessage": err.message}).encode(), "application/json", "x-log-requestid"
    handler.state.note(entry)
    handler.send_response(status)
    handler.send_header("Content-Type", ctype)
    handler.send_header(rid, request_id)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
