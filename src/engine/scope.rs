//! The evaluation scope: which resources form the assessed system (等级保护对象).
//!
//! Given with `--scope-tag KEY=VALUE`, `--scope-vpc ID` and `--scope-account ID` (each repeatable; values
//! of one kind are alternatives, kinds combine with AND). A rule says where its resources keep their tags
//! (`scope_tags`) and VPC (`scope_vpc`); resources outside the scope are left out of the rule and never
//! decide a verdict. Security groups, interfaces, volumes, snapshots and VPCs are rarely tagged: a rule
//! says with `scope_via` how its resource is attached to one that is (a group to the instances using it,
//! a snapshot to the volume and instance it was taken from, a VPC to the instances in it), and a
//! resource attached to an in-scope one is in scope too. Facts that belong to no VPC and carry no tags (an account's password policy, a
//! region's default encryption) stay in scope when their account is.

use crate::rules::path::Query;
use crate::rules::Rule;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The scope given by the user. Empty means everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vpcs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
}

impl Scope {
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.vpcs.is_empty() && self.accounts.is_empty()
    }

    /// Parses `KEY=VALUE`.
    pub fn parse_tag(s: &str) -> Result<(String, String), String> {
        match s.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(format!(
                "`{s}` is not KEY=VALUE (e.g. --scope-tag system=payments)"
            )),
        }
    }

    /// Whether `resource` (of `rule`, in `account`) belongs to the assessed system by its own tags
    /// and VPC (what is attached to it is the rule's `scope_via`).
    pub fn contains(&self, rule: &Rule, resource: &Value, account: &str) -> bool {
        self.contains_by(
            rule.scope_tags.as_ref(),
            rule.scope_vpc.as_ref(),
            resource,
            account,
        )
    }

    /// Whether `account` is one the scope admits (every account when none is given).
    pub fn admits_account(&self, account: &str) -> bool {
        self.accounts.is_empty() || self.accounts.iter().any(|a| a == account)
    }

    /// Whether `resource`, whose tags and VPC are read with `tags` and `vpc`, belongs to the assessed
    /// system. A kind of fact without tags (or without a VPC) is not filtered on them.
    pub fn contains_by(
        &self,
        tags: Option<&Query>,
        vpc: Option<&Query>,
        resource: &Value,
        account: &str,
    ) -> bool {
        if !self.admits_account(account) {
            return false;
        }
        if let (false, Some(q)) = (self.vpcs.is_empty(), vpc) {
            let vpcs: Vec<&str> = q
                .values(resource)
                .into_iter()
                .filter_map(Value::as_str)
                .collect();
            if !vpcs.iter().any(|v| self.vpcs.iter().any(|s| s == v)) {
                return false;
            }
        }
        if let (false, Some(q)) = (self.tags.is_empty(), tags) {
            let has = q.values(resource).into_iter().any(|tag| {
                let field = |names: &[&str]| {
                    names
                        .iter()
                        .find_map(|n| tag.get(*n).and_then(Value::as_str))
                };
                // AWS `key`/`Key`, Alibaba Cloud ECS `TagKey`/`TagValue` and VPC `Key`/`Value`.
                match (
                    field(&["key", "Key", "TagKey"]),
                    field(&["value", "Value", "TagValue"]),
                ) {
                    (Some(k), Some(v)) => self.tags.iter().any(|(sk, sv)| sk == k && sv == v),
                    _ => false,
                }
            });
            if !has {
                return false;
            }
        }
        true
    }
}
