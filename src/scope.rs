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

use serde::{Deserialize, Serialize};

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
}
