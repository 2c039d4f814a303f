//! The clouds dengbao collects from, by name: what shared code asks of a provider without branching on
//! its name (probe files, least-privilege policy, OCSF account types), and how to connect one.
//!
//! A provider is a module with an [`Adapter`] (these static facts and `connect`) and a
//! [`Provider`] (the hooks the collection core calls while scanning).
//! Adding a cloud means one folder of code (signing, client, the adapter), its probe manifests and
//! mappings, and one line in [`ADAPTERS`]: see `docs/adding-a-provider.md`.

pub use crate::collect::Connection;
use crate::collect::{BoxFuture, Options};
use crate::probes::{ProbeCatalog, ProbeSpec};
use anyhow::{bail, Result};
use serde_json::Value;
use std::collections::BTreeSet;

/// Connects to a provider for a scan of these probes (see [`Adapter::connect`]).
pub type Connect = for<'a> fn(&'a Options, &'a [ProbeSpec]) -> BoxFuture<'a, Result<Connection>>;

/// A cloud, before any connection: its facts and how to connect.
pub struct Adapter {
    /// The name used in probe manifests, mappings, packs and `--provider` (`aws`).
    pub name: &'static str,
    /// The name people use (`AWS`, `Alibaba Cloud`).
    pub title: &'static str,
    /// Whether the head of each probe file names the service's API (`api_version`, `endpoint`,
    /// `endpoints`, `region_param`): a provider with a generic client needs them; an SDK does not.
    pub probe_files_name_api: bool,
    /// Connects for a scan with these options and probes: credentials, clients, home region. Checks
    /// that the provider can make every probe's call.
    pub connect: Connect,
    /// The least-privilege read-only policy allowing exactly these actions (the probes'
    /// `iam_action`s), in the provider's policy language.
    pub policy: fn(&BTreeSet<&str>) -> Value,
    /// How an OCSF finding names the scanned account's type (`type_id`, `type`), if OCSF has one.
    pub ocsf_account_type: Option<(u32, &'static str)>,
}

/// Every provider dengbao knows.
static ADAPTERS: &[&Adapter] = &[&crate::aws::ADAPTER, &crate::aliyun::ADAPTER];

/// The provider called `name`, if dengbao knows one.
pub fn by_name(name: &str) -> Option<&'static Adapter> {
    ADAPTERS.iter().copied().find(|a| a.name == name)
}

/// The names of every provider, in registry order.
pub fn names() -> Vec<&'static str> {
    ADAPTERS.iter().map(|a| a.name).collect()
}

/// The providers whose probe files name their API.
pub fn naming_api() -> Vec<&'static str> {
    ADAPTERS
        .iter()
        .filter(|a| a.probe_files_name_api)
        .map(|a| a.name)
        .collect()
}

/// The least-privilege policy covering every probe of `provider`: exactly the actions they declare.
///
/// `Resource` is `*` because list/describe calls are not resource-scoped.
pub fn least_privilege_policy(catalog: &ProbeCatalog, provider: &str) -> Result<Value> {
    let Some(adapter) = by_name(provider) else {
        bail!(
            "no provider `{provider}`; dengbao knows {}",
            names().join(", ")
        );
    };
    let actions: BTreeSet<&str> = catalog
        .of_provider(provider)
        .map(|p| p.iam_action.as_str())
        .collect();
    if actions.is_empty() {
        bail!("no probes are declared for provider `{provider}`; `dengbao probes list` shows the providers");
    }
    Ok((adapter.policy)(&actions))
}

/// The probes of `provider` in `catalog`, checked to be there.
pub fn probes_of(catalog: &ProbeCatalog, provider: &str) -> Result<Vec<ProbeSpec>> {
    let probes: Vec<ProbeSpec> = catalog.of_provider(provider).cloned().collect();
    if probes.is_empty() {
        bail!("no probes are declared under probes/{provider}/");
    }
    Ok(probes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_is_found_by_its_name_once() {
        let names = names();
        assert!(names.contains(&"aws") && names.contains(&"aliyun"));
        for n in &names {
            assert_eq!(by_name(n).map(|a| a.name), Some(*n));
            assert_eq!(names.iter().filter(|m| *m == n).count(), 1);
        }
        assert!(by_name("gcp").is_none());
    }

    #[test]
    fn every_provider_declares_one_identity_and_one_regions_probe() {
        let files = crate::embedded::toml_files(&crate::embedded::PROBES, "probes", None).unwrap();
        let catalog = ProbeCatalog::from_files(&files).unwrap();
        for name in names() {
            let probes = probes_of(&catalog, name).unwrap();
            for role in [crate::probes::Role::Identity, crate::probes::Role::Regions] {
                let spec = probes
                    .iter()
                    .find(|p| p.role == Some(role))
                    .unwrap_or_else(|| panic!("{name} {role:?}"));
                assert_eq!(spec.scope, crate::probes::Scope::Global);
            }
        }
    }

    #[test]
    fn policies_list_exactly_the_declared_actions() {
        let files = crate::embedded::toml_files(&crate::embedded::PROBES, "probes", None).unwrap();
        let catalog = ProbeCatalog::from_files(&files).unwrap();
        for name in names() {
            let policy = least_privilege_policy(&catalog, name).unwrap();
            let declared: BTreeSet<&str> = catalog
                .of_provider(name)
                .map(|p| p.iam_action.as_str())
                .collect();
            let listed: BTreeSet<&str> = policy["Statement"][0]["Action"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            assert_eq!(listed, declared, "{name}");
            assert_eq!(policy["Statement"][0]["Resource"], "*");
        }
        assert!(least_privilege_policy(&catalog, "nope").is_err());
    }
}
