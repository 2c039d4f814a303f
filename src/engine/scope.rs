//! Applying the evaluation scope ([`crate::scope::Scope`]) to a rule's resources.

use crate::rules::Rule;
use crate::scope::Scope;
use serde_json::Value;

impl Scope {
    /// Whether `resource` (of `rule`, in `account`) belongs to the assessed system.
    pub fn contains(&self, rule: &Rule, resource: &Value, account: &str) -> bool {
        if !self.accounts.is_empty() && !self.accounts.iter().any(|a| a == account) {
            return false;
        }
        if let (false, Some(q)) = (self.vpcs.is_empty(), &rule.scope_vpc) {
            let vpcs: Vec<&str> = q
                .values(resource)
                .into_iter()
                .filter_map(Value::as_str)
                .collect();
            if !vpcs.iter().any(|v| self.vpcs.iter().any(|s| s == v)) {
                return false;
            }
        }
        if let (false, Some(q)) = (self.tags.is_empty(), &rule.scope_tags) {
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
