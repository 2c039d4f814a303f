//! Every operator of the condition language, evaluated on small documents.

use dengbao::rules::condition::{compile, ConditionSpec, Join};
use dengbao::rules::eval::{eval, JoinLookup, Node, Origin, Quiet, Trace, Truth};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Wrap {
    c: toml::Spanned<ConditionSpec>,
}

struct NoJoins;
impl JoinLookup for NoJoins {
    fn lookup(
        &self,
        _: &Join,
        _: &str,
        _: &str,
        _: bool,
        _: &mut dyn FnMut(&Node<'_>) -> bool,
    ) -> Option<String> {
        None
    }
}

fn check(cond: &str, doc: &Value) -> Truth {
    let w: Wrap = toml::from_str(&format!("c = {cond}")).unwrap_or_else(|e| panic!("{cond}: {e}"));
    let c = compile(&w.c, &mut Vec::new()).unwrap_or_else(|e| panic!("{cond}: {}", e.message));
    let params: dengbao::pack::Params = json!({"KeyId": "k-1"}).into();
    let node = Node {
        value: doc,
        location: "sha256:x#$".into(),
        origin: Origin {
            record: 0,
            region: "cn-north-1",
            account: "123",
            params: &params,
            resource: doc,
        },
    };
    let cited = eval(&c, &node, &NoJoins, &mut Trace::default());
    // Judged quietly (as a quantifier's items are, with `all_of`/`any_of` reordered cheapest first),
    // the answer is the same.
    assert_eq!(
        eval(&c, &node, &NoJoins, &mut Quiet::default()),
        cited,
        "{cond} judged quietly"
    );
    cited
}

fn compile_error(cond: &str) -> String {
    let w: Wrap = toml::from_str(&format!("c = {cond}")).unwrap();
    compile(&w.c, &mut Vec::new())
        .expect_err("should not compile")
        .message
}

use Truth::{False, True};

#[test]
fn equality_coerces_xml_strings() {
    let d = json!({"port": "22", "flag": "true", "name": "web", "n": 5});
    assert_eq!(check(r#"{ path = "$.port", eq = 22 }"#, &d), True);
    assert_eq!(check(r#"{ path = "$.port", eq = 23 }"#, &d), False);
    assert_eq!(check(r#"{ path = "$.flag", eq = true }"#, &d), True);
    assert_eq!(check(r#"{ path = "$.flag", eq = false }"#, &d), False);
    assert_eq!(check(r#"{ path = "$.name", eq = "web" }"#, &d), True);
    assert_eq!(check(r#"{ path = "$.n", eq = "5" }"#, &d), True);
    assert_eq!(check(r#"{ path = "$.name", ne = "db" }"#, &d), True);
    assert_eq!(check(r#"{ path = "$.name", ne = "web" }"#, &d), False);
    assert_eq!(
        check(r#"{ path = "$.missing", ne = "web" }"#, &d),
        False,
        "ne on nothing is not true"
    );
}

#[test]
fn ordering_numbers_and_timestamps() {
    let d = json!({"days": "180", "n": 7, "t": "2026-01-02T00:00:00Z"});
    assert_eq!(check(r#"{ path = "$.days", ge = 180 }"#, &d), True);
    assert_eq!(check(r#"{ path = "$.days", gt = 180 }"#, &d), False);
    assert_eq!(check(r#"{ path = "$.n", lt = 8 }"#, &d), True);
    assert_eq!(check(r#"{ path = "$.n", le = 6 }"#, &d), False);
    assert_eq!(
        check(r#"{ path = "$.t", gt = "2026-01-01T00:00:00Z" }"#, &d),
        True
    );
}

#[test]
fn membership_contains_matches_exists() {
    let d = json!({"r": "cn-north-1", "list": ["a", "b"], "s": "arn:aws-cn:s3:::x", "null": null});
    assert_eq!(
        check(
            r#"{ path = "$.r", in = ["cn-north-1", "cn-northwest-1"] }"#,
            &d
        ),
        True
    );
    assert_eq!(check(r#"{ path = "$.r", in = ["ap-east-1"] }"#, &d), False);
    assert_eq!(
        check(r#"{ path = "$.r", not_in = ["ap-east-1"] }"#, &d),
        True
    );
    assert_eq!(check(r#"{ path = "$.list", contains = "b" }"#, &d), True);
    assert_eq!(check(r#"{ path = "$.s", contains = "aws-cn" }"#, &d), True);
    assert_eq!(
        check(r#"{ path = "$.s", matches = "^arn:aws-cn:" }"#, &d),
        True
    );
    assert_eq!(
        check(r#"{ path = "$.s", matches = "^arn:aws:" }"#, &d),
        False
    );
    assert_eq!(check(r#"{ path = "$.s", exists = true }"#, &d), True);
    assert_eq!(check(r#"{ path = "$.null", exists = true }"#, &d), False);
    assert_eq!(check(r#"{ path = "$.nope", exists = false }"#, &d), True);
}

#[test]
fn record_keys_region_account_param() {
    let d = json!({"owner": "123", "other": "999"});
    assert_eq!(
        check(r#"{ path = "region", in = ["cn-north-1"] }"#, &d),
        True
    );
    assert_eq!(check(r#"{ path = "account", eq = "123" }"#, &d), True);
    assert_eq!(check(r#"{ path = "param.KeyId", eq = "k-1" }"#, &d), True);
    assert_eq!(
        check(r#"{ path = "$.owner", same_as = "account" }"#, &d),
        True
    );
    assert_eq!(
        check(r#"{ path = "$.other", same_as = "account" }"#, &d),
        False
    );
}

#[test]
fn resource_keys_reach_the_judged_resource_from_inside_quantifiers() {
    let d = json!({"groupId": "sg-1", "perms": [{"groups": [{"groupId": "sg-1"}]}, {"groups": [{"groupId": "sg-2"}]}]});
    let self_ref = r#"{ any = "$.perms[*]", check = { any = "$.groups[*]", check = { path = "$.groupId", same_as = "resource.$.groupId" } } }"#;
    assert_eq!(check(self_ref, &d), True);
    let d2 = json!({"groupId": "sg-9", "perms": [{"groups": [{"groupId": "sg-1"}]}]});
    assert_eq!(check(self_ref, &d2), False);
}

#[test]
fn any_address_covers_ipv4_and_ipv6() {
    for (cidr, want) in [
        ("0.0.0.0/0", True),
        ("::/0", True),
        ("10.0.0.0/8", False),
        ("::/1", False),
        ("junk", False),
    ] {
        assert_eq!(
            check(
                r#"{ path = "$.c", any_address = true }"#,
                &json!({"c": cidr})
            ),
            want,
            "{cidr}"
        );
    }
}

#[test]
fn ports_overlap_all_and_ranges() {
    let ssh = json!({"ipProtocol": "tcp", "fromPort": "22", "toPort": "22"});
    let web = json!({"ipProtocol": "tcp", "fromPort": "443", "toPort": "443"});
    let wide = json!({"ipProtocol": "tcp", "fromPort": "0", "toPort": "65535"});
    let all = json!({"ipProtocol": "-1"});
    let overlap = r#"{ ports = { overlap = [22, 3389] } }"#;
    assert_eq!(check(overlap, &ssh), True);
    assert_eq!(check(overlap, &web), False);
    assert_eq!(check(overlap, &wide), True);
    assert_eq!(check(overlap, &all), True, "protocol -1 opens every port");
    assert_eq!(check(r#"{ ports = { all = true } }"#, &wide), True);
    assert_eq!(check(r#"{ ports = { all = true } }"#, &ssh), False);
    let ali =
        r#"{ ports = { overlap = [3389], range = "$.PortRange", protocol = "$.IpProtocol" } }"#;
    assert_eq!(
        check(ali, &json!({"IpProtocol": "TCP", "PortRange": "3000/4000"})),
        True
    );
    assert_eq!(
        check(ali, &json!({"IpProtocol": "TCP", "PortRange": "80/80"})),
        False
    );
    assert_eq!(
        check(ali, &json!({"IpProtocol": "ALL", "PortRange": "-1/-1"})),
        True
    );
}

#[test]
fn logic_and_quantifiers() {
    let d = json!({"perms": [{"p": "22", "cidr": "0.0.0.0/0"}, {"p": "443", "cidr": "10.0.0.0/8"}], "empty": []});
    assert_eq!(
        check(
            r#"{ all_of = [ { path = "$.perms[0].p", eq = 22 }, { path = "$.perms[1].p", eq = 443 } ] }"#,
            &d
        ),
        True
    );
    assert_eq!(
        check(
            r#"{ all_of = [ { path = "$.perms[0].p", eq = 22 }, { path = "$.perms[1].p", eq = 1 } ] }"#,
            &d
        ),
        False
    );
    assert_eq!(
        check(
            r#"{ any_of = [ { path = "$.perms[0].p", eq = 1 }, { path = "$.perms[1].p", eq = 443 } ] }"#,
            &d
        ),
        True
    );
    assert_eq!(
        check(r#"{ not = { path = "$.perms[0].p", eq = 22 } }"#, &d),
        False
    );
    assert_eq!(
        check(
            r#"{ any = "$.perms[*]", check = { path = "$.cidr", any_address = true } }"#,
            &d
        ),
        True
    );
    assert_eq!(
        check(
            r#"{ all = "$.perms[*]", check = { path = "$.cidr", any_address = true } }"#,
            &d
        ),
        False
    );
    assert_eq!(
        check(
            r#"{ none = "$.perms[*]", check = { path = "$.p", eq = 3389 } }"#,
            &d
        ),
        True
    );
    assert_eq!(
        check(
            r#"{ none = "$.perms[*]", check = { path = "$.p", eq = 22 } }"#,
            &d
        ),
        False
    );
    assert_eq!(
        check(
            r#"{ all = "$.empty[*]", check = { path = "$.p", eq = 1 } }"#,
            &d
        ),
        True,
        "all over nothing is true"
    );
    assert_eq!(
        check(
            r#"{ any = "$.empty[*]", check = { path = "$.p", eq = 1 } }"#,
            &d
        ),
        False
    );
    assert_eq!(check(r#"{ count = "$.perms[*]", eq = 2 }"#, &d), True);
    assert_eq!(
        check(
            r#"{ count = "$.perms[*]", check = { path = "$.p", eq = 22 }, ge = 2 }"#,
            &d
        ),
        False
    );
    assert_eq!(
        check(r#"{ count = "$.perms[?@.p == '22']", eq = 1 }"#, &d),
        True,
        "RFC 9535 filters work"
    );
}

#[test]
fn malformed_conditions_are_rejected_with_reasons() {
    assert!(compile_error("{ path = \"$.a\" }").contains("no operator"));
    assert!(compile_error("{ path = \"$.a\", eq = 1, ne = 2 }").contains("mixes operators"));
    assert!(compile_error("{ any = \"$.a[*]\" }").contains("needs `check"));
    assert!(compile_error("{ count = \"$.a[*]\" }").contains("exactly one of eq"));
    assert!(compile_error("{ count = \"$.a[*]\", ge = 1, le = 3 }").contains("exactly one of eq"));
    assert!(
        compile_error("{ count = \"$.a[*]\", ge = 1, exists = true }")
            .contains("exactly one of eq")
    );
    assert!(compile_error("{ path = \"a.b\", eq = 1 }").contains("must be a JSONPath"));
    assert!(compile_error("{ path = \"$.a[\", eq = 1 }").contains("invalid JSONPath"));
    assert!(compile_error("{ path = \"$.a\", matches = \"(\" }").contains("bad regex"));
    assert!(compile_error("{ ports = {} }").contains("overlap"));
}

fn sg(rules: Value) -> Value {
    json!({"SecurityGroupId": "sg-1", "Permissions": {"Permission": rules}})
}

fn rule(policy: &str, priority: &str, proto: &str, ports: &str, src: &str, src6: &str) -> Value {
    json!({"Direction": "ingress", "Policy": policy, "Priority": priority, "IpProtocol": proto,
           "PortRange": ports, "SourceCidrIp": src, "Ipv6SourceCidrIp": src6})
}

#[test]
fn admits_applies_alibaba_priorities() {
    let ssh = r#"{ admits = { ports = [22] } }"#;
    let open = rule("Accept", "1", "TCP", "22/22", "0.0.0.0/0", "");
    assert_eq!(check(ssh, &sg(json!([open]))), True);
    // A Drop of higher (smaller) or equal priority wins; of lower priority it does not.
    for (drop_prio, want) in [("1", False), ("5", False), ("6", True), ("100", True)] {
        let accept = rule("Accept", "5", "TCP", "20/30", "0.0.0.0/0", "");
        let drop = rule("Drop", drop_prio, "TCP", "22/22", "0.0.0.0/0", "");
        assert_eq!(
            check(ssh, &sg(json!([accept, drop]))),
            want,
            "drop at {drop_prio}"
        );
    }
    // Case, ALL protocol and -1/-1 ports, missing priority (= 1).
    let any = json!({"Direction": "ingress", "Policy": "accept", "IpProtocol": "all", "PortRange": "-1/-1", "SourceCidrIp": "0.0.0.0/0"});
    assert_eq!(check(ssh, &sg(json!([any]))), True);
    // A Drop from part of the internet does not close the port to everyone else.
    let accept = rule("Accept", "10", "TCP", "22/22", "0.0.0.0/0", "");
    let partial_drop = rule("Drop", "1", "TCP", "22/22", "1.2.3.0/24", "");
    assert_eq!(check(ssh, &sg(json!([accept, partial_drop]))), True);
    // IPv6 is its own family: dropping 0.0.0.0/0 leaves ::/0 open.
    let v6 = rule("Accept", "1", "TCP", "22/22", "", "::/0");
    let drop4 = rule("Drop", "1", "TCP", "22/22", "0.0.0.0/0", "");
    assert_eq!(check(ssh, &sg(json!([v6, drop4]))), True);
    // Egress, UDP, ICMP, narrower sources and other ports do not admit SSH from anywhere.
    let mut egress = rule("Accept", "1", "TCP", "22/22", "0.0.0.0/0", "");
    egress["Direction"] = json!("egress");
    for r in [
        egress,
        rule("Accept", "1", "UDP", "22/22", "0.0.0.0/0", ""),
        rule("Accept", "1", "ICMP", "-1/-1", "0.0.0.0/0", ""),
        rule("Accept", "1", "TCP", "22/22", "10.0.0.0/8", ""),
        rule("Accept", "1", "TCP", "80/443", "0.0.0.0/0", ""),
    ] {
        assert_eq!(check(ssh, &sg(json!([r.clone()]))), False, "{r}");
    }
}

#[test]
fn admits_all_needs_an_unblocked_accept_of_everything() {
    let all = r#"{ admits = { all = true } }"#;
    let everything = rule("Accept", "1", "ALL", "-1/-1", "0.0.0.0/0", "");
    assert_eq!(check(all, &sg(json!([everything.clone()]))), True);
    // A Drop of one port leaves the rest open: still everything, in effect.
    let drop_ssh = rule("Drop", "1", "TCP", "22/22", "0.0.0.0/0", "");
    assert_eq!(check(all, &sg(json!([everything.clone(), drop_ssh]))), True);
    // A Drop of everything at equal or higher priority closes it.
    let drop_all = rule("Drop", "1", "ALL", "-1/-1", "0.0.0.0/0", "");
    assert_eq!(check(all, &sg(json!([everything, drop_all]))), False);
    // An Accept of one port range is not everything.
    let web = rule("Accept", "1", "TCP", "1/65535", "0.0.0.0/0", "");
    assert_eq!(check(all, &sg(json!([web]))), False);
    assert!(compile_error(r#"{ admits = { ports = [] } }"#).contains("admits"));
    assert!(compile_error(r#"{ admits = { all = true }, path = "$" }"#).contains("path"));
}

#[test]
fn ports_are_protocol_aware() {
    // EC2 writes "all ICMP" as icmp -1/-1 and ICMPv6 as protocol 58: no port is open.
    let admin = r#"{ ports = { overlap = [22, 3389] } }"#;
    let icmp = json!({"ipProtocol": "icmp", "fromPort": "-1", "toPort": "-1"});
    let icmpv6 = json!({"ipProtocol": "58", "fromPort": "-1", "toPort": "-1"});
    assert_eq!(check(admin, &icmp), False);
    assert_eq!(check(admin, &icmpv6), False);
    assert_eq!(check(r#"{ ports = { all = true } }"#, &icmp), False);
    // Every protocol, and TCP/UDP by name or number, still count.
    let all = json!({"ipProtocol": "-1"});
    let udp = json!({"ipProtocol": "17", "fromPort": "3389", "toPort": "3389"});
    assert_eq!(check(admin, &all), True);
    assert_eq!(check(admin, &udp), True);
}

#[test]
fn admits_all_is_tcp_and_udp_everything() {
    let all = r#"{ admits = { all = true } }"#;
    let tcp = rule("Accept", "1", "TCP", "1/65535", "0.0.0.0/0", "");
    let udp = rule("Accept", "1", "UDP", "1/65535", "0.0.0.0/0", "");
    let icmp = rule("Accept", "1", "ICMP", "-1/-1", "0.0.0.0/0", "");
    // Alibaba Cloud's "all TCP" plus "all UDP" from anywhere is everything…
    let both = json!({"Permissions": {"Permission": [tcp.clone(), udp.clone()]}});
    assert_eq!(check(all, &both), True);
    // …one of them alone is not, and ICMP opens no port.
    let only_tcp = json!({"Permissions": {"Permission": [tcp.clone(), icmp.clone()]}});
    assert_eq!(check(all, &only_tcp), False);
    assert_eq!(
        check(
            r#"{ admits = { ports = [22] } }"#,
            &json!({"Permissions": {"Permission": [icmp]}})
        ),
        False
    );
    // A Drop of all TCP at a higher priority closes TCP: not everything any more.
    let dropped = json!({"Permissions": {"Permission": [tcp, udp, rule("Drop", "1", "TCP", "1/65535", "0.0.0.0/0", "")]}});
    assert_eq!(check(all, &dropped), False);
}
