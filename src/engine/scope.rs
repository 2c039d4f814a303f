//! Applying the evaluation scope ([`crate::scope::Scope`]) to a rule's resources.

use crate::jsonpath::Query;
use crate::rules::Rule;
use crate::scope::Scope;
use serde_json::Value;

impl Scope {
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
